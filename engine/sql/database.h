// One read-only SQL connection over a table registry and a host. Every registered table is an
// eponymous virtual table; the statement is checked by the authorizer (reads and listed
// functions only), bounded in time, length and depth, and its table scans are cached for the
// life of the statement.
//
// A Database is used by one thread at a time; open one per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/value.h"

struct sqlite3;

namespace vigil {

class Host;
class TableRegistry;

struct QueryOptions {
  std::chrono::milliseconds timeout{10'000};
  // Rows past this many are counted in rows_total but not returned.
  std::optional<size_t> max_rows;
  // Values for ?NNN / :name parameters, in order (1-based in SQL).
  std::vector<Value> parameters;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  size_t rows_total = 0;  // every row the statement produced; > rows.size() when capped
  double duration_ms = 0;
  // Problems tables met that cost rows but not the statement ("users: /etc/passwd:7: ...").
  std::vector<std::string> warnings;
};

class Database {
 public:
  // `registry` and `host` must outlive the Database.
  static Result<std::unique_ptr<Database>> Open(const TableRegistry& registry, const Host& host);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one statement. Errors: InvalidArgument (syntax, unknown table or column, a required
  // column left unbound), PermissionDenied (anything but a read), DeadlineExceeded, or the
  // failing table's own error.
  Result<QueryResult> Query(std::string_view sql, const QueryOptions& options = {});

  // Runs one statement and hands over rows as they are produced: `on_columns` once, then
  // `on_row` per row until it returns false. Returns the number of rows produced.
  using ColumnsCallback = std::function<void(const std::vector<std::string>&)>;
  using RowCallback = std::function<bool(Row&&)>;
  Result<size_t> Stream(std::string_view sql, const QueryOptions& options,
                        const ColumnsCallback& on_columns, const RowCallback& on_row);

  // The warnings of the last statement run by Query() or Stream().
  const std::vector<std::string>& warnings() const;

  // Prepares the statement without running it: syntax, tables, columns, permissions and
  // required columns are checked. Returns the names of the result columns. Used to validate
  // packs at load time.
  Result<std::vector<std::string>> Check(std::string_view sql);

  // While held, rows a table generated for one statement are reused by later statements that
  // scan it with the same constraints (and need no other columns), until released: a batch of
  // statements sees one state of the host and reads it once. Releasing drops the rows.
  void HoldRows(bool hold);

  // How many times tables were generated (cache misses) since the Database was opened.
  size_t generate_calls() const;

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether `sql` ends with a complete statement (a ';' outside strings, comments and triggers);
// the shell reads lines until this is true.
bool IsCompleteStatement(const std::string& sql);

}  // namespace vigil
