// The one adapter between SQLite's virtual-table protocol and vigil::Table. Every registered
// table becomes an eponymous virtual table; a table never sees SQLite.
//
// Plan encoding (xBestIndex -> xFilter), in idxStr, space separated, one token per argv entry
// in argv order:
//   "u<hex>"           first token: SQLite's colUsed mask for this scan
//   "<col>:<op>[i]"    a pushed-down constraint on column <col>; <op> is the ConstraintOp
//                      number; a trailing "i" marks an IN list taken whole (sqlite3_vtab_in)
//   "!"                first token instead of "u...": no constraint can bind any required
//                      column, so the scan fails with a message naming them
// idxNum is unused.
//
// Not thread-safe: one Bridge per connection, used by the thread that runs its statements.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/value.h"

struct sqlite3;
struct sqlite3_value;

namespace vigil {

class Host;
struct Schema;
class Table;
class TableRegistry;

// "table file cannot be listed without a constraint on one of path, directory (...)".
Status MissingRequiredError(const Schema& schema);

class Bridge {
 public:
  using Rows = std::vector<Row>;

  // `registry` and `host` must outlive the Bridge, and the Bridge the connection it serves.
  Bridge(const TableRegistry& registry, const Host& host);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Declares one eponymous module per registered table on `db`.
  Status Install(sqlite3* db);

  // Brackets one statement: the row cache lives from Begin to End.
  void BeginStatement(std::optional<std::chrono::steady_clock::time_point> deadline);
  void EndStatement();

  // While held, generated rows outlive their statement: a later statement that scans a table
  // with the same constraints, needing no column the cached rows lack, reuses them. For a run
  // of statements that should see one state of the host (all checks of one evaluation).
  void HoldRows(bool hold);

  // The error of the last table whose generate() failed in this statement (ok if none).
  const Status& table_error() const { return table_error_; }
  size_t generate_calls() const { return generate_calls_; }
  // Warnings tables reported during this statement ("users: /etc/passwd:7: ..."), in order.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Set while preparing when some plan could bind none of a table's required columns.
  const Status& missing_required() const { return missing_required_; }

  // For the adapter's callbacks (bridge.cc); not for other callers.
  void NoteMissingRequired(const Schema& schema);

  struct Module;
  Result<std::shared_ptr<const Rows>> Scan(const Table& table, const std::string& plan,
                                           int argc, sqlite3_value** argv);

 private:
  const TableRegistry& registry_;
  const Host& host_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  // Generated rows by table and constraint values, each with the columns it computed.
  struct Cached {
    uint64_t used = 0;
    std::shared_ptr<const Rows> rows;
  };
  std::map<std::string, std::vector<Cached>> cache_;
  bool hold_ = false;
  Status table_error_;
  Status missing_required_;
  std::vector<std::string> warnings_;
  size_t generate_calls_ = 0;
};

}  // namespace vigil
