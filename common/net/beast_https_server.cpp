// HttpsServer: io_context + I/O threads + listeners.
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

#include "hadmc/common/log.h"
#include "hadmc/net/https_server.h"
#include "listener.h"
#include "tls_context.h"

namespace hadmc::net {
namespace {

class BeastHttpsServer : public HttpsServer {
 public:
  explicit BeastHttpsServer(int threads) : threads_(threads), ioc_(threads) {}
  // Precondition for Stop (and so for destruction): not called from an I/O thread.
  ~BeastHttpsServer() override { Stop(std::chrono::milliseconds(0)); }

  Result<uint16_t> AddListener(const ListenerOptions& options,
                               std::shared_ptr<RequestHandler> handler) override {
    auto tls = detail::MakeServerContext(options.cert_file, options.key_file,
                                         options.client_ca_file);
    if (!tls) return MakeError(tls.error().WithContext(options.name + " listener"));
    auto state = std::make_shared<detail::ListenerState>();
    state->options = options;
    state->handler = std::move(handler);
    state->tls = *tls;
    state->counters = &counters_;
    auto listener = std::make_shared<detail::Listener>(ioc_, state);
    auto port = listener->Bind();
    if (!port) return port;
    listeners_.push_back(std::move(listener));
    return port;
  }

  void Start() override {
    for (auto& l : listeners_) l->Start();
    for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { ioc_.run(); });
  }

  void Stop(std::chrono::milliseconds grace) override {
    if (stopped_.exchange(true)) return;
    for (auto& l : listeners_) l->Drain();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (counters_.active > 0 && std::chrono::steady_clock::now() < deadline && !workers_.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (counters_.active > 0)
      Log().warn("https server: {} connections still open after the drain; closing them",
                 counters_.active.load());
    ioc_.stop();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  ServerStats Stats() const override {
    return {counters_.accepted, counters_.rejected_over_limit, counters_.handshake_failures,
            counters_.requests, counters_.active};
  }

 private:
  int threads_;
  detail::ServerCounters counters_;  // before ioc_: sessions freed with ioc_ still count down
  boost::asio::io_context ioc_;
  std::vector<std::shared_ptr<detail::Listener>> listeners_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<HttpsServer>> HttpsServer::Create(int threads) {
  if (threads < 1) return MakeError(Errc::kInvalidArgument, "server needs at least one thread");
  return std::unique_ptr<HttpsServer>(new BeastHttpsServer(threads));
}

}  // namespace hadmc::net
