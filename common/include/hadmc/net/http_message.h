// Plain HTTP request/response values: what route handlers see. No Beast types cross this line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hadmc::net {

// What the TLS handshake learned about the client's certificate.
enum class ClientCert {
  kNone,       // no certificate presented
  kUntrusted,  // presented, but not issued by the listener's client CA (or expired, ...)
  kVerified,   // chains to the client CA; `client_cn` names the device
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path + query as sent
  std::string path;    // percent-decoding is NOT applied: ids are plain ASCII
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote;  // "ip:port"
  ClientCert client_cert = ClientCert::kNone;
  std::string client_cn;

  // The header value, or "" when absent. `name` must be lower case.
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after this response

  // {"error": message} with the given status.
  static HttpResponse Error(int status, const std::string& message);
};

// Escapes a string for inclusion in a JSON string literal.
std::string JsonEscape(const std::string& s);

// Splits "a=1&b=two" (no percent-decoding beyond '+' -> ' ').
std::map<std::string, std::string> ParseQuery(const std::string& query);

}  // namespace hadmc::net
