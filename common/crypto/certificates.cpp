#include "hadmc/crypto/certificates.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "openssl_util.h"

namespace hadmc::crypto {
namespace {

Result<EvpPkey> NewP256Key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) return MakeError(Errc::kInternal, "generating a P-256 key: " + OpensslErrors());
  return EvpPkey(k);
}

std::string KeyPem(EVP_PKEY* k) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio.get());
}

std::string CertPem(X509* c) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), c);
  return BioString(bio.get());
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return MakeError(Errc::kInternal, "extension " + value + ": " + OpensslErrors());
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return MakeError(Errc::kInternal, "adding extension: " + OpensslErrors());
  return {};
}

// A certificate with a random 159-bit serial, subject CN, validity and public key set.
Result<X509Ptr> NewCertificate(const std::string& cn, EVP_PKEY* key, int days) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[20];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("HAD-MC fleet"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1)
    return MakeError(Errc::kInvalidArgument, "subject CN '" + cn + "': " + OpensslErrors());
  return cert;
}

Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0)
    return MakeError(Errc::kInternal, "signing certificate: " + OpensslErrors());
  return {};
}

}  // namespace

Result<KeyAndCert> CreateCa(const std::string& common_name, int days) {
  auto key = NewP256Key();
  if (!key) return MakeError(key.error());
  auto cert = NewCertificate(common_name, key->get(), days);
  if (!cert) return MakeError(cert.error());
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  HADMC_TRY(AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  HADMC_TRY(AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  HADMC_TRY(AddExtension(c, c, NID_subject_key_identifier, "hash"));
  HADMC_TRY(Sign(c, key->get()));
  return KeyAndCert{KeyPem(key->get()), CertPem(c)};
}

Result<KeyAndCert> IssueCertificate(const KeyAndCert& ca, const CertRequest& request) {
  if (request.common_name.empty())
    return MakeError(Errc::kInvalidArgument, "certificate common name is empty");
  Bio cert_bio(BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size())));
  X509Ptr ca_cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  Bio key_bio(BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size())));
  EvpPkey ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ca_cert || !ca_key)
    return MakeError(Errc::kParse, "reading the CA certificate and key: " + OpensslErrors());
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1)
    return MakeError(Errc::kInvalidArgument, "the CA key does not match the CA certificate");

  auto key = NewP256Key();
  if (!key) return MakeError(key.error());
  auto cert = NewCertificate(request.common_name, key->get(), request.days);
  if (!cert) return MakeError(cert.error());
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert.get()));
  const bool server = request.role == CertRole::kServer;
  HADMC_TRY(AddExtension(c, ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  HADMC_TRY(AddExtension(c, ca_cert.get(), NID_key_usage, "critical,digitalSignature"));
  HADMC_TRY(AddExtension(c, ca_cert.get(), NID_ext_key_usage,
                         server ? "serverAuth" : "clientAuth"));
  HADMC_TRY(AddExtension(c, ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  std::string san;
  for (const auto& d : request.dns_names) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  for (const auto& ip : request.ip_addresses) san += (san.empty() ? "" : ",") + ("IP:" + ip);
  if (!san.empty()) HADMC_TRY(AddExtension(c, ca_cert.get(), NID_subject_alt_name, san));
  HADMC_TRY(Sign(c, ca_key.get()));
  return KeyAndCert{KeyPem(key->get()), CertPem(c)};
}

Result<std::string> CertificateCommonName(std::string_view cert_pem) {
  Bio bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return MakeError(Errc::kParse, "not a PEM certificate: " + OpensslErrors());
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn,
                                sizeof cn) < 0)
    return MakeError(Errc::kNotFound, "certificate has no subject CN");
  return std::string(cn);
}

bool IsValidDeviceId(std::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] == '.') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace hadmc::crypto
