#include "hadmc/net/router.h"

namespace hadmc::net {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 1;  // paths start with '/'
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

bool Match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
           PathParams* params) {
  if (pattern.size() != path.size()) return false;
  PathParams captured;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (path[i].empty()) return false;
      captured[p.substr(1, p.size() - 2)] = path[i];
    } else if (p != path[i]) {
      return false;
    }
  }
  if (params) *params = std::move(captured);
  return true;
}

}  // namespace

void Router::Add(const std::string& method, const std::string& pattern, uint64_t body_limit,
                 RouteHandler handler) {
  routes_.push_back({method, pattern, Split(pattern), body_limit, std::move(handler)});
}

const Router::Route* Router::Find(const std::string& method, const std::string& path,
                                  PathParams* params, bool* path_known) const {
  if (path.empty() || path[0] != '/') return nullptr;
  const auto segments = Split(path);
  for (const auto& r : routes_) {
    if (!Match(r.segments, segments, nullptr)) continue;
    if (path_known) *path_known = true;
    if (r.method == method && Match(r.segments, segments, params)) return &r;
  }
  return nullptr;
}

uint64_t Router::BodyLimit(const std::string& method, const std::string& path,
                           uint64_t fallback) const {
  const Route* r = Find(method, path, nullptr, nullptr);
  return r ? r->body_limit : fallback;
}

std::string Router::PatternFor(const std::string& method, const std::string& path) const {
  const Route* r = Find(method, path, nullptr, nullptr);
  return r ? r->pattern : "";
}

HttpResponse Router::Dispatch(const HttpRequest& req) const {
  PathParams params;
  bool path_known = false;
  const Route* r = Find(req.method, req.path, &params, &path_known);
  if (!r) {
    return path_known ? HttpResponse::Error(405, "method " + req.method + " not allowed here")
                      : HttpResponse::Error(404, "no such endpoint");
  }
  return r->handler(req, params);
}

}  // namespace hadmc::net
