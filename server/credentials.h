// People's and nodes' credentials on the hub (DESIGN.md, "The hub"): random secrets, the enroll
// secret file, bearer tokens with roles.
//
// No secret is stored: a token or node key is kept as the SHA-256 hex of the secret and found by
// that hash (HubStore::FindTokenByHash, FindNodeByKeyHash), so comparing a given secret is a
// lookup of its hash, never a comparison with a stored secret. The enroll secret is the one
// secret the hub keeps in plain (an agent must present it); it is compared in constant time.
//
// Thread safety: every function may be called from any thread (HubStore is thread-safe).
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"
#include "server/hub_store.h"

namespace vigil::server {

// 32 random bytes (OpenSSL RAND_bytes) as lowercase hex, with a prefix: "vgt_..." tokens,
// "vgn_..." node keys.
std::string NewSecret(std::string_view prefix);

// SHA-256 of `secret` as lowercase hex: what TokenRecord::hash and NodeRecord::key_hash hold.
std::string SecretHash(std::string_view secret);

// STATE_DIR/enroll_secret (0600, made on first call, one line); errors name the file;
// refuses a file readable by group/others.
Result<std::string> LoadOrCreateEnrollSecret(const std::string& state_dir);

// Constant time in the length of `expected` (CRYPTO_memcmp): whether an agent's enroll secret
// is the hub's. An empty `expected` matches nothing.
bool EnrollSecretMatches(std::string_view expected, std::string_view given);

struct NewToken {
  TokenRecord record;
  std::string secret;  // "vgt_...": shown once, never stored
};
// Makes a token ("tok_" + 12 hex id) and stores its record. InvalidArgument for an empty name.
Result<NewToken> CreateToken(HubStore& store, Role role, std::string_view name,
                             std::string_view created_by);

// "Bearer vgt_..." header value or the bare token -> the token's record; Unauthenticated
// for absent, unknown or revoked tokens (other codes only for a store that fails).
Result<TokenRecord> Authenticate(const HubStore& store, std::string_view authorization);

// Marks the token revoked (revoked_at now); NotFound for an unknown id. Revoking a revoked
// token succeeds and keeps its first revoked_at.
Status RevokeToken(HubStore& store, std::string_view id);

// viewer < analyst < operator < admin: whether a person with `have` may do what needs `need`.
bool RoleAllows(Role have, Role need);

}  // namespace vigil::server
