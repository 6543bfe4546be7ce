// Private to common/net: OpenSSL contexts configured once for servers and clients.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "hadmc/common/error.h"

namespace hadmc::net::detail {

// TLS 1.2+ server context with AEAD/ECDHE ciphers. With `client_ca_file`, asks for a client
// certificate and records the verification result without failing the handshake, so the session
// can answer 401/403 with a JSON error and a log line instead of an opaque TLS alert.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerContext(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);

// TLS 1.2+ client context trusting `ca_file` (system roots when empty), presenting the client
// certificate when `cert_file` is set.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientContext(
    const std::string& ca_file, const std::string& cert_file, const std::string& key_file);

}  // namespace hadmc::net::detail
