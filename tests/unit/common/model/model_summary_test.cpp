#include "hadmc/model/model_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model_test_util.h"

namespace hadmc::model {
namespace {

using ::testing::HasSubstr;

TEST(ModelSummaryTest, CountsParamsMacsAndBytesPerNode) {
  const Model m = testing::TinyCnn();
  auto s = SummarizeGraph(m.graph);
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(s->graph_name, "tiny_cnn");
  ASSERT_EQ(s->nodes.size(), 6u);

  const NodeSummary& conv = s->nodes[0];
  EXPECT_EQ(conv.name, "conv1");
  EXPECT_EQ(conv.op, "conv2d");
  EXPECT_EQ(conv.output_shape, (ir::Shape{1, 8, 8, 8}));
  EXPECT_EQ(conv.params, 8 * 3 * 3 * 3);
  EXPECT_EQ(conv.macs, 8 * 8 * 8 * 3 * 3 * 3);  // one MAC per weight per output pixel
  EXPECT_EQ(conv.precision, ir::Precision::kFp32);

  const NodeSummary& bn = s->nodes[1];
  EXPECT_EQ(bn.params, 16);   // weight and bias
  EXPECT_EQ(bn.buffers, 16);  // running statistics are not trainable

  const NodeSummary& fc = s->nodes[5];
  EXPECT_EQ(fc.output_shape, (ir::Shape{1, 10}));
  EXPECT_EQ(fc.params, 8 * 10 + 10);
  EXPECT_EQ(fc.macs, 80);

  EXPECT_EQ(s->total_params, 216 + 16 + 90);
  EXPECT_EQ(s->total_buffers, 16);
  int64_t macs = 0;
  for (const auto& n : s->nodes) macs += n.macs;
  EXPECT_EQ(s->total_macs, macs);
  EXPECT_EQ(s->tensor_bytes, (216u + 32u + 90u) * 4u);
  EXPECT_EQ(s->bytes_by_dtype.at("F32"), s->tensor_bytes);
  EXPECT_EQ(s->nodes_by_precision.at("fp32"), 6);
  ASSERT_EQ(s->outputs.size(), 1u);
  EXPECT_EQ(s->outputs[0].shape, (ir::Shape{-1, 10}));  // as declared: any batch
}

TEST(ModelSummaryTest, ReportsPrecisionAndStorageByDType) {
  Model m = testing::TinyCnn();
  m.graph.FindNode("conv1")->precision = ir::Precision::kInt8;
  m.graph.params["conv1.weight"].dtype = ir::DType::kI8;
  auto s = SummarizeGraph(m.graph);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->nodes[0].precision, ir::Precision::kInt8);
  EXPECT_EQ(s->bytes_by_dtype.at("I8"), 216u);
  EXPECT_EQ(s->bytes_by_dtype.at("F32"), (32u + 90u) * 4u);
  EXPECT_EQ(s->nodes_by_precision.at("int8"), 1);
}

TEST(ModelSummaryTest, SerializesToJsonAndATable) {
  auto s = SummarizeGraph(testing::TinyCnn().graph);
  ASSERT_TRUE(s);
  const nlohmann::json j = SummaryToJson(*s);
  EXPECT_EQ(j.at("graph"), "tiny_cnn");
  EXPECT_EQ(j.at("nodes").size(), 6u);
  EXPECT_EQ(j.at("nodes")[0].at("macs"), 13824);
  EXPECT_EQ(j.at("totals").at("params"), 322);
  EXPECT_EQ(j.at("totals").at("bytes_by_dtype").at("F32"), 1352);
  EXPECT_EQ(j.at("inputs")[0].at("shape"), nlohmann::json({-1, 3, 8, 8}));

  const std::string table = FormatSummaryTable(*s);
  EXPECT_THAT(table, HasSubstr("conv1"));
  EXPECT_THAT(table, HasSubstr("13,824"));
  EXPECT_THAT(table, HasSubstr("[1,8,8,8]"));
  EXPECT_THAT(table, HasSubstr("params: 322"));
  EXPECT_THAT(table, HasSubstr("F32 1.3 KiB"));
}

TEST(ModelSummaryTest, FormatsCountsAndBytes) {
  EXPECT_EQ(FormatCount(950), "950");
  EXPECT_EQ(FormatCount(11689512), "11.69M");
  EXPECT_EQ(FormatCount(1820000000), "1.82G");
  EXPECT_EQ(FormatCount(1500), "1.50K");
  EXPECT_EQ(FormatCount(-1), "?");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(46758112), "44.6 MiB");
}

}  // namespace
}  // namespace hadmc::model
