// Reads sshd's configuration the way sshd 9.2p1 does and keeps the settings it would use, each
// with the file and line it came from. Shared by the sshd_config, login_banners,
// ssh_host_keys and authorized_keys tables.
//
// What sshd does, and so what this does:
//   - Lines: leading blanks ignored; "Keyword value", "Keyword=value" and "Keyword = value";
//     keywords in any case, aliases folded to the name `sshd -T` prints; arguments split at
//     blanks with "double" or 'single' quotes and backslash escapes; a '#' starting a word
//     ends the line.
//   - First value wins for most keywords: a later line for the same keyword (in the same
//     context) is ignored. Port, HostKey, HostCertificate, ListenAddress, Subsystem, AcceptEnv,
//     AllowUsers, DenyUsers, AllowGroups and DenyGroups add every line.
//   - Include (several arguments, globs expanded in name order, relative paths taken from
//     /etc/ssh) reads the files at that point. An included file starts in the Match context of
//     the Include line; a Match inside it lasts to the end of that file only.
//   - Match starts a block that lasts until the next Match or the end of the file. First-wins
//     is tracked per Match condition text. `Match all` is reported like any other condition
//     (its settings apply to every connection and take precedence over global ones).
//   - Deprecated and unsupported keywords are ignored silently, as sshd logs and ignores them.
//   - Keywords sshd would refuse to start with (unknown, not allowed in a Match block, no
//     argument, unbalanced quotes, nested Include too deep) are warned about and skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

inline constexpr std::string_view kSshdConfigPath = "/etc/ssh/sshd_config";

struct SshdSetting {
  std::string keyword;  // canonical, lowercase: "permitrootlogin"
  // The arguments as sshd reads them (quotes and escapes removed), joined by one space:
  // "LANG LC_*", "sftp /usr/lib/openssh/sftp-server".
  std::string value;
  std::string match;  // the enclosing Match condition ("User historian"); "" outside one
  std::string file;   // "" for a default
  int line = 0;       // from 1; 0 for a default
  bool is_default = false;
};

// The settings sshd uses: the lines that take effect, in the order sshd reads them, then a
// default (SshdDefaults()) for every keyword that no line outside a Match block sets.
struct SshdConfig {
  bool found = false;  // whether the main configuration file exists
  std::vector<SshdSetting> settings;

  // The global (outside any Match) settings of `keyword`, configured or default: one for most
  // keywords, each line for keywords that add to a list, none when nothing sets it.
  std::vector<const SshdSetting*> Global(std::string_view keyword) const;
};

// Reads `path` (and what it includes) through ctx.host(). A missing main file gives an empty,
// not-found config without a warning; every other problem is a ctx.Warn("FILE:LINE: ...").
SshdConfig LoadSshdConfig(const QueryContext& ctx, std::string_view path = kSshdConfigPath);

// sshd's word splitting of the arguments after a keyword: blanks separate words, quotes group
// them, '\' escapes a quote, a backslash or (outside quotes) a blank, and a '#' at the start of
// a word ends the line. False when a quote is left open.
bool SplitSshdArguments(std::string_view text, std::vector<std::string>& words);

}  // namespace vigil::tables::internal
