#include "engine/sql/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/authorizer.h"
#include "engine/sql/bridge.h"
#include "engine/sql/functions.h"

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;

// SQLite virtual machine steps between two looks at the clock.
constexpr int kProgressSteps = 1000;

struct Limit {
  int id;
  int value;
};

// Bounds on what one statement may ask of SQLite.
constexpr Limit kLimits[] = {
    {SQLITE_LIMIT_LENGTH, 64 << 20},        // one string or blob, one row
    {SQLITE_LIMIT_SQL_LENGTH, 1 << 20},     // the statement text
    {SQLITE_LIMIT_COLUMN, 500},             // columns in a result, GROUP BY, ORDER BY
    {SQLITE_LIMIT_EXPR_DEPTH, 200},         // expression tree depth
    {SQLITE_LIMIT_COMPOUND_SELECT, 100},    // terms of a UNION
    {SQLITE_LIMIT_VDBE_OP, 1 << 20},        // program size
    {SQLITE_LIMIT_FUNCTION_ARG, 100},       // arguments of one function call
    {SQLITE_LIMIT_ATTACHED, 0},             // no other databases, ever
    {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 10'000},
    {SQLITE_LIMIT_VARIABLE_NUMBER, 999},
    {SQLITE_LIMIT_TRIGGER_DEPTH, 1},
    {SQLITE_LIMIT_WORKER_THREADS, 0},
};

bool IsBlank(const char* s) {
  // Whitespace and comments only.
  while (*s != '\0') {
    if (std::isspace(static_cast<unsigned char>(*s))) {
      ++s;
    } else if (s[0] == '-' && s[1] == '-') {
      while (*s != '\0' && *s != '\n') ++s;
    } else if (s[0] == '/' && s[1] == '*') {
      const char* end = std::strstr(s + 2, "*/");
      if (end == nullptr) return true;  // SQLite accepts an unterminated trailing comment
      s = end + 2;
    } else if (*s == ';') {
      ++s;
    } else {
      return false;
    }
  }
  return true;
}

// The first keyword of a statement, upper-cased, past whitespace, comments and '('.
std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(') {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end;
    } else if (sql.substr(i, 2) == "/*") {
      size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word;
}

// Statements that change something are refused by name before SQLite sees them (SQLite's own
// messages for some, "table x may not be modified", would hide why). The authorizer and
// sqlite3_stmt_readonly() then check what reads can still reach.
bool IsWriteKeyword(const std::string& word) {
  static constexpr std::string_view kWrites[] = {
      "INSERT", "UPDATE", "DELETE",  "REPLACE", "CREATE",  "DROP",   "ALTER",    "ATTACH",
      "DETACH", "BEGIN",  "COMMIT",  "END",     "ROLLBACK", "SAVEPOINT", "RELEASE", "ANALYZE",
      "REINDEX", "VACUUM"};
  return std::find(std::begin(kWrites), std::end(kWrites), word) != std::end(kWrites);
}

Row ReadRow(sqlite3_stmt* stmt, int columns) {
  Row row;
  row.reserve(static_cast<size_t>(columns));
  for (int i = 0; i < columns; ++i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, i)));
        break;
      case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(stmt, i)); break;
      case SQLITE_TEXT:
      case SQLITE_BLOB: {
        const char* data = reinterpret_cast<const char*>(sqlite3_column_blob(stmt, i));
        size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt, i));
        row.emplace_back(std::string(data == nullptr ? "" : data, size));
        break;
      }
      default: row.emplace_back(); break;
    }
  }
  return row;
}

