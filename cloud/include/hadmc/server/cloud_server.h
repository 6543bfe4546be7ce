// The cloud HTTPS server: a device listener (mTLS, client certificates from the fleet CA) and an
// admin listener (bearer tokens), serving the REST API in docs/api.md.
#pragma once

#include <chrono>
#include <memory>

#include "hadmc/common/error.h"
#include "hadmc/server/cloud_config.h"

namespace hadmc::server {

class CloudServer {
 public:
  // Opens the registry and block store under config.state_dir, loads the TLS material and
  // publisher keys, binds both listeners and starts serving. Ports 0 pick free ports.
  static Result<std::unique_ptr<CloudServer>> Start(const CloudConfig& config);
  virtual ~CloudServer() = default;

  virtual uint16_t device_port() const = 0;
  virtual uint16_t admin_port() const = 0;
  // Stops accepting, lets in-flight requests finish for up to config.drain_timeout_ms.
  virtual void Stop() = 0;
};

}  // namespace hadmc::server
