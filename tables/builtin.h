// Every table Vigil serves, registered from one explicit list.
#pragma once

#include "engine/registry.h"
#include "engine/status.h"

namespace vigil::tables {

// Adds every built-in table, plus vigil_tables and vigil_columns, to `registry`.
Status RegisterBuiltinTables(TableRegistry& registry);

}  // namespace vigil::tables
