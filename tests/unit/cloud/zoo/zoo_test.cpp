#include "hadmc/zoo/zoo.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "hadmc/exec/executor.h"
#include "hadmc/model/model_summary.h"
#include "torchvision_fixture.h"

namespace hadmc::zoo {
namespace {

using ::testing::HasSubstr;

std::map<std::string, ir::Shape> ParamShapes(const ir::Graph& g) {
  std::map<std::string, ir::Shape> shapes;
  for (const auto& [name, info] : g.params) shapes[name] = info.shape;
  return shapes;
}

ArchOptions Options(int64_t in_ch, int64_t classes, int64_t size, bool small) {
  ArchOptions o;
  o.in_channels = in_ch;
  o.num_classes = classes;
  o.image_size = size;
  o.small_input = small;
  return o;
}

TEST(ZooTest, ListsArchitectures) {
  EXPECT_EQ(ArchNames(), (std::vector<std::string>{"mobilenet_v2", "resnet18", "resnet34",
                                                   "resnet8", "vgg11_bn"}));
}

TEST(ZooTest, UnknownArchListsKnownOnes) {
  auto m = BuildModel("resnet50", {});
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().Is(Errc::kNotFound));
  EXPECT_THAT(m.error().message(), HasSubstr("unknown architecture 'resnet50'"));
  EXPECT_THAT(m.error().message(),
              HasSubstr("mobilenet_v2, resnet18, resnet34, resnet8, vgg11_bn"));
}

TEST(ZooTest, RejectsBadOptions) {
  ArchOptions o;
  o.num_classes = 0;
  EXPECT_THAT(BuildGraph("resnet8", o).error().message(), HasSubstr("num_classes"));
  o = {};
  o.width_mult = 0.5;
  EXPECT_THAT(BuildGraph("resnet18", o).error().message(), HasSubstr("mobilenet_v2 only"));
  // 8 px through VGG's five 2x2 max-pools leaves nothing by features.21.
  auto tiny = BuildGraph("vgg11_bn", Options(3, 10, 8, false));
  ASSERT_FALSE(tiny);
  EXPECT_THAT(tiny.error().message(), HasSubstr("features."));
}

// Every arch builds, validates and produces [N, classes], at small (28 px, 1 channel) and
// standard (32 px, 3 channels) input.
TEST(ZooTest, EveryArchRunsAtSmallAndStandardInput) {
  for (const std::string& arch : ArchNames()) {
    for (bool small : {true, false}) {
      SCOPED_TRACE(arch + (small ? " small" : " standard"));
      const ArchOptions o = small ? Options(1, 7, 28, true) : Options(3, 10, 32, false);
      auto m = BuildModel(arch, o);
      ASSERT_TRUE(m) << m.error().String();
      ASSERT_TRUE(model::CheckConsistent(*m)) << "inconsistent";
      EXPECT_EQ(m->graph.inputs.at(0).name, "input");
      EXPECT_EQ(m->graph.inputs.at(0).shape,
                (ir::Shape{-1, o.in_channels, o.image_size, o.image_size}));
      EXPECT_EQ(m->graph.outputs, std::vector<std::string>{"logits"});
      auto ex = exec::Executor::Create(*m);
      ASSERT_TRUE(ex) << ex.error().String();
      auto y = ex->Run(at::randn({2, o.in_channels, o.image_size, o.image_size}),
                       exec::Mode::kInference);
      ASSERT_TRUE(y) << y.error().String();
      EXPECT_EQ(y->sizes().vec(), (std::vector<int64_t>{2, o.num_classes}));
      EXPECT_TRUE(y->isfinite().all().item<bool>());
    }
  }
}

TEST(ZooTest, SameSeedSameTensorsOtherSeedOtherTensors) {
  ArchOptions o = Options(1, 10, 28, true);
  o.seed = 7;
  auto a = BuildModel("mobilenet_v2", o);
  auto b = BuildModel("mobilenet_v2", o);
  o.seed = 8;
  auto c = BuildModel("mobilenet_v2", o);
  ASSERT_TRUE(a && b && c);
  for (const auto& [name, t] : a->tensors) {
    EXPECT_TRUE(at::equal(t, b->tensors.at(name))) << name;
  }
  EXPECT_FALSE(at::equal(a->tensors.at("features.1.conv.0.0.weight"),
                         c->tensors.at("features.1.conv.0.0.weight")));
  EXPECT_EQ(a->metadata.at("init_seed"), "7");
}

TEST(ZooTest, InitializesLikeTorchvision) {
  auto m = BuildModel("resnet18", Options(3, 10, 64, false));
  ASSERT_TRUE(m);
  const auto& t = m->tensors;
  // kaiming_normal_(fan_out, relu): std = sqrt(2 / (64 * 3 * 3)) for layer1 convs.
  EXPECT_NEAR(t.at("layer1.0.conv1.weight").std().item<double>(), std::sqrt(2.0 / 576), 0.002);
  EXPECT_TRUE(at::equal(t.at("bn1.weight"), at::ones({64})));
  EXPECT_TRUE(at::equal(t.at("bn1.bias"), at::zeros({64})));
  EXPECT_TRUE(at::equal(t.at("bn1.running_mean"), at::zeros({64})));
  EXPECT_TRUE(at::equal(t.at("bn1.running_var"), at::ones({64})));
  // ResNet's fc keeps nn.Linear's default: U(-1/sqrt(512), 1/sqrt(512)) for weight and bias.
  const double bound = 1.0 / std::sqrt(512.0);
  EXPECT_LE(t.at("fc.weight").abs().max().item<double>(), bound);
  EXPECT_GT(t.at("fc.weight").abs().max().item<double>(), 0.9 * bound);
  EXPECT_GT(t.at("fc.bias").abs().max().item<double>(), 0.0);

  auto mb = BuildModel("mobilenet_v2", Options(3, 10, 32, true));
  ASSERT_TRUE(mb);
  EXPECT_NEAR(mb->tensors.at("classifier.1.weight").std().item<double>(), 0.01, 0.001);
  EXPECT_TRUE(at::equal(mb->tensors.at("classifier.1.bias"), at::zeros({10})));
}

TEST(ZooTest, MetadataRoundTrips) {
  ArchOptions o = Options(3, 5, 32, true);
  o.width_mult = 0.5;
  o.seed = 11;
  auto m = BuildModel("mobilenet_v2", o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->metadata.at("arch"), "mobilenet_v2");
  EXPECT_EQ(m->metadata.at("num_classes"), "5");
  EXPECT_EQ(m->metadata.at("in_channels"), "3");
  EXPECT_EQ(m->metadata.at("image_size"), "32");
  EXPECT_EQ(m->metadata.at("small_input"), "true");
  std::string arch;
  auto back = ArchOptionsFromMetadata(m->metadata, &arch);
  ASSERT_TRUE(back);
  EXPECT_EQ(arch, "mobilenet_v2");
  EXPECT_EQ(back->num_classes, 5);
  EXPECT_EQ(back->in_channels, 3);
  EXPECT_EQ(back->image_size, 32);
  EXPECT_TRUE(back->small_input);
  EXPECT_DOUBLE_EQ(back->width_mult, 0.5);
  EXPECT_EQ(back->seed, 11u);
  EXPECT_FALSE(ArchOptionsFromMetadata({{"num_classes", "ten"}}));
  EXPECT_FALSE(ArchOptionsFromMetadata({{"small_input", "yes"}}));
}

// The graph's parameters are exactly torchvision's state_dict (minus num_batches_tracked), with
// the same shapes.
TEST(ZooTest, ParameterNamesAndShapesMatchTorchvision) {
  HADMC_TORCHVISION_FIXTURE(dir);
  struct Case {
    std::string file, arch;
    double width_mult;
  };
  for (const Case& c :
       {Case{"resnet18", "resnet18", 1.0}, Case{"resnet34", "resnet34", 1.0},
        Case{"mobilenet_v2", "mobilenet_v2", 1.0}, Case{"mobilenet_v2_w0.5", "mobilenet_v2", 0.5},
        Case{"vgg11_bn", "vgg11_bn", 1.0}}) {
    SCOPED_TRACE(c.file);
    const auto expected = testing::ReadNames(dir + "/names_" + c.file + ".txt");
    ASSERT_FALSE(expected.empty());
    ArchOptions o = Options(3, 10, 224, false);
    o.width_mult = c.width_mult;
    auto g = BuildGraph(c.arch, o);
    ASSERT_TRUE(g) << g.error().String();
    EXPECT_EQ(ParamShapes(*g), expected);
    // Small input changes strides and pools, never names; only ResNet's conv1 changes shape.
    o.small_input = true;
    o.image_size = 32;
    auto small = BuildGraph(c.arch, o);
    ASSERT_TRUE(small) << small.error().String();
    auto small_shapes = ParamShapes(*small);
    if (c.arch.rfind("resnet", 0) == 0) {
      EXPECT_EQ(small_shapes.at("conv1.weight"), (ir::Shape{64, 3, 3, 3}));
      small_shapes["conv1.weight"] = expected.at("conv1.weight");
    }
    EXPECT_EQ(small_shapes, expected);
  }
}

TEST(ZooTest, ResNet18ParameterCountMatchesTorchvision) {
  // torchvision's resnet18 at 1000 classes: num_params 11,689,512.
  auto g = BuildGraph("resnet18", Options(3, 1000, 224, false));
  ASSERT_TRUE(g);
  EXPECT_EQ(CountParameters(*g).trainable, 11689512);
  // BN running mean + var: 2 x (64 + 4*64 + 4*128 + 4*256 + 4*512 + 128 + 256 + 512) = 9600.
  EXPECT_EQ(CountParameters(*g).buffers, 9600);
}

// Parameters and conv + linear MACs (batch 1) against an independent count on the torchvision
// modules (forward hooks in PyTorch), with 10 classes. Small variants at 1x28x28 (Fashion-MNIST),
// standard ones at 3x224x224. resnet8 is the cheap demo net.
TEST(ZooTest, ParamsAndMacsMatchReferenceCounts) {
  struct Case {
    std::string arch;
    bool small;
    int64_t params, macs;
  };
  const Case cases[] = {
      {"resnet8", true, 77754, 9345920},          {"resnet18", true, 11172810, 455800832},
      {"resnet34", true, 21280970, 935917568},    {"mobilenet_v2", true, 2236106, 72938624},
      {"vgg11_bn", true, 128811658, 252150784},   {"resnet18", false, 11181642, 1813566464},
      {"resnet34", false, 21289802, 3663254528},  {"mobilenet_v2", false, 2236682, 299507072},
      {"vgg11_bn", false, 128812810, 7605035008},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.arch + (c.small ? " small" : " standard"));
    auto g = BuildGraph(c.arch, c.small ? Options(1, 10, 28, true) : Options(3, 10, 224, false));
    ASSERT_TRUE(g) << g.error().String();
    EXPECT_EQ(CountParameters(*g).trainable, c.params);
    auto summary = model::SummarizeGraph(*g);
    ASSERT_TRUE(summary) << summary.error().String();
    int64_t macs = 0;
    for (const auto& n : summary->nodes)
      if (n.op == "conv2d" || n.op == "linear") macs += n.macs;
    EXPECT_EQ(macs, c.macs);
  }
}

