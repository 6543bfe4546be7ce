// Creating the cloud's key material and tokens: what `hadmc keys init`, `hadmc ca init`,
// `hadmc ca issue-device`, `hadmc token create` and the first `hadmc serve` do.
#pragma once

#include <string>
#include <vector>

#include "hadmc/crypto/certificates.h"
#include "hadmc/crypto/signing_key.h"
#include "hadmc/registry/registry.h"
#include "hadmc/server/state_dir.h"

namespace hadmc::server {

// Creates the Ed25519 signing key pair. Errc::kAlreadyExists when a key is there.
Result<crypto::SigningKey> InitSigningKey(const StateDir& dir);
// Creates the fleet CA. Errc::kAlreadyExists when one is there.
Status InitCa(const StateDir& dir);
// Issues a client certificate for device `id` (written under devices/) and registers the device.
// Precondition: the CA exists.
Status IssueDeviceCertificate(const StateDir& dir, registry::Registry& reg, const std::string& id,
                              const std::string& device_class, int days);
// Issues the server certificate for `names` (DNS names or IP addresses).
Status IssueServerCertificate(const StateDir& dir, const std::vector<std::string>& names);
// A new random admin token; only its SHA256 is stored. Returns the token.
Result<std::string> CreateAdminToken(registry::Registry& reg, const std::string& name);
// SHA256 hex of a bearer token, as stored.
std::string TokenHash(const std::string& token);

// What EnsureDevDefaults created, for the first-run message.
struct DevDefaults {
  std::vector<std::string> created;  // human descriptions
  std::string admin_token;           // set when a token was created now
};

// First `hadmc serve`: creates whatever is missing of signing key, CA, server certificate
// (localhost, 127.0.0.1, ::1) and an admin token (also written to admin.token, 0600).
Result<DevDefaults> EnsureDevDefaults(const StateDir& dir, registry::Registry& reg);

}  // namespace hadmc::server
