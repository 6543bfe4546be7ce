#include "hadmc/model/hmc_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "hadmc/exec/executor.h"
#include "model_test_util.h"

namespace hadmc::model {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using testing::TinyCnn;

std::string U64Le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A valid file taken apart so a test can break one thing and put it back together.
struct HmcParts {
  json header;
  std::string data;

  std::string Join() const {
    const std::string text = header.dump();
    return U64Le(text.size()) + text + data;
  }
};

HmcParts Split(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  return {json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

HmcParts TinyParts() {
  auto bytes = SerializeHmc(TinyCnn());
  EXPECT_TRUE(bytes) << bytes.error().String();
  return Split(*bytes);
}

// Both the full parser and the header-only reader must refuse, naming the problem.
void ExpectRejected(const std::string& bytes, const std::string& needle) {
  auto m = ParseHmc(bytes, "bad.hmc");
  ASSERT_FALSE(m) << "accepted a file that should fail with: " << needle;
  EXPECT_THAT(m.error().message(), StartsWith("bad.hmc: "));
  EXPECT_THAT(m.error().message(), HasSubstr(needle));
  auto h = ParseHmcHeader(bytes, "bad.hmc");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().message(), m.error().message());
}

void ExpectSameModel(const Model& a, const Model& b) {
  EXPECT_EQ(a.graph, b.graph);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    EXPECT_EQ(t.scalar_type(), b.tensors.at(name).scalar_type()) << name;
    EXPECT_TRUE(torch::equal(t, b.tensors.at(name))) << name;
  }
}

// ---- Round trips ----

TEST(HmcFileTest, RoundTripsInMemory) {
  const Model m = TinyCnn();
  auto bytes = SerializeHmc(m);
  ASSERT_TRUE(bytes) << bytes.error().String();
  auto back = ParseHmc(*bytes);
  ASSERT_TRUE(back) << back.error().String();
  ExpectSameModel(m, *back);
}

TEST(HmcFileTest, SavesAndLoadsAFile) {
  testing::ScratchDir dir;
  const Model m = TinyCnn();
  ASSERT_TRUE(SaveHmc(m, dir / "tiny.hmc"));
  auto back = LoadHmc(dir / "tiny.hmc");
  ASSERT_TRUE(back) << back.error().String();
  ExpectSameModel(m, *back);
  // Nothing else is left in the directory (the temporary file was renamed).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.exists();
  EXPECT_EQ(files, 1);
}

TEST(HmcFileTest, SameModelGivesIdenticalBytes) {
  testing::ScratchDir dir;
  const Model m = TinyCnn();
  ASSERT_TRUE(SaveHmc(m, dir / "a.hmc"));
  ASSERT_TRUE(SaveHmc(Clone(m), dir / "b.hmc"));
  EXPECT_EQ(testing::ReadFileBytes(dir / "a.hmc"), testing::ReadFileBytes(dir / "b.hmc"));
  auto again = SerializeHmc(m);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, testing::ReadFileBytes(dir / "a.hmc"));
}

TEST(HmcFileTest, LayoutFollowsSafetensors) {
  auto bytes = SerializeHmc(TinyCnn());
  ASSERT_TRUE(bytes);
  auto h = ParseHmcHeader(*bytes);
  ASSERT_TRUE(h) << h.error().String();
  EXPECT_EQ(h->data_offset % 8, 0u);  // the header is space-padded to 8 bytes
  EXPECT_EQ((*bytes)[8], '{');
  const char last = (*bytes)[h->data_offset - 1];
  EXPECT_TRUE(last == ' ' || last == '}');
  // Tensors sorted by name, contiguous from offset 0, little-endian F32.
  ASSERT_EQ(h->tensors.size(), 7u);
  EXPECT_EQ(h->tensors.front().name, "bn1.bias");
  EXPECT_EQ(h->tensors.back().name, "fc.weight");
  uint64_t cursor = 0;
  for (size_t i = 0; i < h->tensors.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(h->tensors[i - 1].name, h->tensors[i].name);
    }
    EXPECT_EQ(h->tensors[i].begin, cursor);
    cursor = h->tensors[i].end;
  }
  EXPECT_EQ(h->data_offset + cursor, bytes->size());
  EXPECT_EQ(h->metadata.at("arch"), "tiny_cnn");
  EXPECT_FALSE(h->metadata.count("graph"));  // reserved keys are the format's, not the model's
  const auto meta = Split(*bytes).header.at("__metadata__");
  EXPECT_EQ(meta.at("format"), "hadmc");
  EXPECT_EQ(meta.at("hadmc_format_version"), "1");
}

