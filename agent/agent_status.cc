#include "agent/agent_status.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "agent/outbox.h"

namespace vigil::agent {
namespace {

int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

double Milliseconds(const timeval& tv) { return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0; }

enum AgentColumn : int {
  kPid,
  kStateDir,
  kStartTime,
  kCycles,
  kLastCycleMs,
  kLastCycleTime,
  kRssBytes,
  kCpuUserMs,
  kCpuSystemMs,
  kQueriesRun,
  kQueryErrors,
  kChecksRun,
  kChecksFailing,
  kRepairs,
  kDenied,
  kOutboxDepth,
  kOutboxBytes,
  kOutboxDropped,
  kOutboxNextSeq,
  kConfigVersion,
  kEnforce,
  kHubUrl,
  kHubConnected,
  kHubLastAckSeq,
  kHubReconnects,
  kConfigSource,
  kConfigError,
  kHubKeyPinned,
  kColumnCount
};

Schema AgentSchema() {
  return Schema{
      "vigil_agent",
      "The running agent (vigil daemon) itself: its memory and CPU use, its convergence cycles and "
      "its outbox of messages for the hub. One row; served only by a running daemon (query it "
      "with vigil sql --connect SOCKET).",
      {
          {"pid", ColumnType::kInteger, "Process id of the daemon"},
          {"state_dir", ColumnType::kText, "The daemon's state directory"},
          {"start_time", ColumnType::kInteger, "When the daemon started (Unix seconds)"},
          {"cycles", ColumnType::kInteger, "Convergence cycles completed since start"},
          {"last_cycle_ms", ColumnType::kReal, "Duration of the last cycle in milliseconds"},
          {"last_cycle_time", ColumnType::kInteger, "When the last cycle ended (Unix seconds)"},
          {"rss_bytes", ColumnType::kInteger, "Resident memory of the daemon in bytes"},
          {"cpu_user_ms", ColumnType::kReal, "CPU time in user mode since start, milliseconds"},
          {"cpu_system_ms", ColumnType::kReal, "CPU time in the kernel since start, milliseconds"},
          {"queries_run", ColumnType::kInteger, "Scheduled queries run since start"},
          {"query_errors", ColumnType::kInteger, "Scheduled queries and checks that failed to run"},
          {"checks_run", ColumnType::kInteger, "Check evaluations since start"},
          {"checks_failing", ColumnType::kInteger, "Checks whose latest verdict is fail or error"},
          {"repairs", ColumnType::kInteger, "Enforcer repairs applied since start"},
          {"denied", ColumnType::kInteger,
           "Queries and checks skipped for now because the process died while running them"},
          {"outbox_depth", ColumnType::kInteger, "Messages waiting for the hub's acknowledgement"},
          {"outbox_bytes", ColumnType::kInteger, "Size of the waiting messages in bytes"},
          {"outbox_dropped", ColumnType::kInteger,
           "Scheduled query results dropped to keep the outbox within its bound, ever"},
          {"outbox_next_seq", ColumnType::kInteger, "Sequence number of the next message"},
          {"config_version", ColumnType::kInteger, "Version of the config the agent runs"},
          {"enforce", ColumnType::kText, "Enforce mode of the config: auto, dry-run or off"},
          {"hub_url", ColumnType::kText, "The hub the agent reports to (NULL: none)"},
          {"hub_connected", ColumnType::kInteger,
           "1 while the agent is connected and welcomed by its hub, else 0"},
          {"hub_last_ack_seq", ColumnType::kInteger,
           "The highest outbox sequence number the hub acknowledged since start (0: none)"},
          {"hub_reconnects", ColumnType::kInteger,
           "Connections to the hub that were welcomed since start, after the first"},
          {"config_source", ColumnType::kText,
           "Where the running config came from: hub, file (--config), stored (kept in the state "
           "directory) or default (the built-in one)"},
          {"config_error", ColumnType::kText,
           "Why the last config offered was refused (unsigned, signature not verified, older "
           "version, does not load); empty when it was accepted"},
          {"hub_key_pinned", ColumnType::kInteger,
           "1 when the hub's public key is pinned in the state directory (configs are verified "
           "against it), else 0"},
      }};
}

class AgentTable final : public Table {
 public:
  explicit AgentTable(const AgentStatus& status) : status_(status) {}
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext&) const override {
    AgentCounters c = status_.counters();
    ProcessUsage usage = MeasureProcess();
    Row row(kColumnCount);
    row[kPid] = static_cast<int64_t>(::getpid());
    row[kStateDir] = status_.state_dir();
    row[kStartTime] = UnixSeconds(c.started);
    row[kCycles] = static_cast<int64_t>(c.cycles);
    row[kLastCycleMs] = c.last_cycle_ms;
    if (c.cycles > 0) row[kLastCycleTime] = UnixSeconds(c.last_cycle_end);
    row[kRssBytes] = static_cast<int64_t>(usage.rss_bytes);
    row[kCpuUserMs] = usage.cpu_user_ms;
    row[kCpuSystemMs] = usage.cpu_system_ms;
    row[kQueriesRun] = static_cast<int64_t>(c.queries_run);
    row[kQueryErrors] = static_cast<int64_t>(c.query_errors);
    row[kChecksRun] = static_cast<int64_t>(c.checks_run);
    row[kChecksFailing] = static_cast<int64_t>(c.checks_failing);
    row[kRepairs] = static_cast<int64_t>(c.repairs);
    row[kDenied] = static_cast<int64_t>(c.denied);
    if (const Outbox* outbox = status_.outbox()) {
      OutboxStats s = outbox->stats();
      row[kOutboxDepth] = static_cast<int64_t>(s.depth);
      row[kOutboxBytes] = static_cast<int64_t>(s.bytes);
      row[kOutboxDropped] = static_cast<int64_t>(s.dropped);
      row[kOutboxNextSeq] = static_cast<int64_t>(s.next_seq);
    }
    row[kConfigVersion] = static_cast<int64_t>(c.config_version);
    row[kEnforce] = c.enforce;
    if (!c.hub_url.empty()) row[kHubUrl] = c.hub_url;
    row[kHubConnected] = static_cast<int64_t>(c.hub_connected ? 1 : 0);
    row[kHubLastAckSeq] = static_cast<int64_t>(c.hub_last_ack_seq);
    row[kHubReconnects] = static_cast<int64_t>(c.hub_reconnects);
    row[kConfigSource] = c.config_source;
    row[kConfigError] = c.config_error;
    row[kHubKeyPinned] = static_cast<int64_t>(c.hub_key_pinned ? 1 : 0);
    std::vector<Row> rows;
    rows.push_back(std::move(row));
    return rows;
  }

 private:
  const AgentStatus& status_;
  const Schema schema_ = AgentSchema();
};

}  // namespace

AgentStatus::AgentStatus(std::string state_dir, const Outbox* outbox)
    : state_dir_(std::move(state_dir)), outbox_(outbox) {
  counters_.started = std::chrono::system_clock::now();
}

AgentCounters AgentStatus::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

ProcessUsage MeasureProcess() {
  ProcessUsage usage;
  // statm: size resident shared text lib data dt, in pages.
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long long size = 0, resident = 0;
    if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
      usage.rss_bytes = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    }
    std::fclose(f);
  }
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    usage.cpu_user_ms = Milliseconds(ru.ru_utime);
    usage.cpu_system_ms = Milliseconds(ru.ru_stime);
  }
  return usage;
}

std::unique_ptr<Table> MakeAgentTable(const AgentStatus& status) {
  return std::make_unique<AgentTable>(status);
}

}  // namespace vigil::agent
