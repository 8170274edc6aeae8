// What OpenSSH's sshd (9.2p1 as Debian 12 builds it) knows about its configuration keywords:
// the canonical name `sshd -T` prints, whether a repeated keyword adds to a list or is ignored
// after its first value, whether it may follow a Match line, and the compiled-in defaults.
// Facts only; the parser that applies them is sshd_config_parser.h.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vigil::tables::internal {

enum class SshdKeywordKind : uint8_t {
  kFirstWins,    // the first value sshd reads is used; later lines are ignored
  kAccumulates,  // every line adds to a list (Port, HostKey, AcceptEnv, AllowUsers, ...)
  kIgnored,      // deprecated or unsupported: sshd logs the line and ignores it
  kMatch,        // starts a Match block
  kInclude,      // reads other files in place
};

struct SshdKeyword {
  std::string_view name;  // canonical, lowercase: "kbdinteractiveauthentication"
  SshdKeywordKind kind = SshdKeywordKind::kFirstWins;
  bool match_allowed = false;  // may be used inside a Match block
};

// The keyword sshd accepts as `spelled` (any case; aliases such as
// ChallengeResponseAuthentication or PubkeyAcceptedKeyTypes give their canonical keyword), or
// nullptr when sshd rejects it ("Bad configuration option").
const SshdKeyword* FindSshdKeyword(std::string_view spelled);

struct SshdDefault {
  std::string_view keyword;
  std::string_view value;
};

// The value sshd uses for each keyword no line sets, as `sshd -T -f /dev/null` prints it on
// Debian 12 (one entry per value for HostKey and ListenAddress, whose defaults are lists).
// Keywords without a default (AcceptEnv, AllowUsers, Subsystem, ...) are absent.
std::span<const SshdDefault> SshdDefaults();

}  // namespace vigil::tables::internal
