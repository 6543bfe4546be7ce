// Small graph rewrites shared by the compression passes. They edit a Model in place and keep
// graph.params and tensors in step, so a pass is a few calls rather than bookkeeping.
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "hadmc/model/model.h"

namespace hadmc::compress {

// True when `value` is read by exactly one node and is not a graph output: the condition for
// folding its consumer into its producer.
bool HasSoleConsumer(const ir::Graph& g, const std::string& value);

// Removes node `removed`, whose only input is `keep`'s output, and makes `keep` produce
// `removed`'s output value instead, so every downstream reference stays valid.
// Precondition: HasSoleConsumer(g, keep.output()) and `removed` reads only that value.
void AbsorbNode(ir::Graph& g, const std::string& keep, const std::string& removed);

// Removes node `name` that passes its single input through unchanged (identity), rewiring its
// consumers and graph outputs to the input value.
void BypassNode(ir::Graph& g, const std::string& name);

// Sets (or adds) a parameter tensor; graph.params follows the tensor's shape and dtype.
void SetParam(model::Model& m, const std::string& name, at::Tensor t);

// Drops parameters no node refers to any more (after a fold or a prune).
void DropUnusedParams(model::Model& m);

// Parameter tensor bound to `slot` of `node`, or an undefined tensor when the slot is unused.
at::Tensor ParamOf(const model::Model& m, const ir::Node& node, const std::string& slot);

}  // namespace hadmc::compress
