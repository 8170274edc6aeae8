// OpenSSH public keys as written in *.pub and authorized_keys files: splitting a line into
// options, type, key and comment, and reading the key blob for its size and fingerprint.
// Shared by the ssh_host_keys and authorized_keys tables.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace vigil::tables::internal {

// One key line: "[options] type base64 [comment]".
struct SshKeyLine {
  std::string options;  // authorized_keys options before the type, as written; "" when none
  std::string type;     // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa-cert-v01@openssh.com"
  std::string base64;   // the key blob, base64 as written
  std::string comment;  // the rest of the line, trimmed; "" when none
};

// Whether OpenSSH knows `type` as a public key type (plain or certificate).
bool IsSshKeyType(std::string_view type);

// Splits one line of an authorized_keys (allow_options) or .pub file. Options are everything
// up to the first blank outside double quotes (a '\"' inside quotes does not end them), as
// sshd skips them. InvalidArgument, with the reason, when the line is not a key.
Result<SshKeyLine> ParseSshKeyLine(std::string_view line, bool allow_options);

struct SshKeyInfo {
  std::string type;         // the type named inside the blob
  std::optional<int> bits;  // RSA modulus / DSA p size; 256, 384 or 521 for ECDSA; 256 for Ed25519
  std::string fingerprint;  // "SHA256:" + unpadded base64 of the blob's SHA-256, as ssh-keygen -l
};

// Decodes the base64 blob and reads its type and size. InvalidArgument when it is not base64
// or not a well-formed key of a known type.
Result<SshKeyInfo> InspectSshKey(std::string_view base64);

// Standard base64 (RFC 4648) with '=' padding optional; nullopt on any other character.
std::optional<std::string> DecodeBase64(std::string_view text);
// Standard base64 without padding.
std::string EncodeBase64Unpadded(std::string_view bytes);

}  // namespace vigil::tables::internal
