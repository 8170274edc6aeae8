// Ed25519 signatures over messages (DESIGN.md, "The hub": the hub signs each config version;
// agents pin its key at enrollment and refuse an unsigned or mis-signed config). OpenSSL stays
// inside signing.cc.
//
// Text forms: a public key is its raw 32 bytes in base64 (standard alphabet, padded; what
// `welcome.hub_public_key` carries); a signature is its raw 64 bytes in base64; a private key is
// PKCS #8 PEM ("-----BEGIN PRIVATE KEY-----"), what `openssl genpkey -algorithm ed25519` writes.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"

namespace vigil {

struct SigningKey {
  std::string private_pem;
  std::string public_key;  // raw 32-byte key, base64
};

// A new random key.
Result<SigningKey> GenerateSigningKey();

// The key in `private_pem`; InvalidArgument when it is not PEM or not an Ed25519 private key.
Result<SigningKey> LoadSigningKey(std::string_view private_pem);

// The signature of `message`, base64. InvalidArgument for a malformed key.
Result<std::string> Sign(const SigningKey& key, std::string_view message);

// Whether `signature_b64` is the signature of `message` by `public_key_b64`: false for a
// well-formed signature that does not match; InvalidArgument for a malformed key or signature
// text (not base64, or not 32 / 64 bytes).
Result<bool> Verify(std::string_view public_key_b64, std::string_view message,
                    std::string_view signature_b64);

// For the `config` message (PROTOCOL.md): signs the canonical JSON of `config_json` without its
// top-level "signature" member (engine/audit/record.h, CanonicalObjectWithout), so a signature
// survives re-serialisation (key order, whitespace). InvalidArgument when it is not a JSON
// object.
Result<std::string> SignConfig(const SigningKey& key, std::string_view config_json);

// Verifies the "signature" member of `config_json` over the same canonical form. False when the
// signature does not match; InvalidArgument when the message has no "signature" string, is not
// a JSON object, or the key or signature text is malformed.
Result<bool> VerifyConfig(std::string_view public_key_b64, std::string_view config_json);

// The config message as the hub sends it: `config_json` with "signature" (SignConfig's) added as
// its last member, the rest of the text unchanged. InvalidArgument when it is not a JSON object
// or already has a "signature".
Result<std::string> SignedConfigMessage(const SigningKey& key, std::string_view config_json);

// Standard base64 with padding, as used for keys and signatures above. Base64Decode is strict:
// no whitespace, only the standard alphabet, correct padding; InvalidArgument otherwise.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace vigil
