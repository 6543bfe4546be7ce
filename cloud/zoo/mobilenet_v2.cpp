// MobileNetV2 in torchvision's module layout (torchvision/models/mobilenetv2.py):
//   features.0            Conv2dNormActivation: .0 conv 3x3/2, .1 bn, .2 relu6
//   features.1 .. 17      InvertedResidual, whose Sequential "conv" is
//                           expand_ratio 1:  conv.0.{0,1,2} depthwise, conv.1 1x1, conv.2 bn
//                           otherwise:       conv.0.{0,1,2} 1x1 expand, conv.1.{0,1,2} depthwise,
//                                            conv.2 1x1 project, conv.3 bn
//                         plus a residual add when stride is 1 and in == out channels
//   features.18           Conv2dNormActivation 1x1 to last_channel (1280)
//   classifier.1          linear (classifier.0 is dropout: identity at inference, not in the graph)
#include <algorithm>
#include <vector>

#include "architectures.h"

namespace hadmc::zoo::detail {
namespace {

// torchvision's _make_divisible: rounds to the nearest multiple of `divisor`, never going more
// than 10% below v.
int64_t MakeDivisible(double v, int64_t divisor = 8) {
  int64_t rounded = static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor;
  rounded = std::max(divisor, rounded);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

std::string InvertedResidual(ir::GraphBuilder& b, const std::string& p, const std::string& x,
                             int64_t in_ch, int64_t out_ch, int64_t stride, int64_t expand) {
  const int64_t hidden = in_ch * expand;
  const std::string conv = p + ".conv.";
  std::string y = x;
  int index = 0;  // position in the block's Sequential
  auto sub = [&](int i) { return conv + std::to_string(i); };
  if (expand != 1) {
    y = AddConvBnAct(b, {sub(index) + ".0", sub(index) + ".1", sub(index) + ".2", "relu6"}, y,
                     in_ch, hidden, 1, 1);
    ++index;
  }
  y = AddConvBnAct(b, {sub(index) + ".0", sub(index) + ".1", sub(index) + ".2", "relu6"}, y, hidden,
                   hidden, 3, stride, /*groups=*/hidden);
  ++index;
  y = AddConvBnAct(b, {sub(index), sub(index + 1), "", ""}, y, hidden, out_ch, 1, 1);
  if (stride == 1 && in_ch == out_ch) y = b.Op("add", p + ".add", {x, y});
  return y;
}

struct StageSpec {
  int64_t expand, channels, blocks, stride;  // torchvision's t, c, n, s
};

}  // namespace

Result<ir::Graph> BuildMobileNetV2(const ArchOptions& o) {
  std::vector<StageSpec> stages = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                   {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  // Small input (28-32 px): stride 1 in the stem and in the first block of the 24-channel stage
  // (features.0.0 and features.2), so the last feature map is 4x4 at 28-32 px, not 1x1.
  const int64_t stem_stride = o.small_input ? 1 : 2;
  if (o.small_input) stages[1].stride = 1;

  ir::GraphBuilder b("mobilenet_v2");
  std::string x = AddInput(b, o);
  int64_t in_ch = MakeDivisible(32 * o.width_mult);
  const int64_t last_ch = MakeDivisible(1280 * std::max(1.0, o.width_mult));
  x = AddConvBnAct(b, {"features.0.0", "features.0.1", "features.0.2", "relu6"}, x, o.in_channels,
                   in_ch, 3, stem_stride);
  int feature = 1;
  for (const StageSpec& s : stages) {
    const int64_t out_ch = MakeDivisible(s.channels * o.width_mult);
    for (int64_t i = 0; i < s.blocks; ++i) {
      x = InvertedResidual(b, "features." + std::to_string(feature++), x, in_ch, out_ch,
                           i == 0 ? s.stride : 1, s.expand);
      in_ch = out_ch;
    }
  }
  const std::string last = "features." + std::to_string(feature);
  x = AddConvBnAct(b, {last + ".0", last + ".1", last + ".2", "relu6"}, x, in_ch, last_ch, 1, 1);
  x = b.AdaptiveAvgPool("avgpool", x, 1, 1);
  x = b.Flatten("flatten", x);
  x = b.Linear("classifier.1", x, last_ch, o.num_classes);
  return FinishClassifier(b, x);
}

}  // namespace hadmc::zoo::detail