TEST(ZooTest, SmallInputVariantsDropTheDocumentedDownsampling) {
  auto resnet = BuildGraph("resnet18", Options(1, 10, 28, true));
  ASSERT_TRUE(resnet);
  EXPECT_EQ(resnet->FindNode("maxpool"), nullptr);
  auto mobilenet = BuildGraph("mobilenet_v2", Options(1, 10, 28, true));
  ASSERT_TRUE(mobilenet);
  EXPECT_EQ(mobilenet->FindNode("features.0.0")->attrs.GetInts("stride").value(),
            (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(mobilenet->FindNode("features.2.conv.1.0")->attrs.GetInts("stride").value(),
            (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(mobilenet->FindNode("features.4.conv.1.0")->attrs.GetInts("stride").value(),
            (std::vector<int64_t>{2, 2}));
  auto vgg = BuildGraph("vgg11_bn", Options(1, 10, 28, true));
  ASSERT_TRUE(vgg);
  EXPECT_NE(vgg->FindNode("features.14"), nullptr);
  EXPECT_EQ(vgg->FindNode("features.21"), nullptr);
  EXPECT_EQ(vgg->FindNode("features.28"), nullptr);
  EXPECT_NE(vgg->FindNode("features.22"), nullptr);
}

TEST(ZooTest, ResidualAddsWhereTorchvisionHasThem) {
  auto g = BuildGraph("mobilenet_v2", Options(3, 10, 224, false));
  ASSERT_TRUE(g);
  int adds = 0;
  for (const auto& n : g->nodes) adds += n.op == "add";
  EXPECT_EQ(adds, 10);  // blocks 3, 5, 6, 8, 9, 10, 12, 13, 15, 16
  EXPECT_NE(g->FindNode("features.3.add"), nullptr);
  EXPECT_EQ(g->FindNode("features.4.add"), nullptr);
  auto r = BuildGraph("resnet34", Options(3, 10, 224, false));
  ASSERT_TRUE(r);
  EXPECT_NE(r->FindNode("layer2.0.downsample.0"), nullptr);
  EXPECT_EQ(r->FindNode("layer1.0.downsample.0"), nullptr);
  EXPECT_NE(r->FindNode("layer4.2.relu_1"), nullptr);
}

// image_size 0: H and W are -1 in the graph, so one model serves any input size.
TEST(ZooTest, DynamicImageSizeAcceptsAnySize) {
  auto m = BuildModel("resnet8", Options(1, 10, 0, true));
  ASSERT_TRUE(m) << m.error().String();
  EXPECT_EQ(m->graph.inputs.at(0).shape, (ir::Shape{-1, 1, -1, -1}));
  auto ex = exec::Executor::Create(*m);
  ASSERT_TRUE(ex) << ex.error().String();
  for (int64_t size : {20, 28, 33}) {
    auto y = ex->Run(at::randn({1, 1, size, size}), exec::Mode::kInference);
    ASSERT_TRUE(y) << y.error().String();
    EXPECT_EQ(y->sizes().vec(), (std::vector<int64_t>{1, 10}));
  }
}

}  // namespace
}  // namespace hadmc::zoo
