// Files only the hub's user may read: the enroll secret, the config signing key. Reading refuses
// a link, a non-regular file and one that group or others may access; creating writes a
// temporary file (0600), syncs it, and links it into place, so that the file appears complete or
// not at all and a file another process made first is kept, never replaced.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace vigil::server {

// The whole file. `what` names it in errors ("enroll secret file", "signing key"):
// "signing key /x has mode 0640: group and others must have no access (chmod 600 /x)".
Result<std::string> ReadPrivateFile(const std::string& path, std::string_view what,
                                    size_t max_bytes);

// Creates `path` with `content` unless it exists (then it is left as it is: read it after).
// Syncs the file and its directory.
Status CreatePrivateFile(const std::string& path, std::string_view what, std::string_view content);

}  // namespace vigil::server
