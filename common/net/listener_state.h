// Private to common/net: what a listener shares with its sessions.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <mutex>

#include "hadmc/net/https_server.h"

namespace hadmc::net::detail {

class Session;

struct ServerCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected_over_limit{0};
  std::atomic<uint64_t> handshake_failures{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> active{0};
};

struct ListenerState {
  ListenerOptions options;
  std::shared_ptr<RequestHandler> handler;
  std::shared_ptr<boost::asio::ssl::context> tls;
  ServerCounters* counters = nullptr;
  std::atomic<bool> draining{false};
  std::atomic<size_t> active{0};  // this listener's open sessions

  // Live sessions, so a drain can close the idle ones.
  std::mutex mu;
  std::map<Session*, std::weak_ptr<Session>> sessions;
};

}  // namespace hadmc::net::detail
