// The publisher's side of an upload to a running server (`hadmc publish --server URL`).
#pragma once

#include <string>
#include <string_view>

#include "hadmc/crypto/signing_key.h"
#include "hadmc/net/https_client.h"
#include "hadmc/server/publish.h"

namespace hadmc::server {

// Asks the server for the latest version, signs version latest+1, sends the manifest, then the
// blocks the server reports missing. `token` is an admin bearer token.
Result<PublishResult> PublishRemote(net::HttpsClient& client, const std::string& token,
                                    std::string_view file, const std::string& model,
                                    uint64_t block_size, const crypto::SigningKey& key);

// An "Authorization: Bearer …" header list.
net::HeaderList BearerHeaders(const std::string& token);

}  // namespace hadmc::server
