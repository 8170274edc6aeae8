#include "agent/extension/extension_table.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>
#include <utility>

#include "agent/extension/gen/Extension.h"
#include "agent/extension/transport.h"

namespace vigil::agent::extension {
namespace {

using Clock = std::chrono::steady_clock;

// A table's rows may be larger than a request, but not without bound.
constexpr size_t kMaxCallResponseBytes = size_t{64} << 20;

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteJsonValue(JsonWriter& w, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: w.Null(); break;
    case Value::Type::kInteger: w.Int64(v.integer()); break;
    case Value::Type::kReal:
      if (std::isfinite(v.real())) {
        w.Double(v.real());
      } else {
        w.Null();  // JSON has no infinity or NaN
      }
      break;
    case Value::Type::kText:
      w.String(v.text().data(), static_cast<rapidjson::SizeType>(v.text().size()));
      break;
  }
}

Result<ColumnType> ToColumnType(wire::ColumnType::type type, const std::string& where) {
  switch (type) {
    case wire::ColumnType::TEXT: return ColumnType::kText;
    case wire::ColumnType::INTEGER:
    case wire::ColumnType::BIGINT: return ColumnType::kInteger;
    case wire::ColumnType::DOUBLE: return ColumnType::kReal;
  }
  return Status::InvalidArgument(where + ": unknown column type " +
                                 std::to_string(static_cast<int>(type)) +
                                 " (TEXT=1, INTEGER=2, BIGINT=3, DOUBLE=4)");
}

// A cell sent as text, typed as its column declares. Text that is not a number in a numeric
// column becomes NULL with a warning.
Value ToValue(const std::string& text, const Column& column, const std::string& table,
              const QueryContext& ctx) {
  if (column.type == ColumnType::kText) return Value(text);
  if (text.empty()) return Value::Null();
  const char* end = text.data() + text.size();
  if (column.type == ColumnType::kInteger) {
    int64_t n = 0;
    auto [at, ec] = std::from_chars(text.data(), end, n);
    if (ec == std::errc() && at == end) return Value(n);
  } else {
    double d = 0;
    auto [at, ec] = std::from_chars(text.data(), end, d);
    if (ec == std::errc() && at == end) return Value(d);
  }
  ctx.Warn(table + ": column " + column.name + ": the extension sent '" + text.substr(0, 40) +
           "', not a " + std::string(ColumnTypeName(column.type)) + "; shown as NULL");
  return Value::Null();
}

}  // namespace

ExtensionLink::ExtensionLink(std::string name, std::string socket_path,
                             std::chrono::milliseconds call_timeout,
                             std::function<void()> on_dead)
    : name_(std::move(name)),
      socket_path_(std::move(socket_path)),
      call_timeout_(call_timeout),
      on_dead_(std::move(on_dead)) {}

std::string ExtensionLink::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

void ExtensionLink::MarkDead(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (dead_.load()) return;
    reason_ = reason;
    dead_.store(true);
  }
  if (on_dead_) on_dead_();
}

Result<std::unique_ptr<ExtensionTable>> ExtensionTable::Make(const wire::TableSchema& wire_schema,
                                                             std::shared_ptr<ExtensionLink> link) {
  Schema schema;
  schema.name = wire_schema.name;
  schema.description = wire_schema.description;
  if (wire_schema.columns.empty()) {
    return Status::InvalidArgument("table " + schema.name + " has no columns");
  }
  for (const wire::ColumnDefinition& c : wire_schema.columns) {
    Column column;
    column.name = c.name;
    column.description = c.description;
    // Every constraint reaches the extension, which may use it to do less work.
    column.flags = kIndex;
    VIGIL_ASSIGN_OR_RETURN(column.type,
                           ToColumnType(c.type, "table " + schema.name + " column " + c.name));
    schema.columns.push_back(std::move(column));
  }
  VIGIL_RETURN_IF_ERROR(schema.Validate());
  return std::unique_ptr<ExtensionTable>(new ExtensionTable(std::move(schema), std::move(link)));
}