TEST(HmcFileTest, StoresNonContiguousTensorsInCOrder) {
  Model m = TinyCnn();
  m.tensors["fc.weight"] = torch::randn({8, 10}).t();  // [10, 8], transposed strides
  ASSERT_FALSE(m.tensors["fc.weight"].is_contiguous());
  auto bytes = SerializeHmc(m);
  ASSERT_TRUE(bytes) << bytes.error().String();
  auto back = ParseHmc(*bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(torch::equal(back->tensors.at("fc.weight"), m.tensors.at("fc.weight")));
}

TEST(HmcFileTest, RoundTripsEveryDType) {
  Model m = TinyCnn();
  const std::pair<const char*, std::pair<ir::DType, at::ScalarType>> kinds[] = {
      {"bn1.bias", {ir::DType::kF16, at::kHalf}},
      {"bn1.running_mean", {ir::DType::kI8, at::kChar}},
      {"bn1.weight", {ir::DType::kU8, at::kByte}},
      {"fc.bias", {ir::DType::kI32, at::kInt}},
      {"bn1.running_var", {ir::DType::kI64, at::kLong}},
  };
  for (const auto& [name, kind] : kinds) {
    m.graph.params[name].dtype = kind.first;
    m.tensors[name] = (m.tensors[name] * 50).to(kind.second);
  }
  auto bytes = SerializeHmc(m);
  ASSERT_TRUE(bytes) << bytes.error().String();
  auto back = ParseHmc(*bytes);
  ASSERT_TRUE(back) << back.error().String();
  ExpectSameModel(m, *back);
}

TEST(HmcFileTest, LoadedModelComputesTheSameOutputs) {
  testing::ScratchDir dir;
  const Model m = TinyCnn();
  ASSERT_TRUE(SaveHmc(m, dir / "tiny.hmc"));
  auto back = LoadHmc(dir / "tiny.hmc");
  ASSERT_TRUE(back);
  auto ex_a = exec::Executor::Create(m);
  auto ex_b = exec::Executor::Create(*back);
  ASSERT_TRUE(ex_a && ex_b);
  const at::Tensor x = torch::randn({4, 3, 8, 8});
  auto ya = ex_a->Run(x, exec::Mode::kInference);
  auto yb = ex_b->Run(x, exec::Mode::kInference);
  ASSERT_TRUE(ya && yb);
  EXPECT_TRUE(torch::equal(*ya, *yb));
}

TEST(HmcFileTest, PythonReadsTheTensors) {
  const std::string python = testing::PythonWithNumpy();
  if (python.empty()) GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  testing::ScratchDir dir;
  const Model m = TinyCnn();
  ASSERT_TRUE(SaveHmc(m, dir / "tiny.hmc"));
  auto r = testing::RunCommand(python + " " + testing::FixtureScript("read_safetensors.py") + " " +
                               dir / "tiny.hmc" + " fc.weight");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j.at("shape"), json({10, 8}));
  EXPECT_EQ(j.at("format"), "hadmc");
  EXPECT_EQ(j.at("graph_name"), "tiny_cnn");
  const at::Tensor w = m.tensors.at("fc.weight").flatten();
  ASSERT_EQ(j.at("values").size(), 80u);
  for (int64_t i = 0; i < 80; ++i) EXPECT_EQ(j.at("values")[i].get<float>(), w[i].item<float>());
}

// ---- Save errors ----

TEST(HmcFileTest, SaveNeedsAnExistingDirectory) {
  testing::ScratchDir dir;
  auto st = SaveHmc(TinyCnn(), dir / "missing/tiny.hmc");
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("does not exist"));
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
}

TEST(HmcFileTest, SaveOverwritesAtomically) {
  testing::ScratchDir dir;
  ASSERT_TRUE(SaveHmc(TinyCnn(1), dir / "m.hmc"));
  ASSERT_TRUE(SaveHmc(TinyCnn(2), dir / "m.hmc"));
  auto back = LoadHmc(dir / "m.hmc");
  ASSERT_TRUE(back);
  ExpectSameModel(TinyCnn(2), *back);
}

TEST(HmcFileTest, SaveRejectsReservedMetadataKeys) {
  Model m = TinyCnn();
  m.metadata["graph"] = "mine";
  auto bytes = SerializeHmc(m);
  ASSERT_FALSE(bytes);
  EXPECT_THAT(bytes.error().message(), HasSubstr("metadata key 'graph' is reserved"));
}

TEST(HmcFileTest, SaveRejectsAnInconsistentModel) {
  Model m = TinyCnn();
  m.tensors["fc.bias"] = torch::zeros({11});
  auto st = SaveHmc(m, ::testing::TempDir() + "never_written.hmc");
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("tensor 'fc.bias' has shape [11]"));
}

