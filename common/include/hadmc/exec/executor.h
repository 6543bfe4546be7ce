// Runs a graph on LibTorch. One executor serves training (autograd through parameters, BN batch
// statistics and running-stat updates), evaluation and inference (no autograd, intermediates
// freed at their last use).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "hadmc/exec/kernel.h"
#include "hadmc/ir/graph.h"
#include "hadmc/model/model.h"

namespace hadmc::exec {

enum class Mode {
  kTrain,      // autograd on; BN uses batch statistics and updates running stats
  kEval,       // autograd allowed (for gradients w.r.t. inputs/params); BN uses running stats
  kInference,  // c10::InferenceMode; BN uses running stats
};

class Executor {
 public:
  // Validates the graph, binds every node's kernel and resolves its parameters. `tensors` must
  // hold every parameter of the graph; they are shared, not copied (training updates them).
  static Result<Executor> Create(ir::Graph graph, model::TensorMap tensors);
  static Result<Executor> Create(const model::Model& m) { return Create(m.graph, m.tensors); }

  // Runs the graph. `inputs` follow graph().inputs. Returns the graph outputs in order.
  Result<std::vector<at::Tensor>> Run(const std::vector<at::Tensor>& inputs, Mode mode) const;
  // Single-input, single-output convenience.
  Result<at::Tensor> Run(const at::Tensor& input, Mode mode) const;
  // Runs and also returns the named intermediate values (feature taps for distillation).
  Result<std::vector<at::Tensor>> RunWithTaps(const std::vector<at::Tensor>& inputs, Mode mode,
                                              const std::vector<std::string>& taps,
                                              std::map<std::string, at::Tensor>* tapped) const;

  // One step as its kernel sees it: the node, its bound kernel and its real arguments (inputs
  // and resolved parameters; int8 nodes get quint8 inputs and prepacked weights).
  struct StepCall {
    size_t node_index;  // into graph().nodes
    const BoundKernel& kernel;
    const KernelArgs& args;
  };
  // Returns false to stop the run.
  using StepObserver = std::function<bool(const StepCall&)>;
  // Runs the graph showing each step to `observe` just before the step runs (the kernel
  // profiler times each kernel on its real inputs there). The observer may call the kernel
  // itself; it must not modify the arguments. Returns the outputs, or an empty vector when the
  // observer stopped the run. Run and RunWithTaps do not pay for this.
  Result<std::vector<at::Tensor>> RunObserved(const std::vector<at::Tensor>& inputs, Mode mode,
                                              const StepObserver& observe) const;

  // A second executor of the same graph whose floating-point tensors are copies cast to `dtype`
  // (at::kBFloat16: AST's reduced-precision scoring pass), inputs to be given in that dtype. Only
  // an all-fp32 graph can be cast: fp16/int4/int8 nodes keep their own stored formats.
  Result<Executor> CastCopy(at::ScalarType dtype) const;
  // Copies `src`'s floating-point tensors into this executor's, casting (a CastCopy kept in step
  // with the executor it was cast from). Both must hold the same names and shapes.
  // The caller must know when to: LibTorch's optimizers update parameters through .data(),
  // which leaves the tensors' version counters unchanged.
  Status CopyTensorsFrom(const Executor& src) const;

  const ir::Graph& graph() const { return graph_; }
  const model::TensorMap& tensors() const { return tensors_; }
  // Parameters that an optimizer should update (weights and biases, not BN running stats), in
  // graph order, each listed once.
  std::vector<at::Tensor> TrainableParameters() const;
  std::vector<std::string> TrainableParameterNames() const;
  // Turns requires_grad on for trainable parameters (off for buffers).
  void EnableGrad(bool on) const;

 private:
  struct Step {
    size_t node_index;             // into graph_.nodes
    BoundKernel kernel;
    std::vector<int> inputs;        // value slots
    std::vector<at::Tensor> params; // per OpDef slot (undefined if unused)
    int output;                     // value slot
    std::vector<int> free_after;    // value slots whose last use is this step
  };
  Executor() = default;
  Status Bind();
  Result<std::vector<at::Tensor>> RunSteps(const std::vector<at::Tensor>& inputs, Mode mode,
                                           const std::vector<std::string>& taps,
                                           std::map<std::string, at::Tensor>* tapped,
                                           const StepObserver* observe) const;

  ir::Graph graph_;
  model::TensorMap tensors_;
  std::vector<Step> steps_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::map<std::string, int> slot_of_value_;
  int num_slots_ = 0;
};

}  // namespace hadmc::exec