std::string FormatMillis(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

struct Database::Impl {
  Impl(const TableRegistry& registry, const Host& host) : bridge(registry, host) {}
  ~Impl() { sqlite3_close_v2(db); }

  Bridge bridge;
  Authorizer authorizer;
  sqlite3* db = nullptr;
  std::optional<Clock::time_point> deadline;
  std::chrono::milliseconds timeout{0};

  // Turns the state of a failed prepare or step into a Status with the clearest message:
  // the authorizer's reason, the table's own error, the deadline, then SQLite's message.
  Status Error(int rc, std::string_view sql) {
    if (!authorizer.denial().empty()) return Status::PermissionDenied(authorizer.denial());
    if (!bridge.table_error().ok()) return bridge.table_error();
    if (rc == SQLITE_INTERRUPT) {
      return Status::DeadlineExceeded("statement exceeded its time limit of " +
                                      FormatMillis(timeout));
    }
    std::string message = sqlite3_errmsg(db);
    int offset = sqlite3_error_offset(db);
    if (offset >= 0 && static_cast<size_t>(offset) < sql.size()) {
      message += " (at character " + std::to_string(offset + 1) + ")";
    }
    if (rc == SQLITE_TOOBIG || rc == SQLITE_NOMEM) return Status::ResourceExhausted(message);
    return Status::InvalidArgument(message);
  }

  static int OnProgress(void* self) {
    auto* impl = static_cast<Impl*>(self);
    return impl->deadline && Clock::now() > *impl->deadline ? 1 : 0;
  }

  // Prepares exactly one read-only statement.
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    authorizer.Reset();
    std::string keyword = FirstKeyword(sql);
    if (IsWriteKeyword(keyword)) {
      return Status::PermissionDenied(keyword +
                                      " is not allowed: Vigil SQL is read-only (SELECT and WITH "
                                      "only)");
    }
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &stmt, &tail);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Error(rc, sql);
    }
    if (stmt == nullptr) return Status::InvalidArgument("the statement is empty");
    std::string rest(tail, sql.data() + sql.size() - tail);
    if (!IsBlank(rest.c_str())) {
      sqlite3_finalize(stmt);
      return Status::InvalidArgument("only one statement may run at a time; found more after "
                                     "character " + std::to_string(tail - sql.data()));
    }
    if (!sqlite3_stmt_readonly(stmt)) {
      sqlite3_finalize(stmt);
      return Status::PermissionDenied(
          "this statement is not allowed: Vigil SQL is read-only (SELECT and WITH only)");
    }
    return stmt;
  }
};

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const TableRegistry& registry, const Host& host) {
  auto impl = std::make_unique<Impl>(registry, host);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY |
              SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  int rc = sqlite3_open_v2(":memory:", &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) {
    return Status::Internal(std::string("cannot open SQLite: ") + sqlite3_errstr(rc));
  }
  sqlite3* db = impl->db;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);
  for (const Limit& limit : kLimits) sqlite3_limit(db, limit.id, limit.value);
  VIGIL_RETURN_IF_ERROR(RegisterFunctions(db));
  VIGIL_RETURN_IF_ERROR(impl->bridge.Install(db));
  // Installed last: the set-up above runs no statements, later everything is checked.
  impl->authorizer.Install(db);
  sqlite3_progress_handler(db, kProgressSteps, &Impl::OnProgress, impl.get());
  return std::unique_ptr<Database>(new Database(std::move(impl)));
}

Result<QueryResult> Database::Query(std::string_view sql, const QueryOptions& options) {
  QueryResult result;
  auto start = Clock::now();
  auto produced = Stream(
      sql, options, [&result](const std::vector<std::string>& columns) { result.columns = columns; },
      [&result](Row&& row) {
        result.rows.push_back(std::move(row));
        return true;
      });
  if (!produced.ok()) return produced.status();
  result.rows_total = *produced;
  result.warnings = warnings();
  result.duration_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return result;
}