TEST(HmcFileTest, LoadOfAMissingFileNamesIt) {
  auto m = LoadHmc("/nonexistent/dir/model.hmc");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message(), HasSubstr("/nonexistent/dir/model.hmc"));
}

// ---- Rejections: one test per way a file can be broken ----

TEST(HmcFileRejectTest, FileShorterThanTheLengthPrefix) {
  ExpectRejected("", "0 bytes, shorter than the 8-byte header length");
  ExpectRejected(std::string("\x10\0\0", 3), "3 bytes, shorter than the 8-byte header length");
}

TEST(HmcFileRejectTest, HeaderLengthOverTheLimit) {
  ExpectRejected(U64Le(kMaxHeaderBytes + 1) + "{}", "exceeds the limit");
  ExpectRejected(U64Le(~0ull) + "{}", "exceeds the limit");
}

TEST(HmcFileRejectTest, HeaderLengthPastTheEndOfFile) {
  ExpectRejected(U64Le(1000) + "{}", "header length 1000 is longer than the 2 bytes");
}

TEST(HmcFileRejectTest, HeaderNotJson) {
  ExpectRejected(U64Le(6) + "{abc}x", "header is not valid JSON");
}

TEST(HmcFileRejectTest, HeaderNotAnObject) {
  ExpectRejected(U64Le(5) + "[1,2]", "header must be a JSON object, got array");
}

TEST(HmcFileRejectTest, MissingMetadata) {
  HmcParts p = TinyParts();
  p.header.erase("__metadata__");
  ExpectRejected(p.Join(), "header has no __metadata__");
}

TEST(HmcFileRejectTest, MissingGraph) {
  HmcParts p = TinyParts();
  p.header["__metadata__"].erase("graph");
  ExpectRejected(p.Join(), "__metadata__ has no 'graph'");
}

TEST(HmcFileRejectTest, NotAHadmcFile) {
  HmcParts p = TinyParts();
  p.header["__metadata__"]["format"] = "pt";
  ExpectRejected(p.Join(), "format is 'pt', expected 'hadmc'");
  p.header["__metadata__"].erase("format");
  ExpectRejected(p.Join(), "no 'format'");
}

TEST(HmcFileRejectTest, NewerFormatVersion) {
  HmcParts p = TinyParts();
  p.header["__metadata__"]["hadmc_format_version"] = "2";
  ExpectRejected(p.Join(), "format version '2' is not supported");
}

TEST(HmcFileRejectTest, MetadataValueNotAString) {
  HmcParts p = TinyParts();
  p.header["__metadata__"]["epochs"] = 5;
  ExpectRejected(p.Join(), "value of 'epochs' must be a string");
}

TEST(HmcFileRejectTest, GraphNotValidIr) {
  HmcParts p = TinyParts();
  p.header["__metadata__"]["graph"] = "{";
  ExpectRejected(p.Join(), "graph IR in __metadata__: graph is not valid JSON");
  json g = json::parse(TinyParts().header["__metadata__"]["graph"].get<std::string>());
  g["nodes"][0]["op"] = "warp_drive";
  p.header["__metadata__"]["graph"] = g.dump();
  ExpectRejected(p.Join(), "unknown op 'warp_drive'");
}

TEST(HmcFileRejectTest, UnknownDType) {
  HmcParts p = TinyParts();
  p.header["fc.bias"]["dtype"] = "Q7";
  ExpectRejected(p.Join(), "tensor 'fc.bias': unsupported dtype 'Q7'");
}

TEST(HmcFileRejectTest, NegativeDimension) {
  HmcParts p = TinyParts();
  p.header["fc.bias"]["shape"] = {-10};
  ExpectRejected(p.Join(), "tensor 'fc.bias': shape [-10] has a negative dimension");
  p.header["fc.bias"]["shape"] = {10.5};
  ExpectRejected(p.Join(), "must hold non-negative integers");
  p.header["fc.bias"]["shape"] = "10";
  ExpectRejected(p.Join(), "'shape' must be a list");
}

TEST(HmcFileRejectTest, DataOffsetsNotTwoIntegers) {
  for (const json& bad : {json({992}), json({992, 1032, 1}), json({"a", 1032}), json({-1, 1032}),
                          json(992), json({992.0, 1032})}) {
    HmcParts p = TinyParts();
    p.header["fc.bias"]["data_offsets"] = bad;
    ExpectRejected(p.Join(), "'data_offsets' must be two non-negative integers");
  }
  HmcParts p = TinyParts();
  p.header["fc.bias"].erase("data_offsets");
  ExpectRejected(p.Join(),
                 "'data_offsets' must be two non-negative integers [begin, end], got "
                 "nothing");
}

