// Private to cloud/server: a listener's RequestHandler: body limits from the router, bearer-token
// checks on the admin listener, per-device rate limits on the device listener, and per-route
// metrics.
#pragma once

#include "cloud_context.h"

namespace hadmc::server {

class ApiHandler : public net::RequestHandler {
 public:
  enum class Auth { kClientCertificate, kBearerToken };
  ApiHandler(std::string name, Auth auth, net::Router router, CloudContext& ctx)
      : name_(std::move(name)), auth_(auth), router_(std::move(router)), ctx_(ctx) {}

  uint64_t BodyLimit(const net::HttpRequest& head) const override;
  net::HttpResponse Handle(const net::HttpRequest& req) override;

 private:
  // nullopt when the request may proceed.
  std::optional<net::HttpResponse> CheckToken(const net::HttpRequest& req);
  // The device's token bucket for `route` (blocks or the rest); 429 + Retry-After when empty.
  std::optional<net::HttpResponse> CheckRate(const net::HttpRequest& req, const std::string& route);

  std::string name_;
  Auth auth_;
  net::Router router_;
  CloudContext& ctx_;
};

}  // namespace hadmc::server
