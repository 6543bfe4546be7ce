#include "hadmc/crypto/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace hadmc::crypto {
namespace {

// Fetched once: EVP_MD_fetch per call costs a provider lookup that shows up on 4 KiB inputs.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

struct Sha256Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Digest Sha256(std::string_view bytes) {
  Sha256Digest d{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, Sha256Md(), nullptr);
  return d;
}

std::string Sha256Hex(std::string_view bytes) { return ToHex(Sha256(bytes)); }

Sha256Hasher::Sha256Hasher() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(state_->ctx, Sha256Md(), nullptr);
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(state_->ctx); }

void Sha256Hasher::Update(std::string_view bytes) {
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

Sha256Digest Sha256Hasher::Final() {
  Sha256Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, d.data(), &len);
  return d;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string ToHex(const uint8_t* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

Result<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return MakeError(Errc::kParse, "hex string has odd length");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return MakeError(Errc::kParse, "not a hex string");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Result<std::string> RandomHex(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1)
    return MakeError(Errc::kInternal, "RAND_bytes failed");
  return ToHex(reinterpret_cast<const uint8_t*>(bytes.data()), n);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hadmc::crypto
