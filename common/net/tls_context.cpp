#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace hadmc::net::detail {
namespace ssl = boost::asio::ssl;

namespace {

constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Status Configure(ssl::context& ctx) {
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return MakeError(Errc::kInternal, "configuring TLS versions and ciphers");
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  return {};
}

template <typename F>
Status Guard(const std::string& what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return MakeError(Errc::kInvalidArgument, what + ": " + e.what());
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerContext(const std::string& cert_file,
                                                        const std::string& key_file,
                                                        const std::string& client_ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  HADMC_TRY(Configure(*ctx));
  HADMC_TRY(Guard("server certificate " + cert_file,
                  [&] { ctx->use_certificate_chain_file(cert_file); }));
  HADMC_TRY(Guard("server key " + key_file,
                  [&] { ctx->use_private_key_file(key_file, ssl::context::pem); }));
  if (!client_ca_file.empty()) {
    HADMC_TRY(Guard("client CA " + client_ca_file, [&] { ctx->load_verify_file(client_ca_file); }));
    SSL_CTX_set_client_CA_list(ctx->native_handle(), SSL_load_client_CA_file(client_ca_file.c_str()));
    // Accept the handshake whatever the outcome; SSL_get_verify_result keeps the verdict.
    SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER,
                       [](int, X509_STORE_CTX*) { return 1; });
    // Sessions resumed from tickets would skip client-certificate verification bookkeeping.
    SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx->native_handle(), 0);
  }
  return ctx;
}

Result<std::shared_ptr<ssl::context>> MakeClientContext(const std::string& ca_file,
                                                        const std::string& cert_file,
                                                        const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  HADMC_TRY(Configure(*ctx));
  if (ca_file.empty()) {
    ctx->set_default_verify_paths();
  } else {
    HADMC_TRY(Guard("CA " + ca_file, [&] { ctx->load_verify_file(ca_file); }));
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (!cert_file.empty()) {
    HADMC_TRY(Guard("client certificate " + cert_file,
                    [&] { ctx->use_certificate_chain_file(cert_file); }));
    HADMC_TRY(Guard("client key " + key_file,
                    [&] { ctx->use_private_key_file(key_file, ssl::context::pem); }));
  }
  return ctx;
}

}  // namespace hadmc::net::detail
