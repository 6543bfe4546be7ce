// linear -> batch_norm over features ([N, F] input) becomes one linear; same algebra as the
// conv fold, with the weight's rows as output channels.
#include "hadmc/compress/pass_registry.h"

namespace hadmc::compress {

Result<int> FoldBatchNorms(model::Model& m, const char* producer_op);  // fuse_conv_batchnorm.cpp
std::vector<std::string> FindProducerBatchNorm(const ir::Graph& g, const char* producer_op);

GraphPass FuseLinearBatchNormPass() {
  return {"fuse_linear_batchnorm", "fold batch_norm into the linear before it",
          [](const ir::Graph& g) { return FindProducerBatchNorm(g, "linear"); },
          [](model::Model& m) { return FoldBatchNorms(m, "linear"); }};
}

}  // namespace hadmc::compress
