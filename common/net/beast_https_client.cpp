#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "hadmc/net/https_client.h"
#include "tls_context.h"

namespace hadmc::net {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

constexpr uint64_t kMaxResponseBytes = 1ull << 30;

class BeastHttpsClient : public HttpsClient {
 public:
  BeastHttpsClient(std::string host, std::string port, std::shared_ptr<ssl::context> tls,
                   std::chrono::milliseconds timeout)
      : host_(std::move(host)), port_(std::move(port)), tls_(std::move(tls)), timeout_(timeout) {}

  ~BeastHttpsClient() override {
    if (stream_) {
      beast::error_code ec;
      beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  Result<HttpsResult> Request(const std::string& method, const std::string& target,
                              const std::string& body, const HeaderList& headers) override {
    const bool reused = stream_.has_value();
    auto r = Attempt(method, target, body, headers);
    if (!r && reused) {  // the server may have closed an idle keep-alive connection
      stream_.reset();
      r = Attempt(method, target, body, headers);
    }
    if (!r) stream_.reset();
    return r;
  }

 private:
  Status Connect() {
    stream_.emplace(ioc_, *tls_);
    beast::error_code ec;
    SSL_set_tlsext_host_name(stream_->native_handle(), host_.c_str());
    stream_->set_verify_callback(ssl::host_name_verification(host_));
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return MakeError(Errc::kIo, "resolving " + host_ + ": " + ec.message());
    beast::get_lowest_layer(*stream_).expires_after(timeout_);
    beast::get_lowest_layer(*stream_).connect(endpoints, ec);
    if (ec) return MakeError(Errc::kIo, "connecting to " + host_ + ":" + port_ + ": " + ec.message());
    stream_->handshake(ssl::stream_base::client, ec);
    if (ec) return MakeError(Errc::kIo, "TLS handshake with " + host_ + ": " + ec.message());
    return {};
  }

  Result<HttpsResult> Attempt(const std::string& method, const std::string& target,
                              const std::string& body, const HeaderList& headers) {
    if (!stream_) HADMC_TRY(Connect());
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "hadmc");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    beast::get_lowest_layer(*stream_).expires_after(timeout_);
    http::write(*stream_, req, ec);
    if (ec) return MakeError(Errc::kIo, method + " " + target + ": write: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    beast::get_lowest_layer(*stream_).expires_after(timeout_);
    http::read(*stream_, buffer_, parser, ec);
    if (ec) return MakeError(Errc::kIo, method + " " + target + ": read: " + ec.message());
    auto& res = parser.get();
    HttpsResult out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  std::string host_, port_;
  std::shared_ptr<ssl::context> tls_;
  std::chrono::milliseconds timeout_;
  asio::io_context ioc_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(const std::string& base_url,
                                                         const HttpsClientOptions& options) {
  constexpr char kScheme[] = "https://";
  if (base_url.rfind(kScheme, 0) != 0)
    return MakeError(Errc::kInvalidArgument, "server URL must start with https://: " + base_url);
  std::string hostport = base_url.substr(sizeof kScheme - 1);
  while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
  if (hostport.find('/') != std::string::npos)
    return MakeError(Errc::kInvalidArgument, "server URL must not have a path: " + base_url);
  std::string host = hostport, port = "443";
  if (const auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  auto tls = detail::MakeClientContext(options.ca_file, options.cert_file, options.key_file);
  if (!tls) return MakeError(tls.error());
  return std::unique_ptr<HttpsClient>(new BeastHttpsClient(host, port, *tls, options.timeout));
}

}  // namespace hadmc::net
