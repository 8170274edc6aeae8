// The agent (`vigil daemon`, DESIGN.md "The agent"): every cycle it runs the scheduled queries
// and checks that are due, logs query results in osquery's format (results file and outbox),
// records verdict changes, and repairs failing checks where the config says `enforce: auto`,
// proving each repair by running the check again. It runs from the last config it accepted, so
// a node that cannot reach its hub keeps enforcing and keeps its evidence.
//
// One daemon per state directory: Open() takes the store's lock, and a second daemon on the
// same directory is refused naming the holder.
//
// Threads: the cycle runs on the caller's thread (Run or RunCycle); the extension socket, when
// enabled, serves queries on its own threads through the same SharedEngine, between the
// cycle's statements; with a hub, Run() starts the hub link on its own thread (it reads and
// deletes outbox items and runs live queries through the same engine) and stops it on return.
// A config the hub sends is verified against the pinned hub key and loaded on the link's thread,
// kept in the store, and adopted by the cycle's thread at the start of its next cycle (the
// cycle loop is woken for it), never in the middle of one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/agent_status.h"
#include "engine/status.h"
#include "engine/wire/messages.h"

namespace vigil::agent {

enum class LogLevel { kError, kWarning, kInfo, kDebug };
std::string_view LogLevelName(LogLevel level);  // "error", "warning", "info", "debug"

struct DaemonOptions {
  std::string state_dir;
  std::string root = "/";
  // A local config file (the `config` message's shape, with pack names allowed); not with
  // hub_url. Without one, the daemon runs from the config kept in the store (one the hub sent
  // only when its signature verifies again against the pinned hub key; with hub_url only one
  // the hub sent), else from the built-in default (the iec62443 bundle, report only). With a
  // hub, a config it sends is verified and kept by the hub link and adopted between cycles.
  std::optional<std::string> config_path;
  std::chrono::milliseconds cycle{15'000};
  std::optional<std::string> host_identifier;  // default: the host's hostname
  std::chrono::milliseconds statement_timeout{10'000};
  // The extension socket; empty disables it. Default: STATE_DIR/vigil.sock (set by the caller).
  std::string extensions_socket;
  std::string results_log;  // default: STATE_DIR/results.log
  uint64_t results_log_max_bytes = 25u << 20;
  uint64_t outbox_max_bytes = 64u << 20;
  // A verdict goes to the outbox when it changes, and again after this long unchanged, so the
  // hub can tell a quiet node from a silent one.
  std::chrono::seconds verdict_refresh{3600};
  // A repair that did not fix its check is tried again only when the check's rows change, or
  // after this long.
  std::chrono::seconds repair_retry{3600};
  // Items that were running when the process died are skipped this long after a restart.
  std::chrono::seconds crash_denial{3600};
  // The hub (agent/hub_client.h): empty runs the node alone. The cycle runs the same either
  // way; the link sends the outbox and answers live queries while the hub is reachable.
  std::string hub_url;
  std::string enroll_secret_file;  // read by Open(): the secret of the first enrolment
  std::string hub_ca_file;         // trust the hub through this CA file, or
  std::string hub_fingerprint;     // its certificate's SHA-256 ("AB:CD:.."); neither: system CAs
  std::chrono::milliseconds hub_backoff_min{1'000};  // reconnect backoff, doubling to
  std::chrono::milliseconds hub_backoff_max{60'000};
  LogLevel log_level = LogLevel::kInfo;
  // Where log lines go (default: standard error, one line each).
  std::function<void(LogLevel, const std::string&)> log;
};

// What one cycle did.
struct CycleReport {
  int queries = 0;          // scheduled queries run
  int query_errors = 0;     // of queries and checks
  int log_lines = 0;        // result log lines written
  int checks = 0;           // checks evaluated
  int failing = 0;          // of them, fail or error after any repair
  int repaired = 0;         // fixed by an enforcer in this cycle
  int verdicts_queued = 0;  // verdicts put in the outbox (changed or refreshed)
  double duration_ms = 0;
};

class Daemon {
 public:
  // Opens the state directory, loads the config (a config file that does not load is an error
  // when there is no earlier config to fall back on), opens the engine and the extension
  // socket. Every error names the file or directory concerned.
  static Result<std::unique_ptr<Daemon>> Open(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // One cycle: what is due (with `everything`, every query and check, due or not).
  Result<CycleReport> RunCycle(bool everything = false);

  // Runs cycles every `cycle` until Stop(). A SIGHUP-style Reload() between cycles reloads the
  // local config; a config that does not load is reported and the current one kept.
  void Run();
  // Thread-safe; a cycle in progress finishes the step it is on (a scheduled query, the batch
  // of checks, the repairs) with its writes, and stops.
  void Stop();
  void Reload();

  // Re-reads the local config file; on any problem keeps the current config and says why.
  Status ReloadConfig();

  // The agent's account of itself (what the vigil_agent table serves): the running config's
  // version and source, the last config refusal, the hub link. Thread-safe.
  AgentCounters status() const;

  // Runs one task the hub sent (PROTOCOL.md `task`) and says what it did (`task_result`).
  // Thread-safe: runs between cycles (a cycle in progress finishes first), never beside one.
  //   kind enforce: the config's check `task.check` is evaluated (verdict_before); a check that
  //     passes (or does not apply) is "not_needed"; a failing one is repaired by its enforcer
  //     the way the cycle repairs ("planned" with the diffs when dry_run, nothing written;
  //     else "applied" when the re-check (verdict_after) passes, "failed" when it still fails
  //     or the enforcer failed, "rolled_back", or "refused"). An unknown check, a detect-only
  //     check or a check in error is "refused"/"failed" with the reason in the remediation's
  //     message. Verdicts go to the outbox as the cycle's do; applied changes are in the audit
  //     chain (actor "hub task ID").
  //   kind package_upgrade: the package.upgrade action with args `packages` (none: every
  //     installed package), "not_needed" when nothing is newer; no verdicts.
  // An error Result only when the state directory cannot be written.
  Result<wire::TaskResult> RunTask(const wire::Task& task);

 private:
  struct Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent
