#include "hadmc/exec/executor.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <set>

#include "hadmc/exec/low_precision.h"
#include "hadmc/ir/ops.h"

namespace hadmc::exec {

Result<Executor> Executor::Create(ir::Graph graph, model::TensorMap tensors) {
  model::Model m{std::move(graph), std::move(tensors), {}};
  HADMC_TRY_CTX(model::CheckConsistent(m), "executor");
  Executor ex;
  ex.graph_ = std::move(m.graph);
  ex.tensors_ = std::move(m.tensors);
  HADMC_TRY_CTX(ex.Bind(), "executor for graph '" + ex.graph_.name + "'");
  return ex;
}

Result<Executor> Executor::CastCopy(at::ScalarType dtype) const {
  for (const auto& n : graph_.nodes)
    if (n.precision != ir::Precision::kFp32)
      return MakeError(Errc::kUnsupported, std::string("node '") + n.name + "' runs in " +
                                               ir::PrecisionName(n.precision) +
                                               "; only an all-fp32 graph can be cast");
  Executor ex;
  ex.graph_ = graph_;
  at::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors_)
    ex.tensors_[name] = t.is_floating_point() ? t.detach().to(dtype, false, /*copy=*/true) : t;
  HADMC_TRY_CTX(ex.Bind(), "cast copy of graph '" + graph_.name + "'");
  return ex;
}

Status Executor::CopyTensorsFrom(const Executor& src) const {
  at::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors_) {
    if (!t.is_floating_point()) continue;
    auto it = src.tensors_.find(name);
    if (it == src.tensors_.end() || it->second.sizes() != t.sizes())
      return MakeError(Errc::kShapeMismatch, "tensor '" + name + "' has no counterpart of shape " +
                                                 ir::ShapeString(t.sizes().vec()) + " to copy");
    t.copy_(it->second);
  }
  return {};
}

Status Executor::Bind() {
  slot_of_value_.clear();
  for (const auto& in : graph_.inputs) {
    input_slots_.push_back(num_slots_);
    slot_of_value_[in.name] = num_slots_++;
  }
  for (const auto& n : graph_.nodes) slot_of_value_[n.output()] = num_slots_++;
  for (const auto& out : graph_.outputs) output_slots_.push_back(slot_of_value_.at(out));

  std::vector<int> last_use(num_slots_, -1);
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& n = graph_.nodes[i];
    const ir::OpDef* def = ir::FindOp(n.op);
    if (!def || !def->bind_kernel)
      return MakeError(Errc::kUnsupported, "node '" + n.name + "': op '" + n.op +
                                               "' has no kernel in this build");
    std::vector<at::Tensor> params;
    for (const auto& slot : def->params) {
      auto it = n.params.find(slot.name);
      params.push_back(it == n.params.end() ? at::Tensor() : tensors_.at(it->second));
    }
    if ((n.precision == ir::Precision::kFp16 || n.precision == ir::Precision::kInt4) &&
        !def->params.empty() && def->params[0].name == "weight") {
      // Stored small, computed in fp32: dequantized once here (low_precision.h).
      at::Tensor scale;
      for (size_t s = 0; s < def->params.size(); ++s)
        if (def->params[s].name == "weight_scale") scale = params[s];
      auto w = DequantizeWeight(n, params[0], scale);
      if (!w) return MakeError(w.error());
      params[0] = std::move(*w);
      for (at::Tensor& p : params)
        if (p.defined() && p.scalar_type() == at::kHalf) p = p.to(at::kFloat);
    }
    const bool int8 = n.precision == ir::Precision::kInt8 && def->bind_int8_kernel;
    auto kernel = int8 ? def->bind_int8_kernel(n, params.data()) : def->bind_kernel(n);
    if (!kernel) return MakeError(kernel.error().WithContext("node '" + n.name + "'"));
    Step step{i, std::move(*kernel), {}, std::move(params), slot_of_value_.at(n.output()), {}};
    for (const auto& in : n.inputs) {
      step.inputs.push_back(slot_of_value_.at(in));
      last_use[step.inputs.back()] = static_cast<int>(i);
    }
    steps_.push_back(std::move(step));
  }
  std::set<int> keep(output_slots_.begin(), output_slots_.end());
  for (int slot = 0; slot < num_slots_; ++slot)
    if (last_use[slot] >= 0 && !keep.count(slot)) steps_[last_use[slot]].free_after.push_back(slot);
  return {};
}

Result<std::vector<at::Tensor>> Executor::RunWithTaps(const std::vector<at::Tensor>& inputs,
                                                      Mode mode,
                                                      const std::vector<std::string>& taps,
                                                      std::map<std::string, at::Tensor>* tapped) const {
  return RunSteps(inputs, mode, taps, tapped, nullptr);
}

