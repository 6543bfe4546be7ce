// ResNets with BasicBlock, in torchvision's module layout (torchvision/models/resnet.py):
// conv1, bn1, relu, maxpool, layer{1..4}.{i}.{conv1,bn1,conv2,bn2,downsample.0,downsample.1},
// avgpool, fc. resnet8 is a CIFAR-style member of the family (3x3 stem, three one-block stages).
#include <vector>

#include "architectures.h"

namespace hadmc::zoo::detail {
namespace {

struct ResNetSpec {
  std::string name;
  std::vector<int64_t> blocks;  // BasicBlocks per stage
  std::vector<int64_t> widths;  // output channels per stage; stage i > 0 starts with stride 2
  bool imagenet_stem;           // 7x7/2 conv + 3x3/2 max-pool; else 3x3/1 conv, no pool
};

// torchvision's BasicBlock: conv3x3(stride) -> bn -> relu -> conv3x3 -> bn, plus the identity or
// a 1x1(stride) conv + bn when the shape changes, then add -> relu. torchvision reuses one ReLU
// module twice; the graph names the second use "relu_1" as torch.fx does.
std::string BasicBlock(ir::GraphBuilder& b, const std::string& p, const std::string& x,
                       int64_t in_ch, int64_t out_ch, int64_t stride) {
  std::string y =
      AddConvBnAct(b, {p + ".conv1", p + ".bn1", p + ".relu", "relu"}, x, in_ch, out_ch, 3, stride);
  y = AddConvBnAct(b, {p + ".conv2", p + ".bn2", "", ""}, y, out_ch, out_ch, 3, 1);
  std::string identity = x;
  if (stride != 1 || in_ch != out_ch)
    identity = AddConvBnAct(b, {p + ".downsample.0", p + ".downsample.1", "", ""}, x, in_ch, out_ch,
                            1, stride);
  y = b.Op("add", p + ".add", {y, identity});
  return b.Op("relu", p + ".relu_1", {y});
}

Result<ir::Graph> BuildResNet(const ResNetSpec& s, const ArchOptions& o) {
  ir::GraphBuilder b(s.name);
  std::string x = AddInput(b, o);
  const int64_t stem = s.widths.front();
  if (s.imagenet_stem) {
    ir::ConvOptions c;
    c.stride = 2;
    c.padding = 3;
    x = b.Conv2d("conv1", x, o.in_channels, stem, 7, c);
    x = b.BatchNorm("bn1", x, stem);
    x = b.Op("relu", "relu", {x});
    x = b.MaxPool("maxpool", x, 3, 2, 1);
  } else {
    x = AddConvBnAct(b, {"conv1", "bn1", "relu", "relu"}, x, o.in_channels, stem, 3, 1);
  }
  int64_t in_ch = stem;
  for (size_t stage = 0; stage < s.blocks.size(); ++stage) {
    const std::string layer = "layer" + std::to_string(stage + 1);
    for (int64_t i = 0; i < s.blocks[stage]; ++i) {
      const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      x = BasicBlock(b, layer + "." + std::to_string(i), x, in_ch, s.widths[stage], stride);
      in_ch = s.widths[stage];
    }
  }
  x = b.AdaptiveAvgPool("avgpool", x, 1, 1);
  x = b.Flatten("flatten", x);
  x = b.Linear("fc", x, in_ch, o.num_classes);
  return FinishClassifier(b, x);
}

}  // namespace

// 16/32/64 channels: about 78K parameters and 9.2M MACs at 28x28 (see the zoo report).
Result<ir::Graph> BuildResNet8(const ArchOptions& o) {
  return BuildResNet({"resnet8", {1, 1, 1}, {16, 32, 64}, false}, o);
}

Result<ir::Graph> BuildResNet18(const ArchOptions& o) {
  return BuildResNet({"resnet18", {2, 2, 2, 2}, {64, 128, 256, 512}, !o.small_input}, o);
}

Result<ir::Graph> BuildResNet34(const ArchOptions& o) {
  return BuildResNet({"resnet34", {3, 4, 6, 3}, {64, 128, 256, 512}, !o.small_input}, o);
}

}  // namespace hadmc::zoo::detail
