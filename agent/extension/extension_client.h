// A client of the daemon's extension socket, for `vigil sql|shell --connect SOCKET` and tests:
// runs statements on the running daemon's engine and lists its extensions. Each call opens its
// own short connection (the daemon drops idle ones), so a client may sit idle for any time.
//
// Not thread-safe: one ExtensionClient per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/extension/extension_server.h"
#include "engine/sql/database.h"
#include "engine/status.h"

namespace vigil::agent {

class ExtensionClient {
 public:
  // Checks that a daemon answers `ping` at `socket_path` within `timeout`; Unavailable
  // "cannot connect to PATH: ..." when nothing listens there. `timeout` also bounds every
  // later call beyond the statement's own time limit.
  static Result<std::unique_ptr<ExtensionClient>> Connect(std::string socket_path,
                                                          std::chrono::milliseconds timeout);

  // Runs one statement on the daemon: columns in order, typed rows, warnings. The daemon
  // applies options.timeout (capped at its own limit) and options.max_rows; parameters are not
  // supported (InvalidArgument).
  Result<QueryResult> Execute(std::string_view sql, const QueryOptions& options);
  // The result columns of a statement, prepared but not run.
  Result<std::vector<std::string>> Columns(std::string_view sql);
  Result<std::vector<ExtensionSummary>> Extensions();

  const std::string& socket_path() const { return socket_path_; }

 private:
  ExtensionClient(std::string socket_path, std::chrono::milliseconds timeout)
      : socket_path_(std::move(socket_path)), timeout_(timeout) {}

  const std::string socket_path_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace vigil::agent