Result<std::vector<at::Tensor>> Executor::RunObserved(const std::vector<at::Tensor>& inputs,
                                                      Mode mode,
                                                      const StepObserver& observe) const {
  return RunSteps(inputs, mode, {}, nullptr, &observe);
}

Result<std::vector<at::Tensor>> Executor::RunSteps(const std::vector<at::Tensor>& inputs,
                                                   Mode mode,
                                                   const std::vector<std::string>& taps,
                                                   std::map<std::string, at::Tensor>* tapped,
                                                   const StepObserver* observe) const {
  if (inputs.size() != input_slots_.size())
    return MakeError(Errc::kInvalidArgument, "graph takes " + std::to_string(input_slots_.size()) +
                                                 " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& want = graph_.inputs[i].shape;
    const auto got = inputs[i].sizes();
    bool ok = inputs[i].defined() && got.size() == want.size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] < 0 || want[d] == got[d];
    if (!ok)
      return MakeError(Errc::kShapeMismatch,
                       "input '" + graph_.inputs[i].name + "' must have shape " +
                           ir::ShapeString(want) + " (-1: any), got " +
                           (inputs[i].defined() ? ir::ShapeString(got.vec()) : "undefined"));
  }
  std::set<int> tap_slots;
  for (const auto& t : taps) {
    auto it = slot_of_value_.find(t);
    if (it == slot_of_value_.end())
      return MakeError(Errc::kNotFound, "no value named '" + t + "' to tap");
    tap_slots.insert(it->second);
  }

  std::optional<c10::InferenceMode> inference;
  if (mode == Mode::kInference) inference.emplace();
  std::vector<at::Tensor> values(num_slots_);
  for (size_t i = 0; i < inputs.size(); ++i) values[input_slots_[i]] = inputs[i];

  std::vector<at::Tensor> args_in;
  size_t current = 0;
  try {
    for (current = 0; current < steps_.size(); ++current) {
      const Step& s = steps_[current];
      args_in.clear();
      for (int slot : s.inputs) args_in.push_back(values[slot]);
      KernelArgs args{args_in.data(), args_in.size(), s.params.data(), mode == Mode::kTrain};
      if (observe && !(*observe)(StepCall{s.node_index, s.kernel, args}))
        return std::vector<at::Tensor>{};  // the observer stopped the run
      values[s.output] = s.kernel.run(args);
      if (tapped && tap_slots.count(s.output))
        (*tapped)[graph_.nodes[s.node_index].output()] = values[s.output];
      for (int slot : s.free_after) values[slot].reset();
    }
  } catch (const std::exception& e) {
    const ir::Node& n = graph_.nodes[steps_[current].node_index];
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return MakeError(Errc::kInternal, "node '" + n.name + "' (" + n.op + "): " + what);
  }
  if (tapped)
    for (size_t i = 0; i < inputs.size(); ++i)
      if (tap_slots.count(input_slots_[i])) (*tapped)[graph_.inputs[i].name] = inputs[i];

  std::vector<at::Tensor> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) outputs.push_back(values[slot]);
  return outputs;
}

Result<std::vector<at::Tensor>> Executor::Run(const std::vector<at::Tensor>& inputs,
                                              Mode mode) const {
  return RunWithTaps(inputs, mode, {}, nullptr);
}

Result<at::Tensor> Executor::Run(const at::Tensor& input, Mode mode) const {
  if (input_slots_.size() != 1 || output_slots_.size() != 1)
    return MakeError(Errc::kInvalidArgument,
                     "single-tensor Run needs a graph with one input and one output");
  auto out = RunWithTaps({input}, mode, {}, nullptr);
  if (!out) return MakeError(out.error());
  return std::move((*out)[0]);
}

std::vector<std::string> Executor::TrainableParameterNames() const {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& n : graph_.nodes) {
    const ir::OpDef* def = ir::FindOp(n.op);
    for (const auto& slot : def->params) {
      auto it = n.params.find(slot.name);
      if (slot.trainable && it != n.params.end() && seen.insert(it->second).second)
        names.push_back(it->second);
    }
  }
  return names;
}

std::vector<at::Tensor> Executor::TrainableParameters() const {
  std::vector<at::Tensor> params;
  for (const auto& name : TrainableParameterNames()) params.push_back(tensors_.at(name));
  return params;
}

void Executor::EnableGrad(bool on) const {
  std::set<std::string> trainable;
  for (const auto& name : TrainableParameterNames()) trainable.insert(name);
  for (const auto& [name, t] : tensors_) {
    if (!t.is_floating_point()) continue;
    auto& mutable_t = const_cast<at::Tensor&>(t);
    mutable_t.requires_grad_(on && trainable.count(name) > 0);
  }
}

}  // namespace hadmc::exec
