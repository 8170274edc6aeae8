// The node's SQL engine as the `vigil` commands open it: the host at --root, every built-in
// table, and the statement limits from --timeout and --max-rows.
#pragma once

#include <memory>

#include "cli/flags.h"
#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"

namespace vigil::cli {

struct LocalEngine {
  std::unique_ptr<Host> host;
  std::unique_ptr<TableRegistry> registry;
  std::unique_ptr<Database> database;
  QueryOptions options;
};

// Declares --root, --timeout and --max-rows on a command's flags.
void AddEngineFlags(FlagSet& flags);
Result<LocalEngine> OpenLocalEngine(const FlagSet& flags);

// Reads a file of this machine named on the command line (packs, --vars, --catalog): never under
// --root, and relative to the working directory.
Result<std::string> ReadLocalFile(const std::string& path, size_t max_bytes);

}  // namespace vigil::cli
