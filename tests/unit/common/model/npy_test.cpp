#include "hadmc/model/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "model_test_util.h"

namespace hadmc::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A .npy file built by hand: version 1.0, the given dict, raw data.
std::string Npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const std::string header = dict + "\n";
  const size_t n = header.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major >= 2) out += std::string(2, '\0');
  return out + header + data;
}

template <typename T>
std::string Raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

std::string Dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

void ExpectRejected(const std::string& bytes, const std::string& needle) {
  auto a = ParseNpy(bytes, "x.npy");
  ASSERT_FALSE(a) << "accepted an array that should fail with: " << needle;
  EXPECT_THAT(a.error().message(), HasSubstr("x.npy: "));
  EXPECT_THAT(a.error().message(), HasSubstr(needle));
}

TEST(NpyTest, RoundTripsShapes) {
  for (const ir::Shape& shape :
       {ir::Shape{2, 3}, ir::Shape{5}, ir::Shape{}, ir::Shape{0, 4}, ir::Shape{2, 1, 3, 2}}) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> values(n);
    for (int64_t i = 0; i < n; ++i) values[i] = 0.5f * static_cast<float>(i) - 1.0f;
    auto bytes = SerializeNpy(shape, values.data(), values.size());
    ASSERT_TRUE(bytes) << bytes.error().String();
    EXPECT_EQ(bytes->substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ((bytes->size() - n * 4) % 64, 0u) << "numpy aligns the data to 64 bytes";
    auto back = ParseNpy(*bytes);
    ASSERT_TRUE(back) << back.error().String();
    EXPECT_EQ(back->shape, shape);
    EXPECT_EQ(back->values, values);
    EXPECT_FALSE(back->converted());
    EXPECT_EQ(ConversionNote(*back, "x.npy"), "");
  }
}

TEST(NpyTest, WritesPythonTupleSyntax) {
  const float v[3] = {1, 2, 3};
  EXPECT_THAT(*SerializeNpy({3}, v, 3), HasSubstr("'shape': (3,), }"));
  EXPECT_THAT(*SerializeNpy({}, v, 1), HasSubstr("'shape': (), }"));
  EXPECT_THAT(*SerializeNpy({1, 3}, v, 3), HasSubstr("'shape': (1, 3), }"));
  auto bad = SerializeNpy({2, 2}, v, 3);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("holds 4 values, got 3"));
}

TEST(NpyTest, WritesAndReadsFiles) {
  testing::ScratchDir dir;
  const std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f};
  ASSERT_TRUE(WriteNpy(dir / "a.npy", {2, 2}, v.data(), v.size()));
  auto a = ReadNpy(dir / "a.npy");
  ASSERT_TRUE(a) << a.error().String();
  EXPECT_EQ(a->shape, (ir::Shape{2, 2}));
  EXPECT_EQ(a->values, v);
  auto missing = WriteNpy(dir / "no/such/a.npy", {1}, v.data(), 1);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr("does not exist"));
}

TEST(NpyTest, ReadsVersion2AndVersion3Headers) {
  for (int major : {2, 3}) {
    auto a = ParseNpy(Npy(Dict("<f4", "(2,)"), Raw<float>({1.0f, 2.0f}), major));
    ASSERT_TRUE(a) << a.error().String();
    EXPECT_THAT(a->values, ElementsAre(1.0f, 2.0f));
  }
}

TEST(NpyTest, ConvertsOtherDTypesToFloat32) {
  auto f8 = ParseNpy(Npy(Dict("<f8", "(2,)"), Raw<double>({1.5, -2.25})));
  ASSERT_TRUE(f8) << f8.error().String();
  EXPECT_THAT(f8->values, ElementsAre(1.5f, -2.25f));
  EXPECT_TRUE(f8->converted());
  EXPECT_EQ(ConversionNote(*f8, "x.npy"),
            "x.npy holds float64 ('<f8'); converted to float32 (values may lose precision)");

  auto i8 = ParseNpy(Npy(Dict("<i8", "(3,)"), Raw<int64_t>({-3, 0, 7})));
  ASSERT_TRUE(i8);
  EXPECT_THAT(i8->values, ElementsAre(-3.0f, 0.0f, 7.0f));

  auto u1 = ParseNpy(Npy(Dict("|u1", "(1, 3)"), std::string("\x00\x07\xff", 3)));
  ASSERT_TRUE(u1);
  EXPECT_EQ(u1->shape, (ir::Shape{1, 3}));
  EXPECT_THAT(u1->values, ElementsAre(0.0f, 7.0f, 255.0f));
  EXPECT_EQ(ConversionNote(*u1, "img.npy"), "img.npy holds uint8 ('|u1'); converted to float32");

  auto b1 = ParseNpy(Npy(Dict("|b1", "(2,)"), std::string("\x01\x00", 2)));
  ASSERT_TRUE(b1);
  EXPECT_THAT(b1->values, ElementsAre(1.0f, 0.0f));
}

TEST(NpyTest, AcceptsDoubleQuotesAndPython2Longs) {
  auto a = ParseNpy(Npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1L, 2L)}",
                        Raw<float>({3.0f, 4.0f})));
  ASSERT_TRUE(a) << a.error().String();
  EXPECT_EQ(a->shape, (ir::Shape{1, 2}));
}

