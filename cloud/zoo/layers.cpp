// Layer helpers shared by the zoo's graph builders.
#include "architectures.h"

namespace hadmc::zoo::detail {

std::string AddInput(ir::GraphBuilder& b, const ArchOptions& o) {
  const int64_t s = o.image_size > 0 ? o.image_size : -1;
  return b.Input("input", {-1, o.in_channels, s, s});
}

std::string AddConvBnAct(ir::GraphBuilder& b, const ConvBnAct& names, const std::string& x,
                         int64_t in_ch, int64_t out_ch, int64_t kernel, int64_t stride,
                         int64_t groups) {
  ir::ConvOptions c;
  c.stride = stride;
  c.padding = (kernel - 1) / 2;  // "same" padding for odd kernels, as torchvision's blocks use
  c.groups = groups;
  std::string y = b.Conv2d(names.conv, x, in_ch, out_ch, kernel, c);
  y = b.BatchNorm(names.bn, y, out_ch);
  if (!names.act_op.empty()) y = b.Op(names.act_op, names.act, {y});
  return y;
}

Result<ir::Graph> FinishClassifier(ir::GraphBuilder& b, const std::string& value) {
  ir::Node* n = b.graph().FindNode(value);
  if (!n) return MakeError(Errc::kInternal, "classifier node '" + value + "' not found");
  n->outputs = {"logits"};
  b.Output("logits");
  return b.Finish();
}

}  // namespace hadmc::zoo::detail
