#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hadmc/exec/kernel.h"  // completes BoundKernel for the op-table check
#include "hadmc/ir/builder.h"
#include "hadmc/ir/json.h"
#include "hadmc/ir/ops.h"

namespace hadmc::ir {
namespace {

// conv(7→13, stride 2) → bn → relu → global pool → flatten → linear(13→5)
Graph SmallGraph() {
  GraphBuilder b("small");
  auto x = b.Input("input", {-1, 7, 15, 15});
  x = b.Conv2d("conv1", x, 7, 13, 3, {.stride = 2, .padding = 1});
  x = b.BatchNorm("bn1", x, 13);
  x = b.Op("relu", "relu1", {x});
  x = b.AdaptiveAvgPool("pool", x, 1, 1);
  x = b.Flatten("flat", x);
  x = b.Linear("fc", x, 13, 5);
  b.Output(x);
  auto g = b.Finish();
  EXPECT_TRUE(g.has_value()) << g.error().String();
  return *g;
}

TEST(GraphIr, BuilderNamesParamsLikeTorchvision) {
  Graph g = SmallGraph();
  EXPECT_TRUE(g.params.count("conv1.weight"));
  EXPECT_FALSE(g.params.count("conv1.bias"));
  EXPECT_TRUE(g.params.count("bn1.running_var"));
  EXPECT_EQ(g.params.at("conv1.weight").shape, (Shape{13, 7, 3, 3}));
  EXPECT_EQ(g.params.at("fc.weight").shape, (Shape{5, 13}));
}

TEST(GraphIr, ShapeInferencePropagatesDynamicBatch) {
  Graph g = SmallGraph();
  auto shapes = InferShapes(g);
  ASSERT_TRUE(shapes) << shapes.error().String();
  EXPECT_EQ(shapes->at("conv1"), (Shape{-1, 13, 8, 8}));
  EXPECT_EQ(shapes->at("flat"), (Shape{-1, 13}));
  EXPECT_EQ(shapes->at("fc"), (Shape{-1, 5}));
  auto concrete = InferShapes(g, {{4, 7, 15, 15}});
  ASSERT_TRUE(concrete);
  EXPECT_EQ(concrete->at("fc"), (Shape{4, 5}));
}

TEST(GraphIr, JsonRoundTripPreservesEverything) {
  Graph g = SmallGraph();
  g.nodes[0].precision = Precision::kInt8;
  g.nodes[0].attrs.Set("scale_list", std::vector<double>{0.5, 0.25});
  g.nodes[0].attrs.Set("note", std::string("hello"));
  auto back = GraphFromString(GraphToString(g));
  ASSERT_TRUE(back) << back.error().String();
  EXPECT_EQ(*back, g);
  // Types survive: an int stays an int, a float stays a float.
  EXPECT_EQ(*back->nodes[0].attrs.GetInt("groups"), 1);
  EXPECT_DOUBLE_EQ(*back->FindNode("bn1")->attrs.GetFloat("eps"), 1e-5);
  EXPECT_EQ(GraphToString(*back), GraphToString(g));
}

TEST(GraphIr, JsonErrorsAreClear) {
  auto r = GraphFromString("{not json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not valid JSON"), std::string::npos);
  r = GraphFromString(R"({"inputs": [], "outputs": [], "nodes": [{"op": "relu"}]})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("missing field 'name'"), std::string::npos);
  r = GraphFromString(
      R"({"inputs": [], "outputs": [], "nodes": [{"name": "a", "op": "relu", "inputs": ["x"],
          "outputs": ["a"], "precision": "int3"}]})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("node 'a'"), std::string::npos);
  EXPECT_NE(r.error().message().find("int3"), std::string::npos);
}

