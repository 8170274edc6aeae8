#include "engine/sql/authorizer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

#include "engine/sql/functions.h"

namespace vigil {
namespace {

// SQLite's own functions that only compute: core, date and time, aggregate, window, math and
// JSON functions. Anything not here (load_extension, fts3_tokenizer, ...) is denied.
constexpr std::string_view kSqliteFunctions[] = {
    // core
    "abs", "changes", "char", "coalesce", "format", "glob", "hex", "ifnull", "iif", "instr",
    "last_insert_rowid", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min",
    "nullif", "printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign",
    "soundex", "sqlite_source_id", "sqlite_version", "substr", "substring", "total_changes",
    "trim", "typeof", "unicode", "unlikely", "upper", "zeroblob", "octet_length",
    // date and time
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "current_date",
    "current_time", "current_timestamp",
    // aggregate
    "avg", "count", "group_concat", "sum", "total", "string_agg",
    // window
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    // math
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
    "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power",
    "radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
    // JSON
    "json", "json_array", "json_array_length", "json_extract", "json_insert", "json_object",
    "json_patch", "json_quote", "json_remove", "json_replace", "json_set", "json_type",
    "json_valid", "json_group_array", "json_group_object", "json_each", "json_tree",
    // used by SQLite internally when planning LIKE, IN and generated expressions
    "->", "->>",
};

// PRAGMAs that only describe; they may be used as statements or table-valued functions.
constexpr std::string_view kAllowedPragmas[] = {"table_info", "table_xinfo", "function_list"};

std::string Lower(const char* s) {
  std::string out = s == nullptr ? "" : s;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const std::set<std::string, std::less<>>& AllowedFunctions() {
  static const std::set<std::string, std::less<>> names = [] {
    std::set<std::string, std::less<>> set;
    for (std::string_view f : kSqliteFunctions) set.emplace(f);
    for (std::string_view f : VigilFunctionNames()) set.emplace(f);
    return set;
  }();
  return names;
}

const char* ActionName(int action) {
  switch (action) {
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_TRANSACTION: return "a transaction statement";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE: return "CREATE";
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE: return "DROP";
    default: return "this statement";
  }
}

int Callback(void* self, int action, const char* arg1, const char* arg2, const char*,
             const char*) {
  return static_cast<Authorizer*>(self)->Decide(action, arg1, arg2);
}

}  // namespace

void Authorizer::Install(sqlite3* db) { sqlite3_set_authorizer(db, Callback, this); }

int Authorizer::Decide(int action, const char* arg1, const char* arg2) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ: {
      // Table-valued PRAGMAs (SELECT * FROM pragma_database_list) arrive as reads.
      std::string table = Lower(arg1);
      if (table.rfind("pragma_", 0) != 0) return SQLITE_OK;
      return DecidePragma(table.substr(7));
    }
    case SQLITE_UPDATE:
      // SQLite asks this of its own schema table when a statement first uses an eponymous
      // virtual table. A real UPDATE of it is still refused: the defensive flag forbids it and
      // the statement would not be read-only.
      if (arg1 != nullptr && (Lower(arg1) == "sqlite_master" || Lower(arg1) == "sqlite_schema")) {
        return SQLITE_OK;
      }
      break;
    case SQLITE_FUNCTION: {
      std::string name = Lower(arg2);
      if (AllowedFunctions().count(name) != 0) return SQLITE_OK;
      if (denial_.empty()) {
        denial_ = "function " + name + "() is not allowed: Vigil SQL may only call listed functions";
      }
      return SQLITE_DENY;
    }
    case SQLITE_PRAGMA:
      return DecidePragma(Lower(arg1));
    default:
      break;
  }
  if (denial_.empty()) {
    denial_ = std::string(ActionName(action)) +
              " is not allowed: Vigil SQL is read-only (SELECT and WITH only)";
  }
  return SQLITE_DENY;
}

int Authorizer::DecidePragma(const std::string& name) {
  bool allowed = std::find(std::begin(kAllowedPragmas), std::end(kAllowedPragmas), name) !=
                 std::end(kAllowedPragmas);
  if (allowed) return SQLITE_OK;
  if (denial_.empty()) {
    denial_ = "PRAGMA " + name + " is not allowed: only table_info, table_xinfo and "
              "function_list may be used";
  }
  return SQLITE_DENY;
}

}  // namespace vigil
