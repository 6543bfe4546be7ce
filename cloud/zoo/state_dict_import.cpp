// Matching a PyTorch state dict against a zoo graph by name: option inference, the mismatch
// report, and the conversion of the tensors.
#include <ATen/ATen.h>

#include <vector>

#include "hadmc/zoo/torchscript_import.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::zoo {
namespace {

constexpr size_t kMaxListed = 20;  // names shown per kind of mismatch

bool IsBnCounter(const std::string& name) {
  const std::string suffix = "num_batches_tracked";
  return name == suffix || (name.size() > suffix.size() &&
                            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                            name[name.size() - suffix.size() - 1] == '.');
}

// Everything that keeps `tensors` from filling `g`.
struct Mismatch {
  std::vector<std::string> missing, unexpected, misshaped, non_float;
  size_t Count() const {
    return missing.size() + unexpected.size() + misshaped.size() + non_float.size();
  }
};

Mismatch Compare(const ir::Graph& g, const model::TensorMap& tensors) {
  Mismatch m;
  for (const auto& [name, info] : g.params) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      m.missing.push_back(name);
    } else if (it->second.sizes().vec() != info.shape) {
      m.misshaped.push_back(name + " " + ir::ShapeString(it->second.sizes().vec()) + " (expected " +
                            ir::ShapeString(info.shape) + ")");
    } else if (!at::isFloatingType(it->second.scalar_type())) {
      m.non_float.push_back(name + " (" + std::string(c10::toString(it->second.scalar_type())) +
                            ")");
    }
  }
  for (const auto& [name, t] : tensors)
    if (!g.params.count(name)) m.unexpected.push_back(name);
  return m;
}

std::string ListNames(const std::string& kind, const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string s = "\n  " + kind + " (" + std::to_string(names.size()) + "): ";
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > kMaxListed)
    s += ", and " + std::to_string(names.size() - kMaxListed) + " more";
  return s;
}

// Options read from the checkpoint, and which of them the weights actually told.
struct Inferred {
  ArchOptions options;
  bool found_in_channels = false;
  bool found_num_classes = false;
};

std::string Describe(const std::string& arch, const Inferred& i) {
  const ArchOptions& o = i.options;
  return arch + " (in_channels=" +
         (i.found_in_channels ? std::to_string(o.in_channels) : "? (no first conv weight)") +
         ", num_classes=" +
         (i.found_num_classes ? std::to_string(o.num_classes) : "? (no last linear weight)") +
         ", small_input=" + (o.small_input ? "true" : "false") + ")";
}

// The weight of the graph's first conv and last linear: they carry in_channels and num_classes.
struct Anchors {
  std::string first_conv_weight, last_linear_weight;
};

Anchors FindAnchors(const ir::Graph& g) {
  Anchors a;
  for (const ir::Node& n : g.nodes) {
    auto w = n.params.find("weight");
    if (w == n.params.end()) continue;
    if (n.op == "conv2d" && a.first_conv_weight.empty()) a.first_conv_weight = w->second;
    if (n.op == "linear") a.last_linear_weight = w->second;
  }
  return a;
}

// Options the checkpoint implies. The probe graphs use a fixed 224 px input: only parameter names
// and shapes matter here, and those do not depend on the image size.
Result<Inferred> InferOptions(const model::TensorMap& tensors, const std::string& arch,
                              const ImportOptions& io) {
  Inferred inferred;
  ArchOptions& o = inferred.options;
  o.in_channels = 3;
  o.num_classes = 1000;
  o.image_size = 224;
  o.width_mult = io.width_mult;
  auto probe = BuildGraph(arch, o);
  if (!probe) return MakeError(probe.error());
  const Anchors anchors = FindAnchors(*probe);
  if (auto it = tensors.find(anchors.first_conv_weight);
      it != tensors.end() && it->second.dim() == 4) {
    o.in_channels = it->second.size(1);
    inferred.found_in_channels = true;
  }
  if (auto it = tensors.find(anchors.last_linear_weight);
      it != tensors.end() && it->second.dim() == 2) {
    o.num_classes = it->second.size(0);
    inferred.found_num_classes = true;
  }

  if (io.small_input) {
    o.small_input = *io.small_input;
  } else {
    // Take the small-input variant only when the weights fit it strictly better (a 3x3 ResNet
    // conv1); where both fit equally, the standard layout is the answer.
    size_t mismatches[2] = {0, 0};
    for (int small = 0; small < 2; ++small) {
      ArchOptions candidate = o;
      candidate.small_input = small == 1;
      auto g = BuildGraph(arch, candidate);
      if (!g) return MakeError(g.error());
      mismatches[small] = Compare(*g, tensors).Count();
    }
    o.small_input = mismatches[1] < mismatches[0];
  }
  o.image_size = io.input_size;
  return inferred;
}

}  // namespace

Result<model::Model> ImportStateDict(const model::TensorMap& tensors, const std::string& arch,
                                     const ImportOptions& options) {
  if (options.input_size < 0)
    return MakeError(Errc::kInvalidArgument, "input size must be >= 0 (0: any size), got " +
                                                 std::to_string(options.input_size));
  model::TensorMap provided;
  for (const auto& [name, t] : tensors)
    if (!IsBnCounter(name)) provided[name] = t;

  auto inferred = InferOptions(provided, arch, options);
  if (!inferred) return MakeError(inferred.error());
  const ArchOptions& o = inferred->options;
  auto g = BuildGraph(arch, o);
  if (!g) return MakeError(g.error());

  const Mismatch mm = Compare(*g, provided);
  if (mm.Count() > 0)
    return MakeError(Errc::kShapeMismatch,
                     "the checkpoint does not match " + Describe(arch, *inferred) +
                         ListNames("missing", mm.missing) + ListNames("unexpected", mm.unexpected) +
                         ListNames("mis-shaped", mm.misshaped) +
                         ListNames("not floating point", mm.non_float));

  model::Model m;
  m.graph = std::move(*g);
  try {
    for (const auto& [name, t] : provided)
      m.tensors[name] = t.detach().to(at::kFloat).clone(at::MemoryFormat::Contiguous);
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, std::string("copying tensors: ") + e.what());
  }
  m.metadata = ArchMetadata(arch, o);
  HADMC_TRY_CTX(model::CheckConsistent(m), "imported " + arch);
  return m;
}

}  // namespace hadmc::zoo
