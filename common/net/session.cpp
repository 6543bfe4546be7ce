#include "session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <limits>

#include "hadmc/common/log.h"

namespace hadmc::net::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kShutdownTimeout{5000};
// An oversized body up to this size is read and dropped before the 413 goes out: closing a socket
// with unread data makes the kernel send a reset, and the client would never see the answer.
constexpr uint64_t kMaxDiscardBytes = 1 << 20;

// Beast's HTTP parse errors (bad method, bad target, bad header...), not transport errors.
bool IsParseError(const beast::error_code& ec) {
  return ec && ec.category() == beast::error_code(http::error::bad_target).category();
}

}  // namespace

Session::Session(asio::ip::tcp::socket&& socket, std::shared_ptr<ListenerState> state)
    : stream_(std::move(socket), *state->tls), state_(std::move(state)) {
  beast::error_code ec;
  const auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  remote_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  ++state_->counters->active;
  ++state_->active;
}

Session::~Session() {
  --state_->counters->active;
  --state_->active;
  std::lock_guard lock(state_->mu);
  state_->sessions.erase(this);
}

void Session::Run() {
  {
    std::lock_guard lock(state_->mu);
    state_->sessions[this] = weak_from_this();
  }
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::OnRun, shared_from_this()));
}

void Session::Drain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_ && !self->closing_) beast::get_lowest_layer(self->stream_).cancel();
  });
}

void Session::OnRun() {
  if (state_->draining) return;
  beast::get_lowest_layer(stream_).expires_after(state_->options.handshake_timeout);
  stream_.async_handshake(asio::ssl::stream_base::server,
                          beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
}

void Session::OnHandshake(beast::error_code ec) {
  if (ec) {
    ++state_->counters->handshake_failures;
    Log().warn("{} listener: TLS handshake from {} failed: {}", state_->options.name, remote_,
               ec.message());
    return;
  }
  InspectClientCertificate();
  DoReadHeader();
}

void Session::InspectClientCertificate() {
  if (state_->options.client_ca_file.empty()) return;
  SSL* ssl = stream_.native_handle();
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (!peer) {
    client_cert_ = ClientCert::kNone;
    return;
  }
  const long verdict = SSL_get_verify_result(ssl);
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  X509_free(peer);
  client_cn_ = cn;
  client_cert_ = verdict == X509_V_OK ? ClientCert::kVerified : ClientCert::kUntrusted;
  if (client_cert_ == ClientCert::kUntrusted)
    Log().warn("{} listener: client certificate CN='{}' from {} not trusted: {}",
               state_->options.name, client_cn_, remote_,
               X509_verify_cert_error_string(verdict));
}

void Session::DoReadHeader() {
  busy_ = false;
  parser_.emplace();
  parser_->header_limit(state_->options.max_header_bytes);
  // The route's limit is applied once the header is known (OnReadHeader); until then Beast must
  // not judge Content-Length against its 1 MB default.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::get_lowest_layer(stream_).expires_after(state_->options.read_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
}

HttpRequest Session::RequestFromParser() const {
  const auto& msg = parser_->get();
  HttpRequest r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = ParseQuery(r.target.substr(q + 1));
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  r.remote = remote_;
  r.client_cert = client_cert_;
  r.client_cn = client_cn_;
  return r;
}

void Session::OnReadHeader(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return DoClose();
  if (ec == http::error::header_limit) {
    busy_ = true;
    return Respond(HttpResponse::Error(431, "request header too large"));
  }
  if (IsParseError(ec)) {
    busy_ = true;
    Log().warn("{} listener: malformed request header from {}: {}", state_->options.name,
               remote_, ec.message());
    return Respond(HttpResponse::Error(400, "malformed HTTP request"));
  }
  if (ec) return;  // timeout, reset, drain: the connection just ends
  busy_ = true;
  const uint64_t limit = state_->handler->BodyLimit(RequestFromParser());
  oversized_ = false;
  if (const auto length = parser_->content_length(); length && *length > limit) {
    if (*length > kMaxDiscardBytes)
      return Respond(HttpResponse::Error(413, "request body of " + std::to_string(*length) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(limit)));
    oversized_ = true;
    parser_->body_limit(*length);
  } else {
    parser_->body_limit(limit);
  }
  if (parser_->is_done()) return OnReadBody({}, 0);
  beast::get_lowest_layer(stream_).expires_after(state_->options.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session::OnReadBody, shared_from_this()));
}

void Session::OnReadBody(beast::error_code ec, std::size_t) {
  if (ec == http::error::body_limit || (!ec && oversized_)) {
    Log().warn("{} listener: refused an oversized body from {}", state_->options.name, remote_);
    HttpResponse r = HttpResponse::Error(413, "request body exceeds the limit");
    r.close = true;
    return Respond(std::move(r));
  }
  if (IsParseError(ec)) {
    Log().warn("{} listener: malformed request from {}: {}", state_->options.name, remote_,
               ec.message());
    return Respond(HttpResponse::Error(400, "malformed HTTP request"));
  }
  if (ec) return;
  ++state_->counters->requests;
  HttpRequest req = RequestFromParser();
  req.body = std::move(parser_->get().body());
  const auto& opt = state_->options;
  if (opt.require_client_cert && client_cert_ != ClientCert::kVerified) {
    const bool none = client_cert_ == ClientCert::kNone;
    Log().warn("{} listener: refused {} {} from {}: {}", opt.name, req.method, req.path, remote_,
               none ? "no client certificate" : "client certificate not issued by the fleet CA");
    return Respond(none ? HttpResponse::Error(401, "client certificate required")
                        : HttpResponse::Error(403, "client certificate not trusted"));
  }
  HttpResponse response;
  try {
    response = state_->handler->Handle(req);
  } catch (const std::exception& e) {
    Log().error("{} listener: handler for {} {} threw: {}", opt.name, req.method, req.path,
                e.what());
    response = HttpResponse::Error(500, "internal error");
  }
  Respond(std::move(response));
}

void Session::Respond(HttpResponse r) {
  const bool keep_alive = parser_ && parser_->is_header_done() && parser_->get().keep_alive() &&
                          parser_->is_done() && !r.close && !state_->draining;
  response_ = std::make_shared<http::response<http::string_body>>();
  auto& res = *response_;
  res.version(11);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  beast::get_lowest_layer(stream_).expires_after(state_->options.write_timeout);
  http::async_write(stream_, res,
                    beast::bind_front_handler(&Session::OnWrite, shared_from_this(), !keep_alive));
}

void Session::OnWrite(bool close, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (close || state_->draining) return DoClose();
  DoReadHeader();
}

void Session::DoClose() {
  closing_ = true;
  // A TLS shutdown waits for the peer's close_notify; an idle client may never send it, so a
  // drain waits only briefly.
  beast::get_lowest_layer(stream_).expires_after(
      state_->draining ? std::chrono::milliseconds(250) : kShutdownTimeout);
  stream_.async_shutdown(beast::bind_front_handler(&Session::OnShutdown, shared_from_this()));
}

void Session::OnShutdown(beast::error_code) {}  // the socket closes when the session is freed

}  // namespace hadmc::net::detail
