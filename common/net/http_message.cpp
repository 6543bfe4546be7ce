#include "hadmc/net/http_message.h"

#include <cstdio>

namespace hadmc::net {

std::string JsonEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

HttpResponse HttpResponse::Error(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"error\":\"" + JsonEscape(message) + "\"}";
  return r;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at <= query.size()) {
    size_t amp = query.find('&', at);
    if (amp == std::string::npos) amp = query.size();
    const std::string part = query.substr(at, amp - at);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      std::string key = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
      for (auto& c : value)
        if (c == '+') c = ' ';
      out[key] = value;
    }
    at = amp + 1;
  }
  return out;
}

}  // namespace hadmc::net
