// VGG-11 with batch norm in torchvision's module layout (torchvision/models/vgg.py, cfg "A"):
// features.{i} is a flat Sequential of conv(bias) / bn / relu triples and 2x2 max-pools, indexed
// as torchvision indexes it; avgpool is adaptive (7, 7); classifier.{0,3,6} are the linears with
// relus at 1 and 4 (the dropouts at 2 and 5 are identity at inference and not in the graph).
#include <vector>

#include "architectures.h"

namespace hadmc::zoo::detail {

Result<ir::Graph> BuildVgg11Bn(const ArchOptions& o) {
  constexpr int64_t kPool = 0;  // "M" in torchvision's cfg
  const std::vector<int64_t> cfg = {64,  kPool, 128,   kPool, 256, 256,  kPool,
                                    512, 512,   kPool, 512,   512, kPool};
  // Small input drops the last two max-pools (features.21, features.28): at 28-32 px the
  // features stay 3-4 px wide instead of shrinking to 0-1 px. Indices still count them, so the
  // parameter names do not move.
  int pools_left = 0;
  for (int64_t v : cfg) pools_left += v == kPool;

  ir::GraphBuilder b("vgg11_bn");
  std::string x = AddInput(b, o);
  int64_t in_ch = o.in_channels;
  int index = 0;
  auto name = [](int i) { return "features." + std::to_string(i); };
  for (int64_t v : cfg) {
    if (v == kPool) {
      const bool dropped = o.small_input && pools_left <= 2;
      if (!dropped) x = b.MaxPool(name(index), x, 2, 2);
      --pools_left;
      index += 1;
      continue;
    }
    ir::ConvOptions c;
    c.padding = 1;
    c.bias = true;
    x = b.Conv2d(name(index), x, in_ch, v, 3, c);
    x = b.BatchNorm(name(index + 1), x, v);
    x = b.Op("relu", name(index + 2), {x});
    in_ch = v;
    index += 3;
  }
  x = b.AdaptiveAvgPool("avgpool", x, 7, 7);
  x = b.Flatten("flatten", x);
  x = b.Linear("classifier.0", x, in_ch * 7 * 7, 4096);
  x = b.Op("relu", "classifier.1", {x});
  x = b.Linear("classifier.3", x, 4096, 4096);
  x = b.Op("relu", "classifier.4", {x});
  x = b.Linear("classifier.6", x, 4096, o.num_classes);
  return FinishClassifier(b, x);
}

}  // namespace hadmc::zoo::detail
