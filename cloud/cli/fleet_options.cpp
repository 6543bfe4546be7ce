#include "fleet_options.h"

#include <cstdlib>

#include "commands.h"
#include "hadmc/common/atomic_file.h"

namespace hadmc::cli {

void AddStateDirOption(CLI::App* cmd, std::string& state_dir) {
  state_dir = server::DefaultStateDir();
  cmd->add_option("--state-dir", state_dir,
                  "cloud state directory (default: $HADMC_STATE_DIR or ./hadmc-state)");
}

void AddRemoteOptions(CLI::App* cmd, RemoteOptions& remote) {
  cmd->add_option("--server", remote.server,
                  "admin URL of a running server, e.g. https://127.0.0.1:8444 "
                  "(default: work on the local state directory)");
  cmd->add_option("--token", remote.token,
                  "admin token (default: $HADMC_TOKEN, else <state-dir>/admin.token)");
  cmd->add_option("--ca", remote.ca_file, "CA that signed the server (default: <state-dir>/ca/ca.crt)");
}

server::StateDir OpenStateDir(const std::string& state_dir) {
  server::StateDir dir{state_dir};
  if (auto s = server::PrepareStateDir(dir); !s) Fail(s.error().message());
  return dir;
}

std::unique_ptr<registry::Registry> OpenRegistry(const server::StateDir& dir) {
  auto reg = registry::OpenSqliteRegistry(dir.RegistryDb());
  if (!reg) Fail(reg.error().message());
  return std::move(*reg);
}

std::unique_ptr<net::HttpsClient> AdminClient(const RemoteOptions& remote,
                                              const server::StateDir& dir, std::string* token) {
  *token = remote.token;
  if (token->empty()) {
    if (const char* env = std::getenv("HADMC_TOKEN"); env && *env) *token = env;
  }
  if (token->empty()) {
    auto file = ReadFile(dir.AdminTokenFile());
    if (!file) Fail("no admin token: pass --token, set HADMC_TOKEN or create " + dir.AdminTokenFile());
    *token = file->substr(0, file->find_first_of("\r\n"));
  }
  net::HttpsClientOptions options;
  options.ca_file = remote.ca_file.empty() ? dir.CaCert() : remote.ca_file;
  options.timeout = std::chrono::seconds(120);
  auto client = net::HttpsClient::Create(remote.server, options);
  if (!client) Fail(client.error().message(), 2);
  return std::move(*client);
}

nlohmann::json CheckedJson(const Result<net::HttpsResult>& r, int expected, const std::string& what) {
  if (!r) Fail(what + ": " + r.error().message());
  const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != expected) {
    const std::string msg = j.is_object() && j.contains("error") ? j["error"].dump() : r->body;
    Fail(what + ": HTTP " + std::to_string(r->status) + ": " + msg);
  }
  return j;
}

}  // namespace hadmc::cli
