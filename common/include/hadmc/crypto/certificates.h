// The fleet's X.509 material: a self-managed CA, the server certificate and one client certificate
// per device (the device id is the certificate's subject CN). Keys are ECDSA P-256: small, fast
// to verify in TLS handshakes, and understood by every TLS client we test with (curl, wrk).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::crypto {

struct KeyAndCert {
  std::string key_pem;   // PKCS#8 private key
  std::string cert_pem;  // X.509 certificate
};

enum class CertRole { kServer, kClient };

struct CertRequest {
  std::string common_name;             // device id for a client certificate
  CertRole role = CertRole::kClient;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries (servers)
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries (servers)
  int days = 825;
};

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign) valid for `days`.
Result<KeyAndCert> CreateCa(const std::string& common_name, int days = 3650);

// A leaf certificate signed by `ca`, with extendedKeyUsage serverAuth or clientAuth.
// Precondition: request.common_name is non-empty.
Result<KeyAndCert> IssueCertificate(const KeyAndCert& ca, const CertRequest& request);

// The subject CN of a PEM certificate.
Result<std::string> CertificateCommonName(std::string_view cert_pem);

// True when `id` may name a device: 1-64 chars of [A-Za-z0-9._-], not starting with '.'.
// Device ids become certificate CNs, URL path segments and file names.
bool IsValidDeviceId(std::string_view id);

}  // namespace hadmc::crypto
