// NumPy .npy reading and writing. The format: "\x93NUMPY", major and minor version bytes, the
// header length (u16 for 1.0, u32 for 2.0/3.0), a Python dict literal padded with spaces and a
// newline, then the raw array bytes.
#include "hadmc/model/npy.h"

#include <cstring>
#include <limits>

#include "file_io.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error ".npy '<f4' data is little-endian; add byte swapping before building for this target"
#endif

namespace hadmc::model {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

template <typename T>
float LoadAs(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return static_cast<float>(v);
}
float LoadBool(const char* p) { return *p != 0 ? 1.0f : 0.0f; }

// The dtypes we read, by their type code (descr without the byte-order character).
struct NpyType {
  const char* code;
  size_t size;
  const char* name;
  float (*load)(const char*);
};
constexpr NpyType kTypes[] = {
    {"f4", 4, "float32", LoadAs<float>}, {"f8", 8, "float64", LoadAs<double>},
    {"i8", 8, "int64", LoadAs<int64_t>}, {"i4", 4, "int32", LoadAs<int32_t>},
    {"i1", 1, "int8", LoadAs<int8_t>},   {"u1", 1, "uint8", LoadAs<uint8_t>},
    {"b1", 1, "bool", LoadBool},
};

const NpyType* FindType(const std::string& code) {
  for (const auto& t : kTypes)
    if (code == t.code) return &t;
  return nullptr;
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  ir::Shape shape;
};

// Parses the header dict numpy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderDictParser {
 public:
  explicit HeaderDictParser(std::string_view text) : s_(text) {}

  Result<NpyHeader> Parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    SkipSpace();
    if (!Consume('{')) return Bad("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      auto key = String();
      if (!key) return MakeError(key.error());
      SkipSpace();
      if (!Consume(':')) return Bad("expected ':' after '" + *key + "'");
      SkipSpace();
      if (*key == "descr" && !seen_descr) {
        if (Peek() == '[')
          return MakeError(Errc::kUnsupported, "structured dtypes are not supported");
        auto d = String();
        if (!d) return MakeError(d.error());
        h.descr = std::move(*d);
        seen_descr = true;
      } else if (*key == "fortran_order" && !seen_order) {
        auto b = Bool();
        if (!b) return MakeError(b.error());
        h.fortran_order = *b;
        seen_order = true;
      } else if (*key == "shape" && !seen_shape) {
        auto t = Tuple();
        if (!t) return MakeError(t.error());
        h.shape = std::move(*t);
        seen_shape = true;
      } else {
        return Bad("unexpected or repeated key '" + *key + "'");
      }
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return Bad("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != s_.size()) return Bad("unexpected text after the dict");
    if (!seen_descr || !seen_order || !seen_shape)
      return Bad("the dict needs 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  tl::unexpected<Error> Bad(const std::string& what) const {
    return MakeError(Errc::kParse,
                     "malformed header dict at offset " + std::to_string(pos_) + ": " + what);
  }
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  Result<std::string> String() {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return Bad("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return Bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  Result<bool> Bool() {
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (s_.substr(pos_, n) == word) {
        pos_ += n;
        return value;
      }
    }
    return Bad("expected True or False");
  }
  Result<ir::Shape> Tuple() {
    if (!Consume('(')) return Bad("shape must be a tuple");
    ir::Shape shape;
    while (true) {
      SkipSpace();
      if (Consume(')')) break;
      if (Peek() == '-') return Bad("shape has a negative dimension");
      if (Peek() < '0' || Peek() > '9') return Bad("shape must hold integers");
      int64_t d = 0;
      while (Peek() >= '0' && Peek() <= '9') {
        if (__builtin_mul_overflow(d, int64_t{10}, &d) ||
            __builtin_add_overflow(d, int64_t{Peek() - '0'}, &d))
          return Bad("shape dimension is too large");
        ++pos_;
      }
      Consume('L');  // Python 2 long literals, in files written by old numpy
      shape.push_back(d);
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume(')')) break;
      return Bad("expected ',' or ')' in shape");
    }
    return shape;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

uint64_t ReadLe(std::string_view bytes, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = width; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return v;
}

// Checks the dtype string and returns the type to read.
Result<const NpyType*> ResolveDescr(const std::string& descr) {
  std::string code = descr;
  char order = '=';
  if (!code.empty() && std::strchr("<>|=", code[0]) != nullptr) {
    order = code[0];
    code = code.substr(1);
  }
  const NpyType* type = FindType(code);
  if (!type)
    return MakeError(Errc::kUnsupported,
                     "dtype '" + descr +
                         "' is not supported (expected float32 '<f4'; float64, int64, int32, "
                         "int8, uint8 and bool are converted)");
  if (order == '>' && type->size > 1)
    return MakeError(Errc::kUnsupported, "dtype '" + descr +
                                             "' is big-endian; save it little-endian "
                                             "(arr.astype('<" +
                                             code + "'))");
  return type;
}

std::string ShapeTuple(const ir::Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// Magic, version, length and the padded dict for a '<f4' array.
Result<std::string> EncodeHeader(const ir::Shape& shape, size_t count) {
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
      return MakeError(Errc::kInvalidArgument, "invalid shape " + ir::ShapeString(shape));
  }
  if (numel != count)
    return MakeError(Errc::kInvalidArgument, "shape " + ir::ShapeString(shape) + " holds " +
                                                 std::to_string(numel) + " values, got " +
                                                 std::to_string(count));
  const std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + ShapeTuple(shape) + ", }";
  // numpy aligns the data to 64 bytes; the dict ends with spaces and a newline.
  for (const int major : {1, 2}) {
    const size_t prefix = kMagicSize + 2 + (major == 1 ? 2 : 4);
    const size_t unpadded = prefix + dict.size() + 1;
    const size_t header_len = dict.size() + 1 + (64 - unpadded % 64) % 64;
    if (major == 1 && header_len > std::numeric_limits<uint16_t>::max()) continue;
    std::string out(kMagic, kMagicSize);
    out += static_cast<char>(major);
    out += '\0';
    for (size_t i = 0; i < prefix - kMagicSize - 2; ++i)
      out += static_cast<char>((header_len >> (8 * i)) & 0xff);
    out += dict;
    out.append(header_len - dict.size() - 1, ' ');
    out += '\n';
    return out;
  }
  return MakeError(Errc::kInvalidArgument, "shape " + ir::ShapeString(shape) + " is too long");
}

Result<NpyArray> ParseNpyBytes(std::string_view bytes) {
  if (bytes.size() < kMagicSize ||
      bytes.substr(0, kMagicSize) != std::string_view(kMagic, kMagicSize))
    return MakeError(Errc::kParse, "not a .npy file (bad magic string)");
  if (bytes.size() < kMagicSize + 2)
    return MakeError(Errc::kCorrupt, "truncated before the version bytes");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return MakeError(Errc::kUnsupported, "format version " + std::to_string(major) + "." +
                                             std::to_string(minor) +
                                             " is not supported (expected 1.0, 2.0 or 3.0)");
  const size_t width = major == 1 ? 2 : 4;
  const size_t prefix = kMagicSize + 2 + width;
  if (bytes.size() < prefix) return MakeError(Errc::kCorrupt, "truncated in the header length");
  const uint64_t header_len = ReadLe(bytes, kMagicSize + 2, width);
  if (header_len > bytes.size() - prefix)
    return MakeError(Errc::kCorrupt, "header is truncated: it should be " +
                                         std::to_string(header_len) + " bytes, the file has " +
                                         std::to_string(bytes.size() - prefix) +
                                         " after the prefix");
  auto header = HeaderDictParser(bytes.substr(prefix, header_len)).Parse();
  if (!header) return MakeError(header.error());
  auto type = ResolveDescr(header->descr);
  if (!type) return MakeError(type.error());
  if (header->fortran_order)
    return MakeError(Errc::kUnsupported,
                     "array is in Fortran order; save it in C order (np.ascontiguousarray)");

  uint64_t count = 1, need = 0;
  for (int64_t d : header->shape)
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count))
      return MakeError(Errc::kCorrupt, "shape " + ir::ShapeString(header->shape) + " is too large");
  if (__builtin_mul_overflow(count, static_cast<uint64_t>((*type)->size), &need))
    return MakeError(Errc::kCorrupt, "shape " + ir::ShapeString(header->shape) + " is too large");
  const uint64_t have = bytes.size() - prefix - header_len;
  const std::string what_data = std::string((*type)->name) + " " + ir::ShapeString(header->shape) +
                                " needs " + std::to_string(need) + " bytes";
  if (have < need)
    return MakeError(Errc::kCorrupt,
                     "data is truncated: " + what_data + ", the file has " + std::to_string(have));
  if (have > need)
    return MakeError(Errc::kCorrupt, std::to_string(have - need) +
                                         " trailing bytes after the data (" + what_data + ")");

  const bool is_f32 = std::strcmp((*type)->code, "f4") == 0;
  NpyArray a;
  a.shape = header->shape;
  // '=f4' and 'f4' mean '<f4' on this little-endian host.
  a.source_dtype = is_f32 ? "<f4" : header->descr;
  a.values.resize(count);
  const char* data = bytes.data() + prefix + header_len;
  if (is_f32) {
    if (count > 0) std::memcpy(a.values.data(), data, need);
  } else {
    for (uint64_t i = 0; i < count; ++i) a.values[i] = (*type)->load(data + i * (*type)->size);
  }
  return a;
}

}  // namespace