void ExpectInvalid(Graph g, const std::string& fragment1, const std::string& fragment2 = "") {
  auto s = Validate(g);
  ASSERT_FALSE(s) << "expected a validation error mentioning " << fragment1;
  EXPECT_NE(s.error().message().find(fragment1), std::string::npos) << s.error().message();
  if (!fragment2.empty()) {
    EXPECT_NE(s.error().message().find(fragment2), std::string::npos) << s.error().message();
  }
}

TEST(GraphIr, ValidationNamesTheNode) {
  {
    Graph g = SmallGraph();
    g.nodes[2].op = "gelu_fancy";
    ExpectInvalid(g, "relu1", "unknown op 'gelu_fancy'");
  }
  {
    Graph g = SmallGraph();
    g.FindNode("fc")->inputs = {"nowhere"};
    ExpectInvalid(g, "fc", "'nowhere'");
  }
  {
    Graph g = SmallGraph();
    g.FindNode("relu1")->name = "bn1";
    ExpectInvalid(g, "duplicate node name 'bn1'");
  }
  {
    Graph g = SmallGraph();
    g.FindNode("relu1")->outputs = {"bn1"};
    ExpectInvalid(g, "relu1", "already defined");
  }
  {
    Graph g = SmallGraph();
    g.params["fc.weight"].shape = {5, 12};
    ExpectInvalid(g, "node 'fc'", "12");
  }
  {
    Graph g = SmallGraph();
    g.FindNode("conv1")->params.erase("weight");
    ExpectInvalid(g, "conv1", "weight");
  }
  {
    Graph g = SmallGraph();
    g.FindNode("conv1")->params["weight"] = "missing.weight";
    ExpectInvalid(g, "conv1", "missing.weight");
  }
  {
    Graph g = SmallGraph();
    g.outputs = {"nothing"};
    ExpectInvalid(g, "graph output 'nothing'");
  }
}

TEST(GraphIr, CycleIsDetectedAndNamed) {
  Graph g = SmallGraph();
  // relu1 reads pool, and pool (through its input) reads relu1: a cycle.
  g.FindNode("relu1")->inputs = {"pool"};
  auto s = Validate(g);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("cycle"), std::string::npos);
  EXPECT_NE(s.error().message().find("'relu1'"), std::string::npos);
  EXPECT_NE(s.error().message().find("'pool'"), std::string::npos);
}

TEST(GraphIr, ValidateSortsNodesTopologically) {
  Graph g = SmallGraph();
  std::swap(g.nodes.front(), g.nodes.back());  // fc first, conv1 last
  ASSERT_TRUE(Validate(g));
  std::vector<std::string> order;
  for (const auto& n : g.nodes) order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"conv1", "bn1", "relu1", "pool", "flat", "fc"}));
}

TEST(GraphIr, AttributeTypeErrors) {
  Attributes a;
  a.Set("stride", std::vector<int64_t>{2, 2});
  EXPECT_FALSE(a.GetInt("stride").has_value());
  EXPECT_NE(a.GetInt("stride").error().message().find("int list"), std::string::npos);
  EXPECT_EQ(*a.GetInt("groups", 1), 1);
  EXPECT_FALSE(a.GetInt("groups").has_value());
}

TEST(GraphIr, EveryOpIsFullyDefined) {
  ASSERT_FALSE(OpTable().empty());
  for (const char* op : {"conv2d", "batch_norm", "relu", "relu6", "silu", "sigmoid", "hardswish",
                         "add", "mul", "concat", "max_pool2d", "avg_pool2d",
                         "adaptive_avg_pool2d", "flatten", "linear", "upsample", "softmax",
                         "identity"}) {
    const OpDef* def = FindOp(op);
    ASSERT_NE(def, nullptr) << op;
    EXPECT_TRUE(def->infer_shape) << op;
    EXPECT_TRUE(def->macs) << op;
    EXPECT_TRUE(def->channel_relation) << op;
    EXPECT_NE(def->bind_kernel, nullptr) << op;
  }
}

}  // namespace
}  // namespace hadmc::ir
