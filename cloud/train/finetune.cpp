#include "hadmc/train/finetune.h"

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "hadmc/data/data_loader.h"
#include "hadmc/exec/executor.h"
#include "hadmc/ir/ops.h"

namespace hadmc::train {
namespace {

bool HasPrefix(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes)
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

// Turns requires_grad off again however the run ends.
struct GradOff {
  std::vector<at::Tensor> params;
  ~GradOff() {
    for (auto& p : params) p.requires_grad_(false);
  }
};

}  // namespace

Result<std::vector<std::string>> SelectFinetuneParameters(
    const ir::Graph& g, const std::vector<std::string>& prefixes) {
  if (prefixes.empty())
    return MakeError(Errc::kInvalidArgument, "name at least one parameter prefix to fine-tune");
  std::vector<std::string> selected, available;
  std::set<std::string> seen;
  for (const ir::Node& n : g.nodes) {
    const ir::OpDef* def = ir::FindOp(n.op);
    if (!def) return MakeError(Errc::kNotFound, "node '" + n.name + "': unknown op '" + n.op + "'");
    for (const ir::ParamSlot& slot : def->params) {
      auto it = n.params.find(slot.name);
      if (!slot.trainable || it == n.params.end() || !seen.insert(it->second).second) continue;
      available.push_back(it->second);
      if (!HasPrefix(it->second, prefixes)) continue;
      if (n.precision != ir::Precision::kFp32)
        return MakeError(Errc::kUnsupported, "parameter '" + it->second + "' belongs to node '" +
                                                 n.name + "', which runs in " +
                                                 ir::PrecisionName(n.precision) +
                                                 "; only fp32 nodes can be fine-tuned");
      selected.push_back(it->second);
    }
  }
  if (selected.empty()) {
    std::string some;
    for (size_t i = 0; i < available.size(); ++i) {
      if (i == 6) {
        some += ", ... (" + std::to_string(available.size()) + " in all)";
        break;
      }
      some += (i ? ", " : "") + available[i];
    }
    return MakeError(Errc::kNotFound,
                     "no trainable parameter starts with the given prefix(es); "
                     "the model has " +
                         some);
  }
  return selected;
}

Result<FinetuneResult> FinetuneParameters(model::Model& m, const data::Dataset& train,
                                          const FinetuneOptions& o) {
  if (o.epochs < 1 || o.batch_size < 1 || !(o.lr > 0))
    return MakeError(Errc::kInvalidArgument,
                     "fine-tuning needs epochs >= 1, batch size >= 1, lr > 0");
  auto names = SelectFinetuneParameters(m.graph, o.only);
  if (!names) return MakeError(names.error());
  auto executor = exec::Executor::Create(m);  // shares m's tensors: updates land in m
  if (!executor) return MakeError(executor.error());

  FinetuneResult result;
  result.trained = *names;
  GradOff grad_off;
  for (const std::string& name : *names) {
    at::Tensor& t = m.tensors.at(name);
    t.requires_grad_(true);
    grad_off.params.push_back(t);
    result.trained_elements += t.numel();
  }
  data::DataLoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.seed = o.seed;
  lo.normalization = o.normalization;
  lo.batch_transform = o.batch_transform;
  auto loader = data::DataLoader::Create(train, lo);
  if (!loader) return MakeError(loader.error());

  try {
    torch::optim::SGD sgd(grad_off.params, torch::optim::SGDOptions(o.lr).momentum(o.momentum));
    for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
      HADMC_TRY((*loader)->StartEpoch(epoch));
      double loss_sum = 0;
      int64_t correct = 0, samples = 0;
      while (true) {
        auto batch = (*loader)->Next();
        if (!batch) return MakeError(batch.error());
        if (!*batch) break;
        // kEval: the frozen part runs with running statistics; autograd reaches the chosen ones.
        auto logits = executor->Run((*batch)->images, exec::Mode::kEval);
        if (!logits) return MakeError(logits.error().WithContext("forward pass"));
        at::Tensor loss = at::cross_entropy_loss(*logits, (*batch)->labels);
        sgd.zero_grad();
        loss.backward();
        sgd.step();
        ++result.steps;
        const int64_t n = (*batch)->labels.size(0);
        loss_sum += loss.item<double>() * static_cast<double>(n);
        correct += logits->detach().argmax(1).eq((*batch)->labels).sum().item<int64_t>();
        samples += n;
      }
      const double mean = samples > 0 ? loss_sum / static_cast<double>(samples) : 0;
      if (epoch == 0) result.first_epoch_loss = mean;
      result.last_epoch_loss = mean;
      result.last_epoch_accuracy =
          samples > 0 ? static_cast<double>(correct) / static_cast<double>(samples) : 0;
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return MakeError(Errc::kInternal, "fine-tuning: " + what);
  }
  m.metadata["finetune"] = nlohmann::json{{"only", o.only}, {"epochs", o.epochs},
                                          {"lr", o.lr},     {"batch_size", o.batch_size},
                                          {"seed", o.seed}, {"trained", result.trained}}
                               .dump();
  return result;
}

}  // namespace hadmc::train