Result<size_t> Database::Stream(std::string_view sql, const QueryOptions& options,
                                const ColumnsCallback& on_columns, const RowCallback& on_row) {
  Impl& impl = *impl_;
  impl.timeout = options.timeout;
  impl.deadline = Clock::now() + options.timeout;
  impl.bridge.BeginStatement(impl.deadline);
  struct EndStatement {
    Impl& impl;
    ~EndStatement() {
      impl.bridge.EndStatement();
      impl.deadline.reset();
    }
  } end{impl};

  VIGIL_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, impl.Prepare(sql));
  struct Finalize {
    sqlite3_stmt* stmt;
    ~Finalize() { sqlite3_finalize(stmt); }
  } finalize{stmt};

  for (size_t i = 0; i < options.parameters.size(); ++i) {
    const Value& v = options.parameters[i];
    int index = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    switch (v.type()) {
      case Value::Type::kNull: rc = sqlite3_bind_null(stmt, index); break;
      case Value::Type::kInteger: rc = sqlite3_bind_int64(stmt, index, v.integer()); break;
      case Value::Type::kReal: rc = sqlite3_bind_double(stmt, index, v.real()); break;
      case Value::Type::kText:
        rc = sqlite3_bind_text(stmt, index, v.text().data(), static_cast<int>(v.text().size()),
                               SQLITE_STATIC);
        break;
    }
    if (rc != SQLITE_OK) {
      return Status::InvalidArgument("cannot bind parameter " + std::to_string(index) + ": " +
                                     sqlite3_errmsg(impl.db));
    }
  }

  const int columns = sqlite3_column_count(stmt);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(columns));
  for (int i = 0; i < columns; ++i) names.emplace_back(sqlite3_column_name(stmt, i));
  on_columns(names);

  size_t produced = 0;
  bool want_more = true;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return impl.Error(rc, sql);
    ++produced;
    if (!want_more) continue;  // counting rows past the cap
    if (options.max_rows && produced > *options.max_rows) {
      want_more = false;
      continue;
    }
    if (!on_row(ReadRow(stmt, columns))) break;
  }
  return produced;
}

Result<std::vector<std::string>> Database::Check(std::string_view sql) {
  Impl& impl = *impl_;
  impl.bridge.BeginStatement(std::nullopt);
  auto stmt = impl.Prepare(sql);
  if (!stmt.ok()) {
    impl.bridge.EndStatement();
    return stmt.status();
  }
  // The plan is fixed at prepare time: a scan that can bind none of its required columns shows
  // as a VFilter whose idxStr (P4) is "!". EXPLAIN lists the program without running it.
  Status status = Status::Ok();
  Status missing = impl.bridge.missing_required();
  std::vector<std::string> columns;
  for (int i = 0; i < sqlite3_column_count(*stmt); ++i) {
    columns.emplace_back(sqlite3_column_name(*stmt, i));
  }
  sqlite3_finalize(*stmt);
  if (!missing.ok()) {
    sqlite3_stmt* explain = nullptr;
    std::string explain_sql = "EXPLAIN " + std::string(sql);
    if (sqlite3_prepare_v3(impl.db, explain_sql.c_str(), -1, 0, &explain, nullptr) == SQLITE_OK) {
      while (sqlite3_step(explain) == SQLITE_ROW) {
        auto* opcode = reinterpret_cast<const char*>(sqlite3_column_text(explain, 1));
        auto* p4 = reinterpret_cast<const char*>(sqlite3_column_text(explain, 5));
        if (opcode != nullptr && p4 != nullptr && std::string_view(opcode) == "VFilter" &&
            std::string_view(p4) == "!") {
          status = missing;
          break;
        }
      }
    }
    sqlite3_finalize(explain);
  }
  impl.bridge.EndStatement();
  if (!status.ok()) return status;
  return columns;
}

bool IsCompleteStatement(const std::string& sql) { return sqlite3_complete(sql.c_str()) != 0; }

const std::vector<std::string>& Database::warnings() const { return impl_->bridge.warnings(); }

void Database::HoldRows(bool hold) { impl_->bridge.HoldRows(hold); }

size_t Database::generate_calls() const { return impl_->bridge.generate_calls(); }

}  // namespace vigil
