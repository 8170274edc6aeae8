// The hub's config-signing key (DESIGN.md, "The hub": the hub signs each config version; agents
// pin its public key at enrollment). It is made once and never replaced: a new key would make
// every enrolled agent refuse the hub's configs.
//
// Thread safety: may be called from any thread; two processes starting on the same state
// directory at once end up with the same key (the first one written wins).
#pragma once

#include <string>

#include "engine/signing.h"
#include "engine/status.h"

namespace vigil::server {

// STATE_DIR/signing/ed25519.pem (PKCS #8 PEM, mode 0600, in a 0700 directory): made on first
// call (written to a temporary file, synced, then linked into place so that it appears whole
// or not at all and an existing key is never overwritten), read afterwards. Errors name the
// file: FailedPrecondition when it is not a regular file or group or others may access it,
// InvalidArgument when it holds no Ed25519 private key.
Result<SigningKey> LoadOrCreateHubSigningKey(const std::string& state_dir);

}  // namespace vigil::server
