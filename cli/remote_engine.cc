#include "cli/remote_engine.h"

#include <map>
#include <utility>

#include "agent/extension/extension_client.h"
#include "cli/local_engine.h"

namespace vigil::cli {
namespace {

// How long connecting to the daemon, and waiting for it beyond a statement's limit, may take.
constexpr std::chrono::milliseconds kConnectTimeout{5000};

class LocalStatementEngine final : public StatementEngine {
 public:
  explicit LocalStatementEngine(LocalEngine engine) : engine_(std::move(engine)) {}

  Result<size_t> Stream(std::string_view sql, const Database::ColumnsCallback& on_columns,
                        const Database::RowCallback& on_row) override {
    return engine_.database->Stream(sql, engine_.options, on_columns, on_row);
  }
  const std::vector<std::string>& warnings() const override {
    return engine_.database->warnings();
  }
  const QueryOptions& options() const override { return engine_.options; }
  Result<std::vector<Schema>> Tables() override {
    std::vector<Schema> out;
    for (const auto& t : engine_.registry->tables()) out.push_back(t->schema());
    return out;
  }
  std::string Describe() const override {
    return engine_.host->is_machine_root() ? "this host" : "root " + engine_.host->root();
  }

 private:
  LocalEngine engine_;
};

class RemoteStatementEngine final : public StatementEngine {
 public:
  RemoteStatementEngine(std::unique_ptr<agent::ExtensionClient> client, QueryOptions options)
      : client_(std::move(client)), options_(std::move(options)) {}

  // The daemon returns the whole result at once; it is handed over row by row like a local
  // one, so the printers do not know the difference.
  Result<size_t> Stream(std::string_view sql, const Database::ColumnsCallback& on_columns,
                        const Database::RowCallback& on_row) override {
    warnings_.clear();
    auto result = client_->Execute(sql, options_);
    if (!result.ok()) return result.status();
    warnings_ = std::move(result->warnings);
    on_columns(result->columns);
    for (Row& row : result->rows) {
      if (!on_row(std::move(row))) break;
    }
    return result->rows_total;
  }
  const std::vector<std::string>& warnings() const override { return warnings_; }
  const QueryOptions& options() const override { return options_; }

  Result<std::vector<Schema>> Tables() override {
    QueryOptions options = options_;
    options.max_rows.reset();
    VIGIL_ASSIGN_OR_RETURN(
        QueryResult tables,
        client_->Execute("SELECT name, description FROM vigil_tables ORDER BY name", options));
    VIGIL_ASSIGN_OR_RETURN(
        QueryResult columns,
        client_->Execute("SELECT table_name, name, type, flags, description FROM vigil_columns "
                         "ORDER BY table_name, position",
                         options));
    std::map<std::string, Schema> by_name;
    for (const Row& row : tables.rows) {
      Schema& s = by_name[row[0].ToString()];
      s.name = row[0].ToString();
      s.description = row[1].ToString();
    }
    for (const Row& row : columns.rows) {
      auto it = by_name.find(row[0].ToString());
      if (it == by_name.end()) continue;  // a table that came or went between the two
      Column c;
      c.name = row[1].ToString();
      const std::string type = row[2].ToString();
      c.type = type == "INTEGER" ? ColumnType::kInteger
               : type == "REAL"  ? ColumnType::kReal
                                 : ColumnType::kText;
      const std::string flags = "," + row[3].ToString() + ",";
      if (flags.find(",required,") != std::string::npos) c.flags |= kRequired;
      if (flags.find(",index,") != std::string::npos) c.flags |= kIndex;
      if (flags.find(",hidden,") != std::string::npos) c.flags |= kHidden;
      c.description = row[4].ToString();
      it->second.columns.push_back(std::move(c));
    }
    std::vector<Schema> out;
    for (auto& [name, schema] : by_name) out.push_back(std::move(schema));
    return out;
  }
  std::string Describe() const override { return "the daemon at " + client_->socket_path(); }

 private:
  std::unique_ptr<agent::ExtensionClient> client_;
  const QueryOptions options_;
  std::vector<std::string> warnings_;
};

}  // namespace

void AddStatementEngineFlags(FlagSet& flags) {
  flags.Value("connect", "SOCKET",
              "Send statements to the running daemon's extension socket instead of reading "
              "this host (not with --root)");
  AddEngineFlags(flags);
}

Result<std::unique_ptr<StatementEngine>> OpenStatementEngine(const FlagSet& flags) {
  auto socket = flags.Get("connect");
  if (!socket) {
    VIGIL_ASSIGN_OR_RETURN(LocalEngine engine, OpenLocalEngine(flags));
    return std::unique_ptr<StatementEngine>(new LocalStatementEngine(std::move(engine)));
  }
  if (flags.IsSet("root")) {
    return Status::InvalidArgument(
        "--connect and --root cannot be combined: the daemon reads the host at its own root");
  }
  if (socket->empty()) return Status::InvalidArgument("--connect needs a socket path");
  QueryOptions options;
  VIGIL_ASSIGN_OR_RETURN(options.timeout, ParseDuration(*flags.Get("timeout")));
  if (auto max_rows = flags.Get("max-rows")) {
    VIGIL_ASSIGN_OR_RETURN(long long n, ParseCount(*max_rows, "--max-rows"));
    options.max_rows = static_cast<size_t>(n);
  }
  VIGIL_ASSIGN_OR_RETURN(auto client, agent::ExtensionClient::Connect(*socket, kConnectTimeout));
  return std::unique_ptr<StatementEngine>(
      new RemoteStatementEngine(std::move(client), std::move(options)));
}

}  // namespace vigil::cli
