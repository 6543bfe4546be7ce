// A synchronous HTTPS/1.1 client with keep-alive: the CLI's uploads, the edge daemon's fetches and
// the integration tests. Verifies the server certificate against a CA file and the host name;
// presents a client certificate when configured (mTLS).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::net {

struct HttpsClientOptions {
  std::string ca_file;    // PEM CA that signed the server certificate ("" = system roots)
  std::string cert_file;  // client certificate for mTLS ("" = none)
  std::string key_file;
  std::chrono::milliseconds timeout{30'000};  // per connect, handshake, write and read
};

struct HttpsResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpsClient {
 public:
  // `base_url` is "https://host:port" (no path).
  static Result<std::unique_ptr<HttpsClient>> Create(const std::string& base_url,
                                                     const HttpsClientOptions& options);
  virtual ~HttpsClient() = default;
  // Sends one request on the kept-alive connection (reconnecting once if the server closed it).
  // Any HTTP status is a result; transport and TLS failures are errors.
  virtual Result<HttpsResult> Request(const std::string& method, const std::string& target,
                                      const std::string& body = "",
                                      const HeaderList& headers = {}) = 0;
};

}  // namespace hadmc::net
