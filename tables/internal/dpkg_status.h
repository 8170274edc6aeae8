// dpkg's database of packages: the status file in an admin directory (/var/lib/dpkg/status),
// read in one pass into views of the few fields Vigil's package tables use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

inline constexpr std::string_view kDefaultDpkgAdminDir = "/var/lib/dpkg";
// A status file past this size is refused with a warning (a large host's is a few MiB).
inline constexpr size_t kMaxDpkgStatusBytes = 256u << 20;

// One stanza of the status file, fields as written ("" when absent). Views point into the text
// given to ParseDpkgStatus().
struct DpkgPackage {
  std::string_view name;            // Package
  std::string_view version;         // Version, with epoch and revision
  std::string_view arch;            // Architecture
  std::string_view status;          // Status: "want flag state", "install ok installed"
  std::string_view source;          // Source: "name" or "name (version)"
  std::string_view installed_size;  // Installed-Size, KiB
  std::string_view maintainer;
  std::string_view section;
  std::string_view priority;
  int line = 0;  // of the stanza's first field
};

// Every stanza with a Package field, in file order. A stanza without one is skipped with a
// warning ("PATH:LINE: stanza without a Package field"), and so are malformed lines.
std::vector<DpkgPackage> ParseDpkgStatus(const QueryContext& ctx, const std::string& path,
                                         std::string_view text);

// The third word of Status ("installed", "config-files", "not-installed", "half-installed",
// "unpacked", "half-configured", "triggers-awaited", "triggers-pending"), or "".
std::string_view DpkgState(std::string_view status);
// Whether the package's files are on disk: any state but not-installed and config-files.
bool DpkgFilesPresent(std::string_view status);

// The source package: the Source field without its "(version)", or the package's own name
// when the field is absent (dpkg-query's ${source:Package}).
std::string_view DpkgSourceName(const DpkgPackage& package);
// The source version: the version in parentheses in Source, or the package's version when
// Source names none (dpkg-query's ${source:Version}).
std::string_view DpkgSourceVersion(const DpkgPackage& package);

}  // namespace vigil::tables::internal