Result<NpyArray> ParseNpy(std::string_view bytes, const std::string& what) {
  auto a = ParseNpyBytes(bytes);
  if (!a) return MakeError(a.error().WithContext(what));
  return a;
}

Result<NpyArray> ReadNpy(const std::string& path) {
  auto bytes = detail::ReadWholeFile(path);
  if (!bytes) return MakeError(bytes.error());
  return ParseNpy(*bytes, path);
}

std::string ConversionNote(const NpyArray& a, const std::string& what) {
  if (!a.converted()) return "";
  std::string code = a.source_dtype;
  if (!code.empty() && std::strchr("<>|=", code[0]) != nullptr) code = code.substr(1);
  const NpyType* type = FindType(code);
  const std::string name = type ? type->name : a.source_dtype;
  return what + " holds " + name + " ('" + a.source_dtype + "'); converted to float32" +
         (code == "f8" || code == "i8" || code == "i4" ? " (values may lose precision)" : "");
}

Result<std::string> SerializeNpy(const ir::Shape& shape, const float* values, size_t count) {
  auto header = EncodeHeader(shape, count);
  if (!header) return MakeError(header.error());
  std::string out = std::move(*header);
  out.append(reinterpret_cast<const char*>(values), count * sizeof(float));
  return out;
}

Status WriteNpy(const std::string& path, const ir::Shape& shape, const float* values,
                size_t count) {
  auto header = EncodeHeader(shape, count);
  if (!header) return MakeError(header.error().WithContext("writing " + path));
  HADMC_TRY(detail::WriteFileAtomically(
      path, {{header->data(), header->size()}, {values, count * sizeof(float)}}));
  return {};
}

}  // namespace hadmc::model
