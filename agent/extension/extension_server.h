// The daemon's extension socket: a Thrift service (agent/extension/vigil_extension.thrift) on a
// UNIX socket through which clients (`vigil sql|shell --connect SOCKET`, programs in any
// Thrift language) run read-only SQL on the daemon's engine, and extension processes register
// tables that the engine then serves like built-in ones.
//
//   auto engine = agent::SharedEngine::Open(std::move(host), std::move(registry));
//   agent::ExtensionServer server(**engine, {.socket_path = "/run/vigil/vigil.sock"});
//   if (Status s = server.Start(); !s.ok()) ...  // names the path and the reason
//   ...
//   server.Stop();                                // also done by the destructor
//
// Start() refuses a path where a live server answers or where something other than a socket
// exists, removes a stale socket file, and creates the socket with mode 0600 (only the daemon's
// user may connect). Clients are served on the server's own threads (at most max_clients at
// once); each connection has receive and send timeouts and a bound on request size, and a
// client that sends something undecodable is disconnected without affecting others.
// Statements run through the SharedEngine with its read-only Database and statement_timeout,
// waiting at most engine_wait for a convergence cycle to let go of the engine.
//
// Registered extensions are pinged every ping_interval on a housekeeping thread; one that
// fails a ping or a call (dead, hung past call_timeout, speaking garbage) is unregistered and
// its tables removed from the engine once no statement runs. Stop() returns once running
// calls have finished (each is bounded by the statement and call time limits), and removes the
// socket file and every extension's tables.
//
// Thread safety: Start() and Stop() are called by the owner's thread; everything else runs on
// the server's threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/shared_engine.h"
#include "engine/status.h"

namespace vigil::agent {

struct ExtensionServerOptions {
  std::string socket_path;
  // Time limit of one call to an extension (a table scan) and of a ping.
  std::chrono::milliseconds call_timeout{2000};
  std::chrono::milliseconds ping_interval{5000};
  // Time limit of a statement a client runs (a client may ask for less, never more).
  std::chrono::milliseconds statement_timeout{10'000};
  // How long a client's statement waits for the engine while a cycle holds it.
  std::chrono::milliseconds engine_wait{5000};
  // Receive and send timeout of a client connection: an idle client is disconnected after it.
  std::chrono::milliseconds client_timeout{30'000};
  size_t max_clients = 16;
  // Largest request frame a client may send.
  size_t max_request_bytes = size_t{1} << 20;
  // Receives one line per notable event (an extension registered or unregistered, and why).
  // Called from the server's threads. Default: discarded.
  std::function<void(std::string_view)> log;
};

// One registered extension, as extensions() reports it.
struct ExtensionSummary {
  int64_t uuid = 0;
  std::string name;
  std::string version;
  std::string socket_path;
  std::vector<std::string> tables;
};

class ExtensionServer {
 public:
  // `engine` must outlive the server.
  ExtensionServer(SharedEngine& engine, ExtensionServerOptions options);
  ~ExtensionServer();
  ExtensionServer(const ExtensionServer&) = delete;
  ExtensionServer& operator=(const ExtensionServer&) = delete;

  // Listens on options.socket_path and starts serving. Errors name the path: FailedPrecondition
  // when a server already answers there or the path is not a socket, IoError when it cannot be
  // created.
  Status Start();
  // Stops accepting, disconnects clients, unregisters every extension and removes the socket
  // file. Idempotent.
  void Stop();

  // The extensions registered now, by uuid.
  std::vector<ExtensionSummary> Extensions() const;

  // Private to extension_server.cc (its request handler reaches it).
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent
