// Maps (method, path pattern) to a handler. Patterns are literal segments and {name} captures:
// "/v1/blocks/{id}". Unknown paths get 404, known paths with another method 405.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hadmc/net/http_message.h"

namespace hadmc::net {

using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

class Router {
 public:
  // `body_limit` bounds the request body for this route (0 = no body allowed).
  void Add(const std::string& method, const std::string& pattern, uint64_t body_limit,
           RouteHandler handler);

  // The body limit of the route matching the request line; `fallback` when none matches (the
  // request will be answered 404/405 anyway, but its body must still be read or refused).
  uint64_t BodyLimit(const std::string& method, const std::string& path, uint64_t fallback) const;
  HttpResponse Dispatch(const HttpRequest& req) const;
  // The pattern that serves `path` ("" when none): a low-cardinality label for metrics.
  std::string PatternFor(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    uint64_t body_limit;
    RouteHandler handler;
  };
  // The route for method + path; sets *path_known when some route has that path.
  const Route* Find(const std::string& method, const std::string& path, PathParams* params,
                    bool* path_known) const;
  std::vector<Route> routes_;
};

}  // namespace hadmc::net
