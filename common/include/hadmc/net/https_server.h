// An HTTPS server on Boost.Beast + OpenSSL (the implementation is the only place that includes
// Beast): async sessions, one strand each; TLS 1.2+ with AEAD ciphers only; a timeout before every
// handshake, read and write; per-route body limits; a cap on open connections; graceful drain.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hadmc/common/error.h"
#include "hadmc/net/http_message.h"

namespace hadmc::net {

// Serves requests of one listener. Called on the session's strand; may be called concurrently
// from several sessions.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // The largest body accepted for this request line, decided before the body is read.
  virtual uint64_t BodyLimit(const HttpRequest& head) const = 0;
  virtual HttpResponse Handle(const HttpRequest& req) = 0;
};

struct ListenerOptions {
  std::string name = "https";  // for logs and metrics: "device", "admin"
  std::string address = "127.0.0.1";
  uint16_t port = 0;           // 0 = any free port (see HttpsServer::AddListener's result)
  std::string cert_file;       // PEM server certificate (chain)
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA for client certificates; "" = no client certificates
  // With a client CA: answer requests without a verified certificate 401 (none) / 403 (wrong CA)
  // instead of passing them to the handler.
  bool require_client_cert = false;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};  // also the keep-alive idle limit
  std::chrono::milliseconds write_timeout{30'000};
  size_t max_connections = 1024;
  uint32_t max_header_bytes = 16 * 1024;
};

struct ServerStats {
  uint64_t accepted = 0;
  uint64_t rejected_over_limit = 0;  // connections closed because max_connections was reached
  uint64_t handshake_failures = 0;
  uint64_t requests = 0;
  uint64_t active_connections = 0;
};

class HttpsServer {
 public:
  // `threads` I/O threads run the sessions once Start() is called.
  static Result<std::unique_ptr<HttpsServer>> Create(int threads);
  virtual ~HttpsServer() = default;

  // Binds and listens; returns the bound port. Call before Start().
  virtual Result<uint16_t> AddListener(const ListenerOptions& options,
                                       std::shared_ptr<RequestHandler> handler) = 0;
  virtual void Start() = 0;
  // Stops accepting, lets in-flight requests finish (idle keep-alive connections are closed),
  // waits up to `grace` for sessions to end, then stops the I/O threads. Idempotent.
  virtual void Stop(std::chrono::milliseconds grace) = 0;
  virtual ServerStats Stats() const = 0;
};

}  // namespace hadmc::net
