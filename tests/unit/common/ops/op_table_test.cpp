#include <set>

#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

TEST(OpTableTest, ListsEveryOpOfTheDesign) {
  const std::set<std::string> expected = {"conv2d",
                                          "batch_norm",
                                          "relu",
                                          "relu6",
                                          "silu",
                                          "sigmoid",
                                          "hardswish",
                                          "add",
                                          "mul",
                                          "concat",
                                          "max_pool2d",
                                          "avg_pool2d",
                                          "adaptive_avg_pool2d",
                                          "flatten",
                                          "linear",
                                          "upsample",
                                          "softmax",
                                          "identity",
                                          // precision boundaries of int8 regions
                                          "quantize",
                                          "dequantize",
                                          // quantization-aware training
                                          "fake_quantize"};
  std::set<std::string> names;
  for (const auto& [name, def] : ir::OpTable()) names.insert(name);
  EXPECT_EQ(names, expected);
  EXPECT_EQ(ir::FindOp("conv2d"), &ir::OpTable().at("conv2d"));
  EXPECT_EQ(ir::FindOp("conv3d"), nullptr);
}

TEST(OpTableTest, EveryEntryIsComplete) {
  for (const auto& [name, def] : ir::OpTable()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(def.name, name);
    EXPECT_TRUE(static_cast<bool>(def.infer_shape));
    EXPECT_TRUE(static_cast<bool>(def.macs));
    EXPECT_TRUE(static_cast<bool>(def.channel_relation));
    EXPECT_NE(def.bind_kernel, nullptr);
    EXPECT_GE(def.min_inputs, 1);
    EXPECT_TRUE(def.max_inputs == -1 || def.max_inputs >= def.min_inputs);
    std::set<std::string> slots;
    for (const auto& slot : def.params) EXPECT_TRUE(slots.insert(slot.name).second);
  }
}

TEST(OpTableTest, ShapeInferenceChecksArity) {
  for (const auto& [name, def] : ir::OpTable()) {
    SCOPED_TRACE(name);
    ir::Node n;
    n.op = name;
    const size_t too_many = def.max_inputs < 0 ? 0 : static_cast<size_t>(def.max_inputs) + 1;
    auto r = def.infer_shape(n, std::vector<ir::Shape>(too_many, ir::Shape{1, 4, 4, 4}), {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("inputs, got " + std::to_string(too_many)),
              std::string::npos)
        << r.error().message();
  }
}

TEST(OpTableTest, ParameterlessOpsBindWithDefaultAttributes) {
  for (const char* op : {"relu", "relu6", "silu", "sigmoid", "hardswish", "identity", "softmax",
                         "add", "mul", "concat", "flatten"}) {
    SCOPED_TRACE(op);
    ir::Node n;
    n.op = op;
    auto k = ir::FindOp(op)->bind_kernel(n);
    EXPECT_TRUE(k) << k.error().String();
  }
}

TEST(OpTableTest, ChannelRelationNames) {
  std::set<std::string> names;
  for (auto r :
       {ir::ChannelRelation::kPassThrough, ir::ChannelRelation::kProducer,
        ir::ChannelRelation::kDepthwise, ir::ChannelRelation::kGrouped, ir::ChannelRelation::kJoin,
        ir::ChannelRelation::kConcat, ir::ChannelRelation::kFlatten, ir::ChannelRelation::kOpaque})
    names.insert(ir::ChannelRelationName(r));
  EXPECT_EQ(names.size(), 8u);
  EXPECT_STREQ(ir::ChannelRelationName(ir::ChannelRelation::kDepthwise), "depthwise");
}

}  // namespace
}  // namespace hadmc::ops_test