TEST(NpyRejectTest, BadMagic) {
  ExpectRejected("", "not a .npy file (bad magic string)");
  ExpectRejected("PK\x03\x04 a zip file", "bad magic string");
}

TEST(NpyRejectTest, UnsupportedVersion) {
  ExpectRejected(Npy(Dict("<f4", "(1,)"), Raw<float>({1.0f}), 4), "format version 4.0");
}

TEST(NpyRejectTest, TruncatedHeader) {
  const std::string good = Npy(Dict("<f4", "(1,)"), Raw<float>({1.0f}));
  ExpectRejected(good.substr(0, 9), "truncated in the header length");
  ExpectRejected(good.substr(0, 30), "header is truncated");
}

TEST(NpyRejectTest, TruncatedData) {
  ExpectRejected(Npy(Dict("<f4", "(2, 3)"), Raw<float>({1, 2, 3, 4, 5})),
                 "data is truncated: float32 [2,3] needs 24 bytes, the file has 20");
}

TEST(NpyRejectTest, TrailingBytes) {
  ExpectRejected(Npy(Dict("<f4", "(1,)"), Raw<float>({1, 2})), "4 trailing bytes after the data");
}

TEST(NpyRejectTest, FortranOrder) {
  ExpectRejected(Npy(Dict("<f4", "(2, 2)", true), Raw<float>({1, 2, 3, 4})), "Fortran order");
}

TEST(NpyRejectTest, BigEndian) {
  ExpectRejected(Npy(Dict(">f4", "(1,)"), Raw<float>({1})), "'>f4' is big-endian");
}

TEST(NpyRejectTest, UnsupportedDType) {
  ExpectRejected(Npy(Dict("<c8", "(1,)"), std::string(8, '\0')), "dtype '<c8' is not supported");
  ExpectRejected(Npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", ""),
                 "structured dtypes are not supported");
}

TEST(NpyRejectTest, MalformedHeaderDict) {
  ExpectRejected(Npy("{'descr': '<f4', 'shape': (1,), }", Raw<float>({1})),
                 "needs 'descr', 'fortran_order' and 'shape'");
  ExpectRejected(Npy(Dict("<f4", "(-1,)"), ""), "negative dimension");
  ExpectRejected(Npy(Dict("<f4", "(99999999999999999999,)"), ""), "too large");
  ExpectRejected(Npy("{'descr: '<f4'", ""), "malformed header dict");
  ExpectRejected(Npy(Dict("<f4", "(1,)") + " extra", Raw<float>({1})), "after the dict");
  ExpectRejected(Npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", ""),
                 "expected True or False");
}

TEST(NpyRejectTest, ShapeWhoseSizeOverflows) {
  ExpectRejected(Npy(Dict("<f4", "(4611686018427387904, 4)"), ""), "too large");
}

// ---- Against numpy itself ----

class NpyNumpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = testing::PythonWithNumpy();
    if (python_.empty()) GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  }
  std::string python_;
  testing::ScratchDir dir_;
};

TEST_F(NpyNumpyTest, ReadsWhatNumpyWrites) {
  auto r = testing::RunCommand(python_ + " " + testing::FixtureScript("npy_interop.py") +
                               " write " + dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<float> base = {-2.0f, -0.5f, 1.0f, 2.5f, 4.0f, 5.5f};
  for (const char* name : {"f4.npy", "f8.npy", "v2.npy"}) {
    auto a = ReadNpy(dir_ / name);
    ASSERT_TRUE(a) << name << ": " << a.error().String();
    EXPECT_EQ(a->shape, (ir::Shape{2, 3})) << name;
    EXPECT_EQ(a->values, base) << name;
  }
  auto i8 = ReadNpy(dir_ / "i8.npy");
  ASSERT_TRUE(i8);
  EXPECT_THAT(i8->values, ElementsAre(-3, -2, -1, 0, 1, 2));
  EXPECT_EQ(i8->source_dtype, "<i8");
  auto u1 = ReadNpy(dir_ / "u1.npy");
  ASSERT_TRUE(u1);
  EXPECT_THAT(u1->values, ElementsAre(0, 7, 255));
  auto scalar = ReadNpy(dir_ / "scalar.npy");
  ASSERT_TRUE(scalar);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_THAT(scalar->values, ElementsAre(4.25f));

  for (const auto& [name, needle] :
       {std::pair{"fortran.npy", "Fortran order"}, std::pair{"big_endian.npy", "big-endian"},
        std::pair{"complex.npy", "not supported"}}) {
    auto a = ReadNpy(dir_ / name);
    ASSERT_FALSE(a) << name;
    EXPECT_THAT(a.error().message(), HasSubstr(needle)) << name;
  }
}

TEST_F(NpyNumpyTest, NumpyReadsWhatWeWrite) {
  const std::vector<float> v = {0.1f, -7.5f, 3.0f, 1e-8f, 6.0f, 2.0f};
  ASSERT_TRUE(WriteNpy(dir_ / "ours.npy", {3, 1, 2}, v.data(), v.size()));
  auto r = testing::RunCommand(python_ + " " + testing::FixtureScript("npy_interop.py") + " read " +
                               dir_ / "ours.npy");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("shape"), nlohmann::json({3, 1, 2}));
  EXPECT_EQ(j.at("dtype"), "<f4");
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(j.at("values")[i].get<float>(), v[i]);
}

}  // namespace
}  // namespace hadmc::model
