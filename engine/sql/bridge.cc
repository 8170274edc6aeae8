#include "engine/sql/bridge.h"

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "engine/host.h"
#include "engine/query_context.h"
#include "engine/registry.h"
#include "engine/table.h"

namespace vigil {

struct Bridge::Module {
  sqlite3_module methods{};
  Bridge* bridge = nullptr;
  const Table* table = nullptr;
  // SQLite's colUsed of every plan considered for this table since the last HoldRows(false).
  // While rows are held, the table is generated with all of them, so that a later statement
  // asking for more columns than the first one reuses the rows instead of reading the host
  // again (running nft or auditctl a second time, parsing dpkg's status file again).
  uint64_t columns_planned = 0;
};

namespace {

struct VTab {
  sqlite3_vtab base{};  // first: SQLite casts between the two
  Bridge::Module* module = nullptr;
};

struct Cursor {
  sqlite3_vtab_cursor base{};  // first
  std::shared_ptr<const Bridge::Rows> rows;
  size_t position = 0;
};

std::optional<ConstraintOp> MapOp(unsigned char op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return ConstraintOp::kEq;
    case SQLITE_INDEX_CONSTRAINT_LT: return ConstraintOp::kLt;
    case SQLITE_INDEX_CONSTRAINT_LE: return ConstraintOp::kLe;
    case SQLITE_INDEX_CONSTRAINT_GT: return ConstraintOp::kGt;
    case SQLITE_INDEX_CONSTRAINT_GE: return ConstraintOp::kGe;
    case SQLITE_INDEX_CONSTRAINT_LIKE: return ConstraintOp::kLike;
    case SQLITE_INDEX_CONSTRAINT_GLOB: return ConstraintOp::kGlob;
    default: return std::nullopt;
  }
}

// Whether a constraint of this kind lets a required column be listed: an exact value or a
// pattern names what to read; a range does not.
bool BindsRequired(ConstraintOp op) {
  return op == ConstraintOp::kEq || op == ConstraintOp::kLike || op == ConstraintOp::kGlob;
}

Value ToValue(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return Value(static_cast<int64_t>(sqlite3_value_int64(v)));
    case SQLITE_FLOAT: return Value(sqlite3_value_double(v));
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
      const char* data = reinterpret_cast<const char*>(sqlite3_value_blob(v));
      int size = sqlite3_value_bytes(v);
      return Value(std::string(data == nullptr ? "" : data, static_cast<size_t>(size)));
    }
    default: return Value();
  }
}

// Appends a value to a cache key so that different values never produce the same key.
void AppendKey(std::string& key, const Value& v) {
  key += static_cast<char>('0' + static_cast<int>(v.type()));
  std::string text = v.ToString();
  key += std::to_string(text.size());
  key += ':';
  key += text;
}

void SetError(sqlite3_vtab* vtab, const std::string& message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", message.c_str());
}

int xConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char** err) {
  auto* module = static_cast<Bridge::Module*>(aux);
  const Schema& schema = module->table->schema();
  std::string ddl = "CREATE TABLE x(";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const Column& c = schema.columns[i];
    if (i > 0) ddl += ", ";
    ddl += '"' + c.name + "\" ";
    ddl += ColumnTypeName(c.type);
    if (c.hidden()) ddl += " HIDDEN";
  }
  ddl += ")";
  int rc = sqlite3_declare_vtab(db, ddl.c_str());
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("table %s: cannot declare its schema: %s", schema.name.c_str(),
                           sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  auto* vtab = new (std::nothrow) VTab();  // owned by SQLite until xDisconnect
  if (vtab == nullptr) return SQLITE_NOMEM;
  vtab->module = module;
  *out = &vtab->base;
  return SQLITE_OK;
}

int xDisconnect(sqlite3_vtab* base) {
  sqlite3_free(base->zErrMsg);
  delete reinterpret_cast<VTab*>(base);
  return SQLITE_OK;
}

