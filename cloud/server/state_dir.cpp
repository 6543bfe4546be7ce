#include "hadmc/server/state_dir.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace hadmc::server {

std::string DefaultStateDir() {
  const char* env = std::getenv("HADMC_STATE_DIR");
  return env && *env ? env : "./hadmc-state";
}

Status PrepareStateDir(const StateDir& dir) {
  std::error_code ec;
  for (const char* sub : {"", "/store", "/keys", "/ca", "/tls", "/devices"}) {
    std::filesystem::create_directories(dir.root + sub, ec);
    if (ec) return MakeError(Errc::kIo, "creating " + dir.root + sub + ": " + ec.message());
  }
  ::chmod((dir.root + "/keys").c_str(), 0700);
  ::chmod((dir.root + "/ca").c_str(), 0700);
  return {};
}

}  // namespace hadmc::server
