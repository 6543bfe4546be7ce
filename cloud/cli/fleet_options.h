// Options shared by the fleet commands (publish, versions, rollout, ca, token, keys, serve):
// the state directory, and for commands that can talk to a running server, where it is and how
// to authenticate.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hadmc/net/https_client.h"
#include "hadmc/registry/registry.h"
#include "hadmc/server/state_dir.h"

namespace hadmc::cli {

struct RemoteOptions {
  std::string server;      // "" = work on the local state directory
  std::string token;       // "" = $HADMC_TOKEN, else <state>/admin.token
  std::string ca_file;     // "" = <state>/ca/ca.crt
};

// Adds --state-dir (default $HADMC_STATE_DIR or ./hadmc-state).
void AddStateDirOption(CLI::App* cmd, std::string& state_dir);
// Adds --server, --token, --ca.
void AddRemoteOptions(CLI::App* cmd, RemoteOptions& remote);

server::StateDir OpenStateDir(const std::string& state_dir);
// The local registry, or Fail().
std::unique_ptr<registry::Registry> OpenRegistry(const server::StateDir& dir);
// The JSON body of an admin call that must answer `expected`, or Fail() with `what`, the status
// and the server's {"error"} message.
nlohmann::json CheckedJson(const Result<net::HttpsResult>& r, int expected, const std::string& what);
// An admin client for remote.server with its token, or Fail().
std::unique_ptr<net::HttpsClient> AdminClient(const RemoteOptions& remote,
                                              const server::StateDir& dir, std::string* token);

}  // namespace hadmc::cli