int xBestIndex(sqlite3_vtab* base, sqlite3_index_info* info) {
  Bridge::Module* module = reinterpret_cast<VTab*>(base)->module;
  module->columns_planned |= static_cast<uint64_t>(info->colUsed);
  const Schema& schema = module->table->schema();
  const bool needs_required = schema.HasRequiredColumns();
  bool required_bound = false;
  bool required_unusable = false;
  std::string plan;
  int argv_index = 0;
  double cost = 1e6;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn < 0 || static_cast<size_t>(c.iColumn) >= schema.columns.size()) continue;
    const Column& column = schema.columns[c.iColumn];
    if (!column.index() && !column.required()) continue;
    std::optional<ConstraintOp> op = MapOp(c.op);
    if (!op) continue;
    if (!c.usable) {
      if (column.required() && BindsRequired(*op)) required_unusable = true;
      continue;
    }
    info->aConstraintUsage[i].argvIndex = ++argv_index;
    info->aConstraintUsage[i].omit = 0;  // SQLite re-checks every row; collectors may be loose
    bool whole_in = *op == ConstraintOp::kEq && sqlite3_vtab_in(info, i, 1);
    plan += ' ';
    plan += std::to_string(c.iColumn);
    plan += ':';
    plan += std::to_string(static_cast<int>(*op));
    if (whole_in) plan += 'i';
    if (column.required() && BindsRequired(*op)) required_bound = true;
    cost /= *op == ConstraintOp::kEq ? 100 : (BindsRequired(*op) ? 10 : 2);
  }
  if (needs_required && !required_bound) {
    // Another join order may bind the column; tell SQLite this plan is not usable.
    if (required_unusable) return SQLITE_CONSTRAINT;
    // Nothing can bind it: make the plan cost "infinity" and fail the scan with a message.
    module->bridge->NoteMissingRequired(schema);
    for (int i = 0; i < info->nConstraint; ++i) info->aConstraintUsage[i].argvIndex = 0;
    info->idxStr = sqlite3_mprintf("!");
    info->needToFreeIdxStr = 1;
    info->estimatedCost = 1e300;
    info->estimatedRows = std::numeric_limits<sqlite3_int64>::max() / 2;
    return SQLITE_OK;
  }
  char used[24];
  std::snprintf(used, sizeof(used), "u%llx", static_cast<unsigned long long>(info->colUsed));
  info->idxStr = sqlite3_mprintf("%s%s", used, plan.c_str());
  info->needToFreeIdxStr = 1;
  info->estimatedCost = cost;
  info->estimatedRows = static_cast<sqlite3_int64>(cost);
  return SQLITE_OK;
}

int xOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = new (std::nothrow) Cursor();  // owned by SQLite until xClose
  if (cursor == nullptr) return SQLITE_NOMEM;
  *out = &cursor->base;
  return SQLITE_OK;
}

int xClose(sqlite3_vtab_cursor* base) {
  delete reinterpret_cast<Cursor*>(base);
  return SQLITE_OK;
}

int xFilter(sqlite3_vtab_cursor* base, int, const char* idx_str, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  auto* vtab = reinterpret_cast<VTab*>(base->pVtab);
  const Table& table = *vtab->module->table;
  auto rows = vtab->module->bridge->Scan(table, idx_str == nullptr ? "" : idx_str, argc, argv);
  if (!rows.ok()) {
    SetError(&vtab->base, rows.status().message());
    return SQLITE_ERROR;
  }
  cursor->rows = std::move(rows).value();
  cursor->position = 0;
  return SQLITE_OK;
}

int xNext(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<Cursor*>(base)->position;
  return SQLITE_OK;
}

int xEof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  return cursor->rows == nullptr || cursor->position >= cursor->rows->size();
}

int xColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  const Row& row = (*cursor->rows)[cursor->position];
  if (column < 0 || static_cast<size_t>(column) >= row.size()) {
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  const Value& v = row[column];
  switch (v.type()) {
    case Value::Type::kNull: sqlite3_result_null(ctx); break;
    case Value::Type::kInteger: sqlite3_result_int64(ctx, v.integer()); break;
    case Value::Type::kReal: sqlite3_result_double(ctx, v.real()); break;
    case Value::Type::kText:
      // The rows stay in the statement cache until the statement ends.
      sqlite3_result_text(ctx, v.text().data(), static_cast<int>(v.text().size()), SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

int xRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(base)->position);
  return SQLITE_OK;
}

}  // namespace

Bridge::Bridge(const TableRegistry& registry, const Host& host)
    : registry_(registry), host_(host) {}

Bridge::~Bridge() = default;

