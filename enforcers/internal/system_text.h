// Parsers of the command and ruleset actions (nftables.zone, package.*, service.*): CIDRs, dpkg's
// status file and apt's package lists. The generic text and `with` helpers are in
// action_text.h; systemd unit files are read with tables/internal/systemd_units.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil::enforcers::system_text {

// --- addresses ------------------------------------------------------------------------------

// Not in tables/internal/inet.h, which reads only the kernel's hex forms of /proc.
struct Cidr {
  int family = 4;    // 4 or 6
  std::string text;  // the network in canonical form: "10.0.0.0/8", "fd00::/8"
};
// "10.1.2.3/8" -> 10.0.0.0/8 (host bits cleared), "10.0.0.1" -> 10.0.0.1/32, "fd00::/8".
// InvalidArgument (naming `what`) for anything else.
Result<Cidr> ParseCidr(std::string_view text, std::string_view what);

// --- Debian packages -----------------------------------------------------------------------

// One stanza of dpkg's status file or of an apt package list, with the fields Vigil uses.
struct DebPackage {
  std::string name;
  std::string arch;
  std::string version;
  std::string status;  // "install ok installed"; "" in package lists
  std::string priority;
  bool essential = false;
};
// Stanzas with a Package field, in file order; continuation lines are skipped. Not
// tables::internal::ParseDpkgStatus: that one needs a QueryContext and has no Essential field,
// which apt's lists need. The Status states: tables::internal::DpkgState / DpkgFilesPresent.
std::vector<DebPackage> ParseDebStanzas(std::string_view text);
// "name" or "name:arch" with a Debian package name; InvalidArgument naming `action`.
Status CheckPackageName(std::string_view action, std::string_view package);
// Whether `package` ("name" or "name:arch") names the stanza.
bool PackageMatches(const DebPackage& stanza, std::string_view package);

}  // namespace vigil::enforcers::system_text
