// The running agent's account of itself, served as the `vigil_agent` table: how much memory and
// CPU it uses, how its cycles go, and how full its outbox is (issue "the agent",
// self-protection). The convergence loop updates it; queries read it, from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/table.h"

namespace vigil::agent {

class Outbox;

struct AgentCounters {
  std::chrono::system_clock::time_point started;
  uint64_t cycles = 0;
  double last_cycle_ms = 0;
  std::chrono::system_clock::time_point last_cycle_end;
  uint64_t queries_run = 0;
  uint64_t query_errors = 0;
  uint64_t checks_run = 0;
  uint64_t checks_failing = 0;  // after the last evaluation of each check
  uint64_t repairs = 0;         // enforcers applied
  uint64_t denied = 0;          // items skipped after a crash, now
  uint64_t config_version = 0;
  std::string enforce = "off";
  std::vector<std::string> roles;  // of the config the agent runs
  // Where the running config came from: "hub" (received from the hub in this process), "file"
  // (--config), "stored" (kept in the state directory) or "default" (the built-in one).
  std::string config_source = "default";
  // Why the last config offered (by the hub, or found in the store at start) was refused; ""
  // when the last one was accepted.
  std::string config_error;
  bool hub_key_pinned = false;  // the hub's public key is pinned in the store
  // The hub link (agent/hub_client.h); hub_url is empty without a hub.
  std::string hub_url;
  bool hub_connected = false;
  uint64_t hub_last_ack_seq = 0;
  uint64_t hub_reconnects = 0;
};

class AgentStatus {
 public:
  AgentStatus(std::string state_dir, const Outbox* outbox);
  // Changes the counters under the status's lock.
  template <typename F>
  void Update(F&& fn) {
    std::lock_guard lock(mutex_);
    fn(counters_);
  }
  AgentCounters counters() const;
  const std::string& state_dir() const { return state_dir_; }
  const Outbox* outbox() const { return outbox_; }

 private:
  const std::string state_dir_;
  const Outbox* const outbox_;  // may be null
  mutable std::mutex mutex_;
  AgentCounters counters_;
};

// This process's resident memory and CPU time, from /proc/self/statm and getrusage().
struct ProcessUsage {
  uint64_t rss_bytes = 0;
  double cpu_user_ms = 0;
  double cpu_system_ms = 0;
};
ProcessUsage MeasureProcess();

// The `vigil_agent` table over `status`, which must outlive it.
std::unique_ptr<Table> MakeAgentTable(const AgentStatus& status);

}  // namespace vigil::agent
