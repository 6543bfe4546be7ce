// KernelKey: the canonical text form of a fused kernel's key (see kernels.h). Part of the
// torch-free hadmc_hal_lut, so it uses no function of hadmc_common (which links LibTorch): only
// the IR's header types.
#include <cctype>

#include "hadmc/hal/kernels.h"

namespace hadmc::hal {
namespace {

constexpr size_t kKeyFields = 8;
constexpr size_t kMaxKindLength = 64;
constexpr size_t kMaxRank = 8;

// The IR's precision names (ir::PrecisionName; a hal test checks the two agree).
struct PrecisionText {
  ir::Precision precision;
  const char* name;
};
constexpr PrecisionText kPrecisions[] = {{ir::Precision::kFp32, "fp32"},
                                         {ir::Precision::kFp16, "fp16"},
                                         {ir::Precision::kInt8, "int8"},
                                         {ir::Precision::kInt4, "int4"}};

const char* NameOf(ir::Precision p) {
  for (const auto& e : kPrecisions)
    if (e.precision == p) return e.name;
  return "?";
}

std::string Dims(const ir::Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// A non-negative decimal without sign or leading zeros ("0" itself is fine), so that every
// accepted key is canonical: Parse(s).ToString() == s.
bool ParseCount(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  *out = std::stoll(s);
  return true;
}

// Field `s` must be `prefix` followed by a count; `what` names it in the error.
Status ParsePrefixed(const std::string& s, const std::string& prefix, const char* what,
                     int64_t* out) {
  if (s.rfind(prefix, 0) != 0 || !ParseCount(s.substr(prefix.size()), out))
    return MakeError(Errc::kParse, std::string(what) + " must be '" + prefix +
                                       "<non-negative integer>', got '" + s + "'");
  return {};
}

Result<ir::Shape> ParseDims(const std::string& s, const char* what) {
  ir::Shape out;
  for (const std::string& d : Split(s, 'x')) {
    int64_t v = 0;
    if (!ParseCount(d, &v))
      return MakeError(
          Errc::kParse,
          std::string(what) + " must be dims joined by 'x' (1x64x28x28), got '" + s + "'");
    out.push_back(v);
  }
  if (out.size() > kMaxRank)
    return MakeError(Errc::kParse, std::string(what) + " has more than 8 dims: '" + s + "'");
  return out;
}

bool ValidKind(const std::string& k) {
  if (k.empty() || k.size() > kMaxKindLength) return false;
  for (char c : k)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return std::islower(static_cast<unsigned char>(k[0]));
}

}  // namespace

std::string KernelKey::ToString() const {
  return kind + "|" + Dims(input) + "|o" + std::to_string(out_channels) + "|k" +
         std::to_string(kernel_h) + "x" + std::to_string(kernel_w) + "|s" + std::to_string(stride) +
         "|p" + std::to_string(padding) + "|g" + std::to_string(groups) + "|" + NameOf(precision);
}

Result<KernelKey> KernelKey::Parse(const std::string& s) {
  auto fail = [&s](const Error& e) {
    return MakeError(e.WithContext("kernel key '" + s.substr(0, 200) + "'"));
  };
  const std::vector<std::string> f = Split(s, '|');
  if (f.size() != kKeyFields)
    return fail(Error(Errc::kParse,
                      "expected 8 fields kind|NxCxHxW|o<out>|k<h>x<w>|s<stride>|"
                      "p<pad>|g<groups>|<precision>, got " +
                          std::to_string(f.size())));
  KernelKey k;
  if (!ValidKind(f[0]))
    return fail(Error(Errc::kParse,
                      "kind must be 1-64 characters [a-z0-9_] starting with a letter, "
                      "got '" +
                          f[0] + "'"));
  k.kind = f[0];
  auto input = ParseDims(f[1], "input shape");
  if (!input) return fail(input.error());
  k.input = *input;
  if (auto st = ParsePrefixed(f[2], "o", "out channels", &k.out_channels); !st)
    return fail(st.error());
  const std::vector<std::string> window = Split(f[3].rfind('k', 0) == 0 ? f[3].substr(1) : "", 'x');
  if (window.size() != 2 || !ParseCount(window[0], &k.kernel_h) ||
      !ParseCount(window[1], &k.kernel_w))
    return fail(Error(Errc::kParse, "kernel must be 'k<h>x<w>', got '" + f[3] + "'"));
  if (auto st = ParsePrefixed(f[4], "s", "stride", &k.stride); !st) return fail(st.error());
  if (auto st = ParsePrefixed(f[5], "p", "padding", &k.padding); !st) return fail(st.error());
  if (auto st = ParsePrefixed(f[6], "g", "groups", &k.groups); !st) return fail(st.error());
  if (k.stride < 1) return fail(Error(Errc::kParse, "stride must be >= 1"));
  if (k.groups < 1) return fail(Error(Errc::kParse, "groups must be >= 1"));
  for (const auto& e : kPrecisions)
    if (f[7] == e.name) {
      k.precision = e.precision;
      return k;
    }
  return fail(
      Error(Errc::kParse, "precision must be fp32, fp16, int8 or int4, got '" + f[7] + "'"));
}

bool KernelKey::operator==(const KernelKey& o) const {
  return kind == o.kind && input == o.input && out_channels == o.out_channels &&
         kernel_h == o.kernel_h && kernel_w == o.kernel_w && stride == o.stride &&
         padding == o.padding && groups == o.groups && precision == o.precision;
}

bool KernelKey::operator<(const KernelKey& o) const { return ToString() < o.ToString(); }

}  // namespace hadmc::hal
