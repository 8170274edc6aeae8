#include "agent/extension/extension_client.h"

#include "agent/extension/gen/Daemon.h"
#include "agent/extension/transport.h"

namespace vigil::agent {
namespace {

namespace wire = extension::wire;

// Opens a connection and runs fn(client) on it.
template <typename F>
Status WithDaemon(const std::string& path, std::chrono::milliseconds timeout, F&& fn) {
  auto connection = extension::Connect(path, timeout);
  if (!connection.ok()) {
    return Status::Unavailable("cannot connect to " + path + ": " +
                               connection.status().message());
  }
  wire::DaemonClient client(connection->protocol);
  return extension::CatchThrift("the daemon at " + path, [&] {
    fn(client);
    connection->transport->close();
  });
}

Value FromCell(const wire::Cell& cell) {
  if (cell.__isset.integer_value) return Value(cell.integer_value);
  if (cell.__isset.real_value) return Value(cell.real_value);
  if (cell.__isset.text_value) return Value(cell.text_value);
  return Value::Null();
}

}  // namespace

Result<std::unique_ptr<ExtensionClient>> ExtensionClient::Connect(
    std::string socket_path, std::chrono::milliseconds timeout) {
  wire::ExtensionStatus status;
  VIGIL_RETURN_IF_ERROR(
      WithDaemon(socket_path, timeout, [&](wire::DaemonClient& c) { c.ping(status); }));
  if (Status s = extension::FromWire(status); !s.ok()) {
    return s.WithContext("cannot connect to " + socket_path);
  }
  return std::unique_ptr<ExtensionClient>(new ExtensionClient(std::move(socket_path), timeout));
}

Result<QueryResult> ExtensionClient::Execute(std::string_view sql, const QueryOptions& options) {
  if (!options.parameters.empty()) {
    return Status::InvalidArgument("statement parameters cannot be sent to the daemon");
  }
  wire::ExecuteOptions wire_options;
  wire_options.timeout_ms = options.timeout.count();
  wire_options.max_rows = options.max_rows ? static_cast<int64_t>(*options.max_rows) : 0;
  wire::QueryResult response;
  auto start = std::chrono::steady_clock::now();
  // The daemon may wait for its engine, then run the statement up to its time limit.
  VIGIL_RETURN_IF_ERROR(WithDaemon(socket_path_, timeout_ + options.timeout,
                                   [&](wire::DaemonClient& c) {
                                     c.execute(response, std::string(sql), wire_options);
                                   }));
  VIGIL_RETURN_IF_ERROR(extension::FromWire(response.status));
  QueryResult result;
  result.columns = std::move(response.columns);
  result.rows.reserve(response.rows.size());
  for (const auto& cells : response.rows) {
    Row row;
    row.reserve(cells.size());
    for (const wire::Cell& cell : cells) row.push_back(FromCell(cell));
    result.rows.push_back(std::move(row));
  }
  result.rows_total = static_cast<size_t>(std::max<int64_t>(response.rows_total, 0));
  result.warnings = std::move(response.warnings);
  result.duration_ms = std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now() - start).count();
  return result;
}

Result<std::vector<std::string>> ExtensionClient::Columns(std::string_view sql) {
  wire::ExtensionResponse response;
  VIGIL_RETURN_IF_ERROR(WithDaemon(socket_path_, timeout_, [&](wire::DaemonClient& c) {
    c.getQueryColumns(response, std::string(sql));
  }));
  VIGIL_RETURN_IF_ERROR(extension::FromWire(response.status));
  std::vector<std::string> names;
  for (const auto& column : response.response) {
    for (const auto& [name, type] : column) names.push_back(name);
  }
  return names;
}

Result<std::vector<ExtensionSummary>> ExtensionClient::Extensions() {
  std::map<int64_t, wire::RegisteredExtension> registered;
  VIGIL_RETURN_IF_ERROR(WithDaemon(socket_path_, timeout_, [&](wire::DaemonClient& c) {
    c.extensions(registered);
  }));
  std::vector<ExtensionSummary> out;
  for (auto& [uuid, e] : registered) {
    ExtensionSummary summary;
    summary.uuid = uuid;
    summary.name = e.info.name;
    summary.version = e.info.version;
    summary.socket_path = e.info.socket_path;
    summary.tables = e.tables;
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace vigil::agent
