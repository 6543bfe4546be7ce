#include "hadmc/train/input_transform.h"

#include <torch/torch.h>

namespace hadmc::train {

Result<BatchTransform> MakeInputTransform(const ir::Graph& graph, const data::Dataset& dataset) {
  if (graph.inputs.size() != 1 || graph.inputs[0].shape.size() != 4)
    return MakeError(Errc::kUnsupported, "the model must have one [N, C, H, W] input, got " +
                                             std::to_string(graph.inputs.size()) + " input(s)");
  const ir::Shape& want = graph.inputs[0].shape;
  const int64_t c = want[1], h = want[2], w = want[3];
  bool repeat_gray = false;
  if (c > 0 && c != dataset.channels()) {
    if (c == 3 && dataset.channels() == 1) {
      repeat_gray = true;
    } else {
      return MakeError(Errc::kShapeMismatch,
                       "the model takes " + std::to_string(c) + "-channel images, the data has " +
                           std::to_string(dataset.channels()));
    }
  }
  const bool resize = h > 0 && w > 0 && (h != dataset.height() || w != dataset.width());
  if (!repeat_gray && !resize) return BatchTransform();
  return BatchTransform([repeat_gray, resize, h, w](const at::Tensor& x) {
    at::Tensor y = x;
    if (resize)
      y = at::upsample_bilinear2d(y, {h, w}, /*align_corners=*/false);
    if (repeat_gray) y = y.expand({y.size(0), 3, y.size(2), y.size(3)}).contiguous();
    return y;
  });
}

}  // namespace hadmc::train
