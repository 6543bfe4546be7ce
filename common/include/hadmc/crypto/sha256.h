// SHA256 through OpenSSL's EVP interface (which picks the SHA-NI/AVX2 code path at run time).
// Block ids, manifest hashes and token hashes are all lower-case hex SHA256 strings.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hadmc/common/error.h"

namespace hadmc::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

// One-shot hash of `bytes`.
Sha256Digest Sha256(std::string_view bytes);
// One-shot hash as 64 lower-case hex characters.
std::string Sha256Hex(std::string_view bytes);

// Incremental hashing for data that arrives in pieces (a file read in chunks).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view bytes);
  // Finishes the hash; the hasher may not be updated afterwards.
  Sha256Digest Final();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// True when `s` is exactly 64 lower-case hex characters: the only shape a block id may have.
// Anything else ("../x", upper case, 63 chars) is rejected before it reaches a file path.
bool IsSha256Hex(std::string_view s);

std::string ToHex(const uint8_t* data, size_t n);
inline std::string ToHex(const Sha256Digest& d) { return ToHex(d.data(), d.size()); }
// Lower- or upper-case hex to bytes; an error for odd length or a non-hex character.
Result<std::string> FromHex(std::string_view hex);

// `n` bytes from the OS CSPRNG (RAND_bytes), as hex: tokens and unique names.
Result<std::string> RandomHex(size_t n);

// Constant-time comparison of two equal-length strings (false when lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace hadmc::crypto
