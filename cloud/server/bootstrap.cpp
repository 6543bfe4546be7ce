#include "hadmc/server/bootstrap.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/sha256.h"

namespace hadmc::server {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<crypto::KeyAndCert> LoadCa(const StateDir& dir) {
  auto key = ReadFile(dir.CaKey());
  auto cert = ReadFile(dir.CaCert());
  if (!key || !cert)
    return MakeError(Errc::kNotFound, "no fleet CA in " + dir.root + " (run `hadmc ca init`)");
  return crypto::KeyAndCert{*key, *cert};
}

Status WritePair(const crypto::KeyAndCert& kc, const std::string& key_path,
                 const std::string& cert_path) {
  HADMC_TRY(WriteFileAtomically(key_path, kc.key_pem, 0600));
  return WriteFileAtomically(cert_path, kc.cert_pem, 0644);
}

}  // namespace

std::string TokenHash(const std::string& token) { return crypto::Sha256Hex(token); }

Result<crypto::SigningKey> InitSigningKey(const StateDir& dir) {
  HADMC_TRY(PrepareStateDir(dir));
  if (Exists(dir.SigningKey()))
    return MakeError(Errc::kAlreadyExists, "a signing key exists at " + dir.SigningKey());
  auto key = crypto::SigningKey::Generate();
  if (!key) return key;
  HADMC_TRY(key->Save(dir.SigningKey()));
  HADMC_TRY(WriteFileAtomically(dir.PublicKey(), key->Public().Pem(), 0644));
  return key;
}

Status InitCa(const StateDir& dir) {
  HADMC_TRY(PrepareStateDir(dir));
  if (Exists(dir.CaCert()))
    return MakeError(Errc::kAlreadyExists, "a fleet CA exists at " + dir.CaCert());
  auto ca = crypto::CreateCa("HAD-MC fleet CA");
  if (!ca) return MakeError(ca.error());
  return WritePair(*ca, dir.CaKey(), dir.CaCert());
}

Status IssueDeviceCertificate(const StateDir& dir, registry::Registry& reg, const std::string& id,
                              const std::string& device_class, int days) {
  if (!crypto::IsValidDeviceId(id))
    return MakeError(Errc::kInvalidArgument,
                     "device id '" + id + "' must be 1-64 chars of letters, digits, '.', '_', '-'");
  auto ca = LoadCa(dir);
  if (!ca) return MakeError(ca.error());
  auto cert = crypto::IssueCertificate(*ca, {id, crypto::CertRole::kClient, {}, {}, days});
  if (!cert) return MakeError(cert.error());
  HADMC_TRY(PrepareStateDir(dir));
  HADMC_TRY(WritePair(*cert, dir.DeviceKey(id), dir.DeviceCert(id)));
  return reg.RegisterDevice(id, device_class);
}

Status IssueServerCertificate(const StateDir& dir, const std::vector<std::string>& names) {
  auto ca = LoadCa(dir);
  if (!ca) return MakeError(ca.error());
  crypto::CertRequest req{names.empty() ? "localhost" : names.front(), crypto::CertRole::kServer,
                          {}, {}, 825};
  for (const auto& n : names) (IsIpAddress(n) ? req.ip_addresses : req.dns_names).push_back(n);
  auto cert = crypto::IssueCertificate(*ca, req);
  if (!cert) return MakeError(cert.error());
  return WritePair(*cert, dir.ServerKey(), dir.ServerCert());
}

Result<std::string> CreateAdminToken(registry::Registry& reg, const std::string& name) {
  auto token = crypto::RandomHex(32);
  if (!token) return token;
  const std::string full = "hadmc_" + *token;
  HADMC_TRY(reg.AddAdminToken(name, TokenHash(full)));
  return full;
}

Result<DevDefaults> EnsureDevDefaults(const StateDir& dir, registry::Registry& reg) {
  DevDefaults out;
  HADMC_TRY(PrepareStateDir(dir));
  if (!Exists(dir.SigningKey())) {
    auto key = InitSigningKey(dir);
    if (!key) return MakeError(key.error());
    out.created.push_back("manifest signing key " + dir.SigningKey());
  }
  if (!Exists(dir.CaCert())) {
    HADMC_TRY(InitCa(dir));
    out.created.push_back("fleet CA " + dir.CaCert());
  }
  if (!Exists(dir.ServerCert())) {
    HADMC_TRY(IssueServerCertificate(dir, {"localhost", "127.0.0.1", "::1"}));
    out.created.push_back("server certificate " + dir.ServerCert() + " (localhost, 127.0.0.1)");
  }
  if (!Exists(dir.AdminTokenFile())) {
    auto token = CreateAdminToken(reg, "dev-admin");
    if (!token) return MakeError(token.error());
    HADMC_TRY(WriteFileAtomically(dir.AdminTokenFile(), *token + "\n", 0600));
    out.admin_token = *token;
    out.created.push_back("admin token in " + dir.AdminTokenFile());
  }
  return out;
}

}  // namespace hadmc::server
