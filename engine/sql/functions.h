// The SQL functions osquery users expect, on one connection: regex_match, regex_split, split,
// concat, concat_ws, sha256, in_cidr_block, cidr_contains, version_compare, and the
// VERSION_DPKG collation.
#pragma once

#include <string_view>
#include <vector>

#include "engine/status.h"

struct sqlite3;

namespace vigil {

Status RegisterFunctions(sqlite3* db);

// The names RegisterFunctions adds, for the authorizer's allow list.
const std::vector<std::string_view>& VigilFunctionNames();

}  // namespace vigil
