#include "listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <vector>

#include "hadmc/common/log.h"
#include "session.h"

namespace hadmc::net::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Listener::Listener(asio::io_context& ioc, std::shared_ptr<ListenerState> state)
    : ioc_(ioc), acceptor_(asio::make_strand(ioc)), state_(std::move(state)) {}

Result<uint16_t> Listener::Bind() {
  const auto& o = state_->options;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(o.address, ec);
  if (ec) return MakeError(Errc::kInvalidArgument, "bad listen address '" + o.address + "'");
  const tcp::endpoint endpoint(address, o.port);
  const std::string where = o.name + " listener on " + o.address + ":" + std::to_string(o.port);
  if (acceptor_.open(endpoint.protocol(), ec); ec)
    return MakeError(Errc::kIo, where + ": open: " + ec.message());
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec)
    return MakeError(Errc::kIo, where + ": reuse_address: " + ec.message());
  if (acceptor_.bind(endpoint, ec); ec) return MakeError(Errc::kIo, where + ": bind: " + ec.message());
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec)
    return MakeError(Errc::kIo, where + ": listen: " + ec.message());
  return acceptor_.local_endpoint().port();
}

void Listener::Start() {
  asio::dispatch(acceptor_.get_executor(),
                 [self = shared_from_this()] { self->DoAccept(); });
}

void Listener::Drain() {
  state_->draining = true;
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
  // Take references under the lock, drain outside it: the last reference to a session may drop
  // here, and ~Session takes the same lock.
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(state_->mu);
    for (auto& [ptr, weak] : state_->sessions)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->Drain();
}

void Listener::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_),
                         boost::beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || state_->draining) return;
  if (ec) {
    Log().warn("{} listener: accept failed: {}", state_->options.name, ec.message());
  } else if (state_->active >= state_->options.max_connections) {
    ++state_->counters->rejected_over_limit;
    Log().warn("{} listener: {} connections open; refusing a new one", state_->options.name,
               state_->active.load());
    socket.close(ec);
  } else {
    ++state_->counters->accepted;
    std::make_shared<Session>(std::move(socket), state_)->Run();
  }
  DoAccept();
}

}  // namespace hadmc::net::detail
