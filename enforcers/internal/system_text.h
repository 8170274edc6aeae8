// Text helpers shared by the command and ruleset actions (nftables.zone, sudoers.ensure,
// audit.rules, service.*, package.*): reading `with` values, lines of a file, CIDRs, dpkg's
// status file and apt's package lists, and the [Install] section of a systemd unit.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/packs/pack.h"
#include "engine/status.h"

namespace vigil::enforcers::system_text {

// --- `with` values --------------------------------------------------------------------------

// The single value of `name`, or `fallback` when absent. InvalidArgument when it holds a
// newline or NUL ("ACTION: NAME 'x\ny' holds a line break").
Result<std::string> OneParam(std::string_view action, const packs::Params& args,
                             std::string_view name, std::string_view fallback = "");
// Every item of `name` (a single value counts as a list of one), trimmed, empty items dropped;
// {} when absent. Same checks as OneParam for each item.
Result<std::vector<std::string>> ListParam(std::string_view action, const packs::Params& args,
                                           std::string_view name);
// `file`-like parameters: an absolute path without "..", NUL or line breaks.
Status CheckHostPath(std::string_view action, std::string_view param, std::string_view path);

// --- lines ----------------------------------------------------------------------------------

std::string_view Trim(std::string_view text);
// Words separated by spaces and tabs.
std::vector<std::string> Words(std::string_view text);
// Words joined by one space: "-w  /etc/passwd\t-p wa" -> "-w /etc/passwd -p wa".
std::string CollapseSpaces(std::string_view text);

// A file as lines, so one can be changed and the rest written back byte for byte.
struct Lines {
  std::vector<std::string> lines;  // without their '\n'
  bool final_newline = true;       // the text ended with '\n' (or was empty)

  static Lines Split(std::string_view text);
  std::string Join() const;
};

// --- addresses ------------------------------------------------------------------------------

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
// Stanzas with a Package field, in file order; continuation lines are skipped.
std::vector<DebPackage> ParseDebStanzas(std::string_view text);
// The third word of Status ("installed", "config-files", ...).
std::string_view DpkgState(std::string_view status);
// Whether the package's files are on disk (any state but not-installed and config-files).
bool DpkgFilesPresent(std::string_view status);
// "name" or "name:arch" with a Debian package name; InvalidArgument naming `action`.
Status CheckPackageName(std::string_view action, std::string_view package);
// Whether `package` ("name" or "name:arch") names the stanza.
bool PackageMatches(const DebPackage& stanza, std::string_view package);

// --- systemd units -------------------------------------------------------------------------

// The values of the [Install] section: key -> words, in order. An empty assignment ("Alias=")
// clears what came before, as systemd does.
std::map<std::string, std::vector<std::string>> ParseInstallSection(std::string_view text);

}  // namespace vigil::enforcers::system_text
