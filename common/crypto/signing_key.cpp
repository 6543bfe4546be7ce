#include "hadmc/crypto/signing_key.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/sha256.h"
#include "openssl_util.h"

namespace hadmc::crypto {

namespace detail {
struct PkeyHandle {
  explicit PkeyHandle(EVP_PKEY* k) : pkey(k) {}
  ~PkeyHandle() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey;
};
}  // namespace detail

namespace {

Result<std::shared_ptr<detail::PkeyHandle>> CheckEd25519(EVP_PKEY* k, const std::string& what) {
  if (!k) return MakeError(Errc::kParse, what + ": not a PEM key (" + OpensslErrors() + ")");
  auto handle = std::make_shared<detail::PkeyHandle>(k);
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
    return MakeError(Errc::kUnsupported, what + ": not an Ed25519 key");
  return handle;
}

std::string RawPublicKey(EVP_PKEY* k) {
  std::string raw(32, '\0');
  size_t len = raw.size();
  EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(raw.data()), &len);
  raw.resize(len);
  return raw;
}

}  // namespace

Result<VerifyKey> VerifyKey::FromPem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  auto k = CheckEd25519(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), "public key");
  if (!k) return MakeError(k.error());
  VerifyKey v;
  v.key_ = *k;
  v.key_id_ = Sha256Hex(RawPublicKey(v.key_->pkey)).substr(0, 16);
  return v;
}

Result<VerifyKey> VerifyKey::Load(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem) return MakeError(pem.error());
  auto k = FromPem(*pem);
  if (!k) return MakeError(k.error().WithContext(path));
  return k;
}

bool VerifyKey::Verify(std::string_view message, std::string_view signature) const {
  if (!key_ || signature.size() != 64) return false;
  EvpMdCtx ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string VerifyKey::Pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_->pkey);
  return BioString(bio.get());
}

Result<SigningKey> SigningKey::Generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) return MakeError(Errc::kInternal, "generating an Ed25519 key: " + OpensslErrors());
  auto pem = [&] {
    Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    return BioString(bio.get());
  }();
  EVP_PKEY_free(k);
  return FromPem(pem);
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  auto k =
      CheckEd25519(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), "private key");
  if (!k) return MakeError(k.error());
  Bio pub(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(pub.get(), (*k)->pkey);
  auto v = VerifyKey::FromPem(BioString(pub.get()));
  if (!v) return MakeError(v.error());
  SigningKey s;
  s.key_ = *k;
  s.public_ = std::move(*v);
  return s;
}

Result<SigningKey> SigningKey::Load(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem) return MakeError(pem.error());
  auto k = FromPem(*pem);
  if (!k) return MakeError(k.error().WithContext(path));
  return k;
}

Status SigningKey::Save(const std::string& path) const {
  return WriteFileAtomically(path, Pem(), 0600, Overwrite::kRefuse);
}

std::string SigningKey::Pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_->pkey, nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio.get());
}

Result<std::string> SigningKey::Sign(std::string_view message) const {
  EvpMdCtx ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return MakeError(Errc::kInternal, "Ed25519 signing failed: " + OpensslErrors());
  sig.resize(len);
  return sig;
}

}  // namespace hadmc::crypto