Status Bridge::Install(sqlite3* db) {
  for (const auto& table : registry_.tables()) {
    auto module = std::make_unique<Module>();
    module->bridge = this;
    module->table = table.get();
    sqlite3_module& m = module->methods;
    m.iVersion = 0;
    m.xCreate = nullptr;  // eponymous only: no CREATE VIRTUAL TABLE
    m.xConnect = xConnect;
    m.xBestIndex = xBestIndex;
    m.xDisconnect = xDisconnect;
    m.xDestroy = nullptr;
    m.xOpen = xOpen;
    m.xClose = xClose;
    m.xFilter = xFilter;
    m.xNext = xNext;
    m.xEof = xEof;
    m.xColumn = xColumn;
    m.xRowid = xRowid;
    int rc = sqlite3_create_module_v2(db, table->schema().name.c_str(), &module->methods,
                                      module.get(), nullptr);
    if (rc != SQLITE_OK) {
      return Status::Internal("cannot register table " + table->schema().name + ": " +
                              sqlite3_errmsg(db));
    }
    modules_.push_back(std::move(module));
  }
  return Status::Ok();
}

Status MissingRequiredError(const Schema& schema) {
  std::string names = schema.RequiredColumnNames();
  std::string first = names.substr(0, names.find(','));
  return Status::InvalidArgument(
      "table " + schema.name + " cannot be listed without a constraint on " +
      (names.find(',') == std::string::npos ? "" : "one of ") + names + " (for example WHERE " +
      first + " = '...')");
}

void Bridge::NoteMissingRequired(const Schema& schema) {
  if (missing_required_.ok()) missing_required_ = MissingRequiredError(schema);
}

void Bridge::BeginStatement(std::optional<std::chrono::steady_clock::time_point> deadline) {
  deadline_ = deadline;
  missing_required_ = Status::Ok();
  warnings_.clear();
  if (!hold_) cache_.clear();
  table_error_ = Status::Ok();
}

void Bridge::EndStatement() {
  if (!hold_) cache_.clear();
  deadline_.reset();
}

void Bridge::HoldRows(bool hold) {
  hold_ = hold;
  if (!hold) {
    cache_.clear();
    for (const auto& module : modules_) module->columns_planned = 0;
  }
}

Result<std::shared_ptr<const Bridge::Rows>> Bridge::Scan(const Table& table,
                                                          const std::string& plan, int argc,
                                                          sqlite3_value** argv) {
  const Schema& schema = table.schema();
  if (plan == "!") {
    table_error_ = MissingRequiredError(schema);
    return table_error_;
  }
  QueryContext ctx(host_, schema);
  if (deadline_) ctx.SetDeadline(*deadline_);
  ctx.SetWarningSink(&warnings_);
  std::string key = schema.name;
  uint64_t used = ~uint64_t{0};
  std::istringstream tokens(plan);
  std::string token;
  int arg = 0;
  while (tokens >> token) {
    if (token[0] == 'u') {
      used = std::strtoull(token.c_str() + 1, nullptr, 16);
      ctx.SetUsedColumns(used);
      continue;
    }
    if (arg >= argc) return Status::Internal("plan of " + schema.name + " names too many values");
    char* end = nullptr;
    long column = std::strtol(token.c_str(), &end, 10);
    long op = std::strtol(end + 1, &end, 10);
    bool whole_in = *end == 'i';
    Constraint constraint{static_cast<ConstraintOp>(op), {}};
    sqlite3_value* value = argv[arg++];
    if (whole_in) {
      sqlite3_value* item = nullptr;
      for (int rc = sqlite3_vtab_in_first(value, &item); rc == SQLITE_OK && item != nullptr;
           rc = sqlite3_vtab_in_next(value, &item)) {
        constraint.values.push_back(ToValue(item));
      }
    } else {
      constraint.values.push_back(ToValue(value));
    }
    key += '\x1e';
    key += token;
    key += '\x1f';
    for (const Value& v : constraint.values) AppendKey(key, v);
    ctx.AddConstraint(static_cast<int>(column), std::move(constraint));
  }
  // Rows computed for a superset of the columns serve too.
  auto& entries = cache_[key];
  for (const Cached& c : entries) {
    if ((c.used & used) == used) return c.rows;
  }

  if (hold_) {
    for (const auto& module : modules_) {
      if (module->table != &table) continue;
      used |= module->columns_planned;
      ctx.SetUsedColumns(used);
      break;
    }
  }

  VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
  ++generate_calls_;
  auto rows = table.generate(ctx);
  if (!rows.ok()) {
    table_error_ = rows.status().WithContext("table " + schema.name);
    return table_error_;
  }
  auto shared = std::make_shared<const Rows>(std::move(rows).value());
  entries.push_back({used, shared});
  return shared;
}

}  // namespace vigil
