// Ed25519 keys for signing manifests (OpenSSL EVP_PKEY_ED25519). The publisher holds the private
// key; the cloud server and every device hold the public key and refuse manifests it did not sign.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "hadmc/common/error.h"

namespace hadmc::crypto {

namespace detail {
struct PkeyHandle;  // owns an EVP_PKEY*
}

// The public half: verifies signatures.
class VerifyKey {
 public:
  // From a PEM "PUBLIC KEY" block holding an Ed25519 key.
  static Result<VerifyKey> FromPem(std::string_view pem);
  static Result<VerifyKey> Load(const std::string& path);

  // True only for a valid 64-byte signature of `message` by this key.
  bool Verify(std::string_view message, std::string_view signature) const;
  std::string Pem() const;
  // First 16 hex chars of SHA256(raw 32-byte public key): names the key inside a manifest.
  const std::string& KeyId() const { return key_id_; }

 private:
  std::shared_ptr<detail::PkeyHandle> key_;
  std::string key_id_;
};

// The private half: signs.
class SigningKey {
 public:
  static Result<SigningKey> Generate();
  // From a PEM "PRIVATE KEY" block holding an Ed25519 key.
  static Result<SigningKey> FromPem(std::string_view pem);
  static Result<SigningKey> Load(const std::string& path);
  // Writes the private key with mode 0600; refuses to overwrite an existing file.
  Status Save(const std::string& path) const;

  // The 64-byte Ed25519 signature of `message`.
  Result<std::string> Sign(std::string_view message) const;
  const VerifyKey& Public() const { return public_; }
  std::string Pem() const;

 private:
  std::shared_ptr<detail::PkeyHandle> key_;
  VerifyKey public_;
};

}  // namespace hadmc::crypto
