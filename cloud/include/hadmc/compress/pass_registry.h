// Graph passes and the one registry that orders them (ONNX Runtime's optimizer layout): each
// pass sits in its own file with a cheap match step and a separate rewrite; a pattern that does
// not match is a no-op, not an error.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "hadmc/model/model.h"

namespace hadmc::compress {

struct GraphPass {
  const char* name;  // "fuse_conv_batchnorm"
  const char* what;  // one line for --help and reports
  // Nodes where the pattern matches, without changing anything (cheap; used for reports).
  std::vector<std::string> (*find)(const ir::Graph& g);
  // Rewrites every match; returns how many it rewrote. The model stays consistent.
  Result<int> (*apply)(model::Model& m);
};

// The fusion passes in pipeline order (see pass_registry.cpp for why this order).
const std::vector<GraphPass>& FusionPasses();
const GraphPass* FindPass(const std::string& name);

struct PassRun {
  std::string name;
  int rewrites = 0;
};

// Runs the fusion passes in order, skipping those named in `disabled` (unknown names are an
// error), then validates the model. Returns what each pass did.
Result<std::vector<PassRun>> RunFusion(model::Model& m, const std::set<std::string>& disabled = {});

// ---- The passes (one file each) ----
GraphPass FuseConvBatchNormPass();    // fuse_conv_batchnorm.cpp
GraphPass FuseLinearBatchNormPass();  // fuse_linear_batchnorm.cpp
GraphPass FuseActivationPass();       // fuse_activation.cpp
GraphPass RemoveIdentityPass();       // remove_identity.cpp

}  // namespace hadmc::compress