TEST(HmcFileRejectTest, OffsetsEndBeforeTheyBegin) {
  HmcParts p = TinyParts();
  p.header["fc.bias"]["data_offsets"] = {1032, 992};
  ExpectRejected(p.Join(), "tensor 'fc.bias': data_offsets [1032, 992] end before they begin");
}

TEST(HmcFileRejectTest, OffsetsPastTheBuffer) {
  HmcParts p = TinyParts();
  p.data.resize(p.data.size() - 8);  // a truncated file
  ExpectRejected(p.Join(),
                 "tensor 'fc.weight': data_offsets [1032, 1352] run past the end of "
                 "the data buffer (1344 bytes; truncated file?)");
}

TEST(HmcFileRejectTest, ByteCountDisagreesWithShape) {
  HmcParts p = TinyParts();
  p.header["fc.bias"]["shape"] = {9};
  ExpectRejected(p.Join(),
                 "tensor 'fc.bias': data_offsets [992, 1032] hold 40 bytes but F32 [9] "
                 "needs 36");
}

TEST(HmcFileRejectTest, ShapeWhoseSizeOverflows) {
  HmcParts p = TinyParts();
  p.header["fc.bias"]["shape"] = {1ull << 62, 1ull << 62};
  ExpectRejected(p.Join(), "more elements than fit in 64 bits");
  p.header["fc.bias"]["shape"] = {1ull << 62, 2};  // 2^63 elements, 2^65 bytes
  ExpectRejected(p.Join(), "more bytes than fit in 64 bits");
  p.header["fc.bias"]["shape"] = {1ull << 63};
  ExpectRejected(p.Join(), "dimension 9223372036854775808 is too large");
}

TEST(HmcFileRejectTest, OverlappingTensors) {
  HmcParts p = TinyParts();
  p.header["bn1.running_mean"]["data_offsets"] = {0, 32};  // on top of bn1.bias
  ExpectRejected(p.Join(), "overlaps tensor 'bn1.bias' [0, 32]");
}

TEST(HmcFileRejectTest, HoleBetweenTensors) {
  HmcParts p = TinyParts();
  p.data.insert(1032, 8, '\0');
  p.header["fc.weight"]["data_offsets"] = {1040, 1360};
  ExpectRejected(p.Join(), "hole of 8 bytes before tensor 'fc.weight'");
}

TEST(HmcFileRejectTest, TrailingGarbage) {
  HmcParts p = TinyParts();
  p.data += "junk";
  ExpectRejected(p.Join(), "trailing garbage: 4 bytes after the last tensor");
}

TEST(HmcFileRejectTest, TensorShapeDisagreesWithGraph) {
  HmcParts p = TinyParts();
  p.header["conv1.weight"]["shape"] = {8, 27, 1, 1};  // same byte count
  ExpectRejected(p.Join(),
                 "tensor 'conv1.weight' has shape [8,27,1,1] but the graph declares [8,3,3,3]");
}

TEST(HmcFileRejectTest, TensorDTypeDisagreesWithGraph) {
  HmcParts p = TinyParts();
  p.header["fc.bias"]["dtype"] = "I32";  // same size
  ExpectRejected(p.Join(), "tensor 'fc.bias' has dtype I32 but the graph declares F32");
}

TEST(HmcFileRejectTest, GraphParameterWithoutTensor) {
  HmcParts p = TinyParts();
  p.header.erase("fc.weight");
  p.data.resize(1032);
  ExpectRejected(p.Join(), "graph parameter 'fc.weight' has no tensor in the file");
}

TEST(HmcFileRejectTest, TensorThatIsNotAParameter) {
  HmcParts p = TinyParts();
  p.header["zz.extra"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {1352, 1360}}};
  p.data.append(8, '\0');
  ExpectRejected(p.Join(), "tensor 'zz.extra' is not a parameter of the graph");
}

// Every truncation and a few thousand random header corruptions give an error or a consistent
// model, never a crash (run under ASan to make this a fuzz test).
TEST(HmcFileRejectTest, SurvivesTruncationAndCorruption) {
  auto bytes = SerializeHmc(TinyCnn());
  ASSERT_TRUE(bytes);
  for (size_t n = 0; n < bytes->size(); ++n)
    EXPECT_FALSE(ParseHmc(bytes->substr(0, n))) << "accepted a prefix of " << n << " bytes";
  const uint64_t header_end = ParseHmcHeader(*bytes)->data_offset;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = *bytes;
    const size_t at = rng() % header_end;
    bad[at] = static_cast<char>(rng() % 256);
    auto m = ParseHmc(bad);
    if (m) {
      EXPECT_TRUE(CheckConsistent(*m));
    }
  }
}

}  // namespace
}  // namespace hadmc::model
