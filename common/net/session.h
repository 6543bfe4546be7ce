// Private to common/net: one TLS connection serving HTTP/1.1 requests one at a time, on its own
// strand (the Beast server-flex shape: Run -> handshake -> read header -> read body -> handle ->
// write -> read ... -> TLS shutdown).
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>

#include "listener_state.h"

namespace hadmc::net::detail {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ListenerState> state);
  ~Session();
  void Run();
  // Called during a drain: closes the connection now if it is between requests.
  void Drain();

 private:
  void OnRun();
  void OnHandshake(boost::beast::error_code ec);
  void DoReadHeader();
  void OnReadHeader(boost::beast::error_code ec, std::size_t);
  void OnReadBody(boost::beast::error_code ec, std::size_t);
  void Respond(HttpResponse response);
  void OnWrite(bool close, boost::beast::error_code ec, std::size_t);
  void DoClose();
  void OnShutdown(boost::beast::error_code ec);
  void InspectClientCertificate();
  HttpRequest RequestFromParser() const;

  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<ListenerState> state_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<boost::beast::http::response<boost::beast::http::string_body>> response_;
  std::string remote_;
  ClientCert client_cert_ = ClientCert::kNone;
  std::string client_cn_;
  bool busy_ = false;  // a request is being read, handled or answered
  bool closing_ = false;
  bool oversized_ = false;  // the body is being read only to be dropped
};

}  // namespace hadmc::net::detail
