// `vigil daemon`: the agent. Runs the convergence loop until SIGTERM or SIGINT; SIGHUP reloads
// the local config. Signals are taken by one thread with sigwait(), so the loop itself is
// never interrupted in the middle of a write.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "agent/daemon.h"
#include "cli/commands.h"
#include "cli/flags.h"

namespace vigil::cli {
namespace {

constexpr const char* kSummary =
    "The agent. Every cycle it runs the scheduled queries and checks that are due, writes query\n"
    "results in osquery's result log format (STATE_DIR/results.log and the outbox for the hub),\n"
    "records verdict changes, and with `enforce: auto` repairs failing checks and checks again.\n"
    "It runs from --config FILE (JSON: version, roles, vars, enforce auto|dry-run|off, target_sl,\n"
    "packs: built-in bundle names, pack files or directories, or pack objects); without one,\n"
    "from the config kept in the state directory, else the built-in iec62443 bundle, report\n"
    "only. The extension socket serves SQL to `vigil sql --connect SOCKET` and tables to\n"
    "extension processes. With --hub (instead of --config) it sends the outbox to the hub (items\n"
    "are deleted only once the hub acknowledged them), answers its live queries and runs its\n"
    "tasks, reconnecting with backoff; it runs the config the hub publishes, signed by the key\n"
    "pinned at enrolment (an unsigned or mis-signed one is refused, and vigil_agent says why),\n"
    "and until the hub's arrives the hub's last one kept in the state directory, else the\n"
    "built-in default.\n"
    "SIGTERM/SIGINT stop it after the current step; SIGHUP reloads --config.\n"
    "\n"
    "Exit status: 0 stopped cleanly (with --once: every check passes), 1 with --once: a check\n"
    "fails or errors, 2 usage error or the daemon could not start.";

Result<agent::LogLevel> ParseLogLevel(const std::string& text) {
  for (agent::LogLevel level : {agent::LogLevel::kError, agent::LogLevel::kWarning,
                                agent::LogLevel::kInfo, agent::LogLevel::kDebug}) {
    if (agent::LogLevelName(level) == text) return level;
  }
  return Status::InvalidArgument("--log-level must be error, warning, info or debug, not '" +
                                 text + "'");
}

}  // namespace

int RunDaemon(const std::vector<std::string>& args) {
  FlagSet flags("vigil daemon [OPTIONS]", kSummary);
  flags.Value("state-dir", "DIR", "Where the store, results log and socket live", kDefaultStateDir);
  flags.Value("root", "DIR", "Read and repair the host under DIR instead of /", "/");
  flags.Value("config", "FILE", "The node's config (JSON), without --hub; SIGHUP reloads it");
  flags.Value("cycle", "DURATION", "Time between cycles (100ms at least)", "15s");
  flags.Value("host-identifier", "NAME", "The node's name in results (default: its hostname)");
  flags.Value("timeout", "DURATION", "Time limit per statement", "10s");
  flags.Value("extensions-socket", "PATH", "The extension socket (default: STATE_DIR/vigil.sock)");
  flags.Bool("disable-extensions", "Do not open the extension socket");
  flags.Value("results-log", "FILE", "Results log (default: STATE_DIR/results.log)");
  flags.Value("results-log-max-bytes", "N", "Rotate the results log at this size", "26214400");
  flags.Value("outbox-max-bytes", "N",
              "Bound of the outbox; past it the oldest query results are dropped (counted)",
              "67108864");
  flags.Value("hub", "URL",
              "Report to this hub (https://HOST:PORT; http:// only to loopback) and answer its "
              "live queries; the node runs the same whether or not the hub is reachable");
  flags.Value("enroll-secret-file", "FILE",
              "The hub's enroll secret, for the first connection (then the node key is kept in "
              "the state directory)");
  flags.Value("ca-file", "FILE", "Trust the hub's certificate through this CA file");
  flags.Value("hub-fingerprint", "SHA256",
              "Trust exactly the hub certificate with this SHA-256 fingerprint (AB:CD:.., as "
              "vigil-hub prints it)");
  flags.Value("log-level", "LEVEL", "error, warning, info or debug", "info");
  flags.Bool("once", "Run one cycle (every query and check, due or not) and exit");
  auto usage = [](const std::string& message) {
    std::cerr << "vigil daemon: " << message << "\n(see vigil daemon --help)\n";
    return 2;
  };
  if (Status s = flags.Parse(args); !s.ok()) return usage(s.message());
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (!flags.positionals().empty()) {
    return usage("unexpected argument '" + flags.positionals()[0] + "'");
  }

  agent::DaemonOptions options;
  options.state_dir = *flags.Get("state-dir");
  options.root = *flags.Get("root");
  options.config_path = flags.Get("config");
  options.host_identifier = flags.Get("host-identifier");
  auto cycle = ParseDuration(*flags.Get("cycle"));
  if (!cycle.ok()) return usage("--cycle: " + cycle.status().message());
  options.cycle = *cycle;
  auto timeout = ParseDuration(*flags.Get("timeout"));
  if (!timeout.ok()) return usage("--timeout: " + timeout.status().message());
  options.statement_timeout = *timeout;
  if (!flags.IsSet("disable-extensions")) {
    options.extensions_socket =
        flags.Get("extensions-socket").value_or(options.state_dir + "/vigil.sock");
  }
  if (auto file = flags.Get("results-log")) options.results_log = *file;
  auto results_max = ParseCount(*flags.Get("results-log-max-bytes"), "--results-log-max-bytes");
  if (!results_max.ok()) return usage(results_max.status().message());
  options.results_log_max_bytes = static_cast<uint64_t>(*results_max);
  auto outbox_max = ParseCount(*flags.Get("outbox-max-bytes"), "--outbox-max-bytes");
  if (!outbox_max.ok()) return usage(outbox_max.status().message());
  options.outbox_max_bytes = static_cast<uint64_t>(*outbox_max);
  options.hub_url = flags.Get("hub").value_or("");
  options.enroll_secret_file = flags.Get("enroll-secret-file").value_or("");
  options.hub_ca_file = flags.Get("ca-file").value_or("");
  options.hub_fingerprint = flags.Get("hub-fingerprint").value_or("");
  if (options.hub_url.empty() && (!options.enroll_secret_file.empty() ||
                                  !options.hub_ca_file.empty() ||
                                  !options.hub_fingerprint.empty())) {
    return usage("--enroll-secret-file, --ca-file and --hub-fingerprint need --hub URL");
  }
  if (!options.hub_ca_file.empty() && !options.hub_fingerprint.empty()) {
    return usage("give --ca-file or --hub-fingerprint, not both");
  }
  if (options.config_path && !options.hub_url.empty()) {
    return usage("give --config FILE or --hub URL, not both: with a hub the node runs the "
                 "config the hub publishes");
  }
  auto level = ParseLogLevel(*flags.Get("log-level"));
  if (!level.ok()) return usage(level.status().message());
  options.log_level = *level;

  // Every thread the daemon starts inherits this mask; only the signal thread takes them. One
  // cycle (--once) keeps the default actions, so Ctrl-C stops it at once.
  const bool once = flags.IsSet("once");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  if (!once) pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that goes away mid-answer must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);

  auto daemon = agent::Daemon::Open(options);
  if (!daemon.ok()) {
    std::cerr << "vigil daemon: " << daemon.status().message() << "\n";
    return 2;
  }
  if (once) {
    auto report = (*daemon)->RunCycle(true);
    if (!report.ok()) return 2;
    return report->failing > 0 ? 1 : 0;
  }

  std::thread waiter([&signals, d = daemon->get()] {
    for (;;) {
      int received = 0;
      if (sigwait(&signals, &received) != 0) continue;
      if (received == SIGHUP) {
        d->Reload();
        continue;
      }
      d->Stop();
      return;
    }
  });
  (*daemon)->Run();
  // Run() returns only after Stop(), which only the signal thread calls.
  waiter.join();
  return 0;
}

}  // namespace vigil::cli
