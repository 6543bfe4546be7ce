// Private to common/net: accepts TCP connections for one ListenerOptions and starts a Session on
// a fresh strand for each, refusing connections beyond max_connections.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "listener_state.h"

namespace hadmc::net::detail {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<ListenerState> state);
  Result<uint16_t> Bind();
  void Start();
  // Closes the acceptor and asks every idle session to close.
  void Drain();

 private:
  void DoAccept();
  void OnAccept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<ListenerState> state_;
};

}  // namespace hadmc::net::detail
