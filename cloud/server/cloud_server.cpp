#include "hadmc/server/cloud_server.h"

#include "api_handler.h"
#include "hadmc/common/log.h"

namespace hadmc::server {
namespace {

class CloudServerImpl : public CloudServer {
 public:
  uint16_t device_port() const override { return device_port_; }
  uint16_t admin_port() const override { return admin_port_; }
  void Stop() override {
    if (server_) server_->Stop(std::chrono::milliseconds(ctx_.config.drain_timeout_ms));
  }
  ~CloudServerImpl() override { Stop(); }

  Status Init(const CloudConfig& config) {
    ctx_.config = config;
    if (ctx_.config.state_dir.empty()) ctx_.config.state_dir = DefaultStateDir();
    const CloudConfig& c = ctx_.config;
    ctx_.request_limiter.Configure(c.device_api.rate_limit_per_s, c.device_api.rate_limit_burst);
    ctx_.block_limiter.Configure(c.device_api.block_rate_limit_per_s,
                                 c.device_api.block_rate_limit_burst);
    const StateDir dir = c.State();
    HADMC_TRY(PrepareStateDir(dir));
    auto reg = registry::OpenSqliteRegistry(dir.RegistryDb());
    if (!reg) return MakeError(reg.error());
    ctx_.registry = std::move(*reg);
    auto blocks = store::BlockStore::Open(dir.Store());
    if (!blocks) return MakeError(blocks.error());
    ctx_.blocks.emplace(std::move(*blocks));
    for (const auto& k : c.publisher_keys) {
      auto key = crypto::VerifyKey::Load(c.Resolve(k));
      if (!key) return MakeError(key.error().WithContext("publisher key"));
      ctx_.publisher_keys.push_back(std::move(*key));
    }
    auto server = net::HttpsServer::Create(c.threads);
    if (!server) return MakeError(server.error());
    server_ = std::move(*server);
    ctx_.server = server_.get();

    net::ListenerOptions base;
    base.cert_file = c.Resolve(c.tls_cert);
    base.key_file = c.Resolve(c.tls_key);
    base.handshake_timeout = std::chrono::milliseconds(c.handshake_timeout_ms);
    base.read_timeout = std::chrono::milliseconds(c.read_timeout_ms);
    base.write_timeout = std::chrono::milliseconds(c.write_timeout_ms);
    base.max_connections = c.max_connections;

    net::ListenerOptions device = base;
    device.name = "device";
    device.address = c.device.address;
    device.port = c.device.port;
    device.client_ca_file = c.Resolve(c.client_ca);
    device.require_client_cert = true;
    auto dp = server_->AddListener(
        device, std::make_shared<ApiHandler>("device", ApiHandler::Auth::kClientCertificate,
                                             MakeDeviceRouter(ctx_), ctx_));
    if (!dp) return MakeError(dp.error());
    device_port_ = *dp;

    net::ListenerOptions admin = base;
    admin.name = "admin";
    admin.address = c.admin.address;
    admin.port = c.admin.port;
    auto ap = server_->AddListener(
        admin, std::make_shared<ApiHandler>("admin", ApiHandler::Auth::kBearerToken,
                                            MakeAdminRouter(ctx_), ctx_));
    if (!ap) return MakeError(ap.error());
    admin_port_ = *ap;
    server_->Start();
    Log().info("serving devices on https://{}:{} (mTLS) and admins on https://{}:{}",
               c.device.address, device_port_, c.admin.address, admin_port_);
    return {};
  }

 private:
  CloudContext ctx_;
  // Declared after ctx_: destroyed (and drained) first, while the handlers' context is alive.
  std::unique_ptr<net::HttpsServer> server_;
  uint16_t device_port_ = 0, admin_port_ = 0;
};

}  // namespace

Result<std::unique_ptr<CloudServer>> CloudServer::Start(const CloudConfig& config) {
  auto s = std::make_unique<CloudServerImpl>();
  HADMC_TRY(s->Init(config));
  return std::unique_ptr<CloudServer>(std::move(s));
}

}  // namespace hadmc::server
