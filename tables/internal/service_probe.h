// Small probes the service-status tables (time_sync, aide_status, clamav_status) share: which
// programs run, which Debian packages are installed.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

// The command names of the host's processes (/proc/PID/comm, or the name in /proc/PID/stat;
// at most 15 characters), or nullopt when its /proc lists no process at all (a root that is
// not a live system).
std::optional<std::set<std::string>> ProcessNames(const Host& host);

// Which of `names` /var/lib/dpkg/status lists as "install ok installed". Empty when the file is
// absent; an unreadable file is a warning.
std::set<std::string> InstalledDebPackages(const QueryContext& ctx,
                                           const std::vector<std::string>& names);

}  // namespace vigil::tables::internal
