// Where `vigil sql` and `vigil shell` send statements: the local engine over --root, or with
// --connect SOCKET the running daemon's engine through its extension socket (the daemon's
// tables, extension tables included, and its state of the host). Output is the same either
// way.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/flags.h"
#include "engine/schema.h"
#include "engine/sql/database.h"
#include "engine/status.h"

namespace vigil::cli {

class StatementEngine {
 public:
  virtual ~StatementEngine() = default;

  // Runs one statement like Database::Stream, with the limits from --timeout and --max-rows.
  virtual Result<size_t> Stream(std::string_view sql, const Database::ColumnsCallback& on_columns,
                                const Database::RowCallback& on_row) = 0;
  // The warnings of the last statement.
  virtual const std::vector<std::string>& warnings() const = 0;
  virtual const QueryOptions& options() const = 0;
  // Every table the engine serves, sorted by name (for .tables and .schema).
  virtual Result<std::vector<Schema>> Tables() = 0;
  // "this host", "root /x", "the daemon at /run/vigil/vigil.sock".
  virtual std::string Describe() const = 0;
};

// Declares --connect, --root, --timeout and --max-rows on a command's flags.
void AddStatementEngineFlags(FlagSet& flags);
// The local engine, or the daemon when --connect is given. InvalidArgument for bad flags
// (--connect with --root), Unavailable "cannot connect to SOCKET: ..." when nothing answers.
Result<std::unique_ptr<StatementEngine>> OpenStatementEngine(const FlagSet& flags);

}  // namespace vigil::cli
