// Where the cloud keeps its state: one directory shared by `hadmc publish/rollout/ca/token/keys`
// and `hadmc serve`. Default: $HADMC_STATE_DIR, else ./hadmc-state.
//
//   registry.db          SQLite registry (models, versions, rollouts, devices, tokens)
//   store/objects/ab/…   content-addressed blocks
//   keys/signing.key     Ed25519 manifest signing key (0600); keys/signing.pub its public half
//   ca/ca.crt, ca.key    fleet CA (signs the server and device certificates)
//   tls/server.crt, key  the server's certificate (localhost, 127.0.0.1, ::1)
//   devices/<id>.crt,key device client certificates issued by `hadmc ca issue-device`
//   admin.token          the admin token created by the first `hadmc serve` (0600)
#pragma once

#include <string>

#include "hadmc/common/error.h"

namespace hadmc::server {

struct StateDir {
  std::string root;

  std::string RegistryDb() const { return root + "/registry.db"; }
  std::string Store() const { return root + "/store"; }
  std::string SigningKey() const { return root + "/keys/signing.key"; }
  std::string PublicKey() const { return root + "/keys/signing.pub"; }
  std::string CaCert() const { return root + "/ca/ca.crt"; }
  std::string CaKey() const { return root + "/ca/ca.key"; }
  std::string ServerCert() const { return root + "/tls/server.crt"; }
  std::string ServerKey() const { return root + "/tls/server.key"; }
  std::string DeviceCert(const std::string& id) const { return root + "/devices/" + id + ".crt"; }
  std::string DeviceKey(const std::string& id) const { return root + "/devices/" + id + ".key"; }
  std::string AdminTokenFile() const { return root + "/admin.token"; }
};

// $HADMC_STATE_DIR if set, else "./hadmc-state".
std::string DefaultStateDir();

// Creates the directory and its subdirectories (keys and ca are 0700).
Status PrepareStateDir(const StateDir& dir);

}  // namespace hadmc::server
