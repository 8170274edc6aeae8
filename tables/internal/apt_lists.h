// apt's local copies of repository indexes under /var/lib/apt/lists: how a sources entry names
// its files there, and the header of a Release / InRelease file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/query_context.h"

namespace vigil::tables::internal {

inline constexpr std::string_view kAptListsDir = "/var/lib/apt/lists";

// The common start of the list files of one sources entry (URI and suite), as apt names them:
// the URI without its scheme and user, "dists/SUITE/" appended (or SUITE itself for a flat
// repository, whose suite ends in '/'), unsafe characters written as %xx and every '/' as '_'.
// ("http://deb.debian.org/debian", "bookworm") -> "deb.debian.org_debian_dists_bookworm_".
std::string AptListPrefix(std::string_view uri, std::string_view suite);

// "%7e" -> "~": undoes the %xx quoting of list file names.
std::string AptUnquote(std::string_view text);

// The fields of a Release file's header that Vigil reports ("" when absent).
struct AptRelease {
  std::string file;  // host path of the InRelease or Release file read
  std::string origin;
  std::string label;
  std::string suite;
  std::string codename;
  std::string version;
  std::string components;
  std::string architectures;
  bool not_automatic = false;           // NotAutomatic: yes (experimental, backports)
  bool but_automatic_upgrades = false;  // ButAutomaticUpgrades: yes
};

// Reads the Release header of the list files starting with `prefix` (InRelease, else Release)
// in the lists directory. nullopt when neither exists (never fetched) or it cannot be read
// (with a warning).
std::optional<AptRelease> FindAptRelease(const QueryContext& ctx, std::string_view prefix);

// Reads one InRelease (clear-signed) or Release file.
std::optional<AptRelease> ReadAptRelease(const QueryContext& ctx, const std::string& path);

}  // namespace vigil::tables::internal
