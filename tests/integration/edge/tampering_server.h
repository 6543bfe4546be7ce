// A tampered device listener for the sync tests: it forwards every request to the real cloud
// server and, for one chosen block, flips one byte of the answer (same length, same headers) on
// the first `corrupt_times` requests, or on every request when `corrupt_times` < 0. It presents
// the real server's certificate, as a compromised server would: TLS cannot tell it from the real
// one, only the block hashes in the signed manifest can.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "hadmc/net/https_client.h"
#include "hadmc/net/https_server.h"

namespace hadmc::edge::testing {

class TamperingServer {
 public:
  struct Options {
    std::string upstream_url;             // the real device listener
    net::HttpsClientOptions upstream_tls;  // a device certificate for it
    std::string cert_file, key_file;      // what this server presents
    std::string block_id;                 // the block to corrupt
    int corrupt_times = 1;                // < 0: always
  };

  static Result<std::unique_ptr<TamperingServer>> Start(const Options& options) {
    auto handler = std::make_shared<Handler>(options);
    auto server = net::HttpsServer::Create(2);
    if (!server) return MakeError(server.error());
    net::ListenerOptions l;
    l.name = "tampering";
    l.cert_file = options.cert_file;
    l.key_file = options.key_file;  // no client CA: any client is served
    auto port = (*server)->AddListener(l, handler);
    if (!port) return MakeError(port.error());
    (*server)->Start();
    return std::unique_ptr<TamperingServer>(
        new TamperingServer(std::move(*server), std::move(handler), *port));
  }
  ~TamperingServer() { server_->Stop(std::chrono::milliseconds(500)); }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // How many times a block was asked for (forwarded or not).
  int Requests(const std::string& block_id) const { return handler_->Requests(block_id); }
  int BlockRequests() const { return handler_->BlockRequests(); }

 private:
  class Handler : public net::RequestHandler {
   public:
    explicit Handler(Options o) : o_(std::move(o)) {}
    uint64_t BodyLimit(const net::HttpRequest&) const override { return 64 * 1024; }

    net::HttpResponse Handle(const net::HttpRequest& req) override {
      constexpr char kBlocks[] = "/v1/blocks/";
      const bool block = req.path.rfind(kBlocks, 0) == 0;
      int nth = 0;
      if (block) {
        std::lock_guard lock(mu_);
        nth = ++requests_[req.path.substr(sizeof kBlocks - 1)];
      }
      // A connection per request: simple, and Handle runs on several sessions at once.
      auto client = net::HttpsClient::Create(o_.upstream_url, o_.upstream_tls);
      if (!client) return net::HttpResponse::Error(502, client.error().String());
      net::HeaderList headers;
      for (const char* h : {"if-none-match", "range"})
        if (!req.Header(h).empty()) headers.push_back({h, req.Header(h)});
      auto r = (*client)->Request(req.method, req.target, req.body, headers);
      if (!r) return net::HttpResponse::Error(502, r.error().String());
      net::HttpResponse out;
      out.status = r->status;
      for (const auto& [name, value] : r->headers) {
        if (name == "content-type")
          out.content_type = value;
        else if (name != "content-length" && name != "connection" && name != "transfer-encoding")
          out.headers.push_back({name, value});
      }
      out.body = std::move(r->body);
      const bool tamper = o_.corrupt_times < 0 || nth <= o_.corrupt_times;
      if (block && req.path == kBlocks + o_.block_id && tamper && !out.body.empty())
        out.body[out.body.size() / 2] ^= 0x01;
      return out;
    }

    int Requests(const std::string& id) const {
      std::lock_guard lock(mu_);
      auto it = requests_.find(id);
      return it == requests_.end() ? 0 : it->second;
    }
    int BlockRequests() const {
      std::lock_guard lock(mu_);
      int n = 0;
      for (const auto& [id, count] : requests_) n += count;
      return n;
    }

   private:
    const Options o_;
    mutable std::mutex mu_;
    std::map<std::string, int> requests_;  // block id -> requests
  };

  TamperingServer(std::unique_ptr<net::HttpsServer> s, std::shared_ptr<Handler> h, uint16_t port)
      : server_(std::move(s)), handler_(std::move(h)), port_(port) {}

  std::unique_ptr<net::HttpsServer> server_;
  std::shared_ptr<Handler> handler_;
  uint16_t port_;
};

}  // namespace hadmc::edge::testing