std::map<std::string, std::string> CallRequest(const QueryContext& ctx) {
  const Schema& schema = ctx.schema();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  std::string columns;
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const int column = static_cast<int>(i);
    if (ctx.IsUsed(column)) {
      if (!columns.empty()) columns += ',';
      columns += schema.columns[i].name;
    }
    const auto& list = ctx.constraints(column);
    if (list.empty()) continue;
    w.Key(schema.columns[i].name.c_str());
    w.StartArray();
    for (const auto& constraint : list) {
      w.StartObject();
      w.Key("op");
      w.String(std::string(ConstraintOpName(constraint.op)).c_str());
      w.Key("values");
      w.StartArray();
      for (const Value& v : constraint.values) WriteJsonValue(w, v);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return {{"action", "generate"},
          {"constraints", std::string(buffer.GetString(), buffer.GetSize())},
          {"columns", columns}};
}

Result<std::vector<Row>> ExtensionTable::generate(const QueryContext& ctx) const {
  const std::string& table = schema_.name;
  const std::string peer =
      "extension " + link_->name() + " (" + link_->socket_path() + ")";
  if (link_->dead()) {
    return Status::Unavailable("table " + table + ": " + peer + " is no longer available: " +
                               link_->reason());
  }
  // The statement's own deadline may leave less than the call timeout; running out of it then
  // says nothing about the extension.
  std::chrono::milliseconds timeout = link_->call_timeout();
  bool statement_bound = false;
  if (auto deadline = ctx.deadline()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    if (left < timeout) {
      timeout = std::max(left, std::chrono::milliseconds(1));
      statement_bound = true;
    }
  }
  auto fail = [&](const Status& status) -> Status {
    if (status.code() == StatusCode::kDeadlineExceeded && statement_bound) {
      return Status::DeadlineExceeded("table " + table + ": the statement ran out of time "
                                      "waiting for " + peer);
    }
    link_->MarkDead(status.message());
    return status.WithContext("table " + table + " (extension " + link_->name() +
                              " unregistered)");
  };

  auto connection = Connect(link_->socket_path(), timeout, kMaxCallResponseBytes);
  if (!connection.ok()) {
    return fail(Status::Unavailable("cannot reach " + peer + ": " +
                                    connection.status().message()));
  }
  wire::ExtensionClient client(connection->protocol);
  wire::ExtensionResponse response;
  Status called = CatchThrift(peer, [&] {
    client.call(response, "table", table, CallRequest(ctx));
    connection->transport->close();
  });
  if (!called.ok()) return fail(called);
  if (Status s = FromWire(response.status); !s.ok()) {
    return Status(s).WithContext("table " + table + ": " + peer + " reported");
  }

  std::vector<Row> rows;
  rows.reserve(response.response.size());
  for (const auto& cells : response.response) {
    Row row(schema_.columns.size());
    for (const auto& [name, text] : cells) {
      int column = schema_.ColumnIndex(name);
      if (column < 0) {
        return Status::InvalidArgument("table " + table + ": " + peer +
                                       " returned a column it did not register: " + name);
      }
      row[static_cast<size_t>(column)] =
          ToValue(text, schema_.columns[static_cast<size_t>(column)], table, ctx);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Status PingExtension(const std::string& socket_path, std::chrono::milliseconds timeout) {
  const std::string peer = "the extension at " + socket_path;
  auto connection = Connect(socket_path, timeout);
  if (!connection.ok()) {
    return Status::Unavailable("cannot reach " + peer + ": " + connection.status().message());
  }
  wire::ExtensionClient client(connection->protocol);
  wire::ExtensionStatus status;
  VIGIL_RETURN_IF_ERROR(CatchThrift(peer, [&] {
    client.ping(status);
    connection->transport->close();
  }));
  return FromWire(status).WithContext(peer);
}

}  // namespace vigil::agent::extension
