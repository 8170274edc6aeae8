// The daemon's link to its hub (PROTOCOL.md, "Agent <-> hub"), on its own thread.
//
// Per connection: `hello` (the enroll secret the first time, the node key kept in the store
// after), `welcome` (a new node key and the hub's public key are kept in the store), then the
// outbox in sequence order as `results` messages (one per run of consecutive numbers, bounded
// in items and bytes, at most `window` unacknowledged), `ack` deletes what the hub stored, and
// `query` is answered with `query_result` from the read-only engine (a statement error is an
// error result, never a dropped connection). Every connection starts sending from the oldest
// item still in the outbox, so whatever was not acknowledged is sent again.
//
// `config`: verified against the hub key pinned at enrolment (the first welcome's) and taken
// only when it is signed by that key and newer than the running config; then it is handed to
// `on_config`. Anything else is refused: logged, recorded in the status (`config_error`) and
// answered with `error` code `config_refused`, ref = the version, message = the reason, then
// `config_status` (the version the node stays on, config_error = the reason). When the daemon
// adopts a config (between cycles, so the running version in the AgentStatus changes), the
// connection tells the hub with `config_status` within ~100 ms; a connection that ends first
// leaves it to the next hello. Neither goes through the outbox: it is state, not evidence.
//
// `task`: run by `on_task` on the client's task thread, one at a time, never on the thread that
// reads the connection (a package upgrade can take minutes; live queries keep being answered).
// At most `max_queued_tasks` wait; one more is answered `error` `busy`. The answer
// (`task_result`, or `error` ref = the task id) is sent by the connection's thread within
// ~100 ms; one made while the hub is unreachable is sent on the next connection.
//
// A lost or refused connection is retried with exponential backoff (backoff_min doubling to
// backoff_max, with jitter); a refused enrolment waits `refused_backoff`. `node_invalid` makes
// the agent forget its key and enrol again when it has a secret. The daemon's cycle never waits
// for any of this: it keeps running and queueing whether or not the hub is reachable.
//
// New outbox items are noticed within ~100 ms (a look at the outbox's counters, no store read).
//
// Thread safety: Start(), Stop() and the destructor from the owner's thread. The client's
// threads use the Outbox (thread-safe), the SharedEngine (its lock), the AgentStatus (its lock)
// and the Store (thread-safe); the task queue and the answers waiting to be sent are guarded by
// mutex_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/daemon.h"
#include "agent/net/client.h"
#include "engine/status.h"
#include "engine/store/store.h"
#include "engine/wire/messages.h"

namespace vigil::agent {

class AgentStatus;
class Outbox;
class SharedEngine;

// Keys of the store's config family.
inline constexpr std::string_view kHubNodeKey = "hub.node_key";
inline constexpr std::string_view kHubPublicKey = "hub.public_key";

// `error` codes the agent answers the hub with.
inline constexpr std::string_view kConfigRefused = "config_refused";    // ref: the version
inline constexpr std::string_view kTaskUnsupported = "task_unsupported";  // ref: the task id
inline constexpr std::string_view kBusy = "busy";                          // ref: the task id
inline constexpr std::string_view kTaskFailed = "task_failed";            // ref: the task id

// Whether `config_json` (a config message, "signature" included) is signed by the hub key pinned
// in `store`: Ok, or why not (no key pinned, unsigned, a signature that does not verify) in
// words that follow "config N: ".
Status VerifyPinnedConfig(const store::Store& store, std::string_view config_json);

struct HubClientOptions {
  net::ClientOptions client;  // the hub's URL and how to trust it
  std::string enroll_secret;  // "" when none (then a node key must be in the store)
  std::string host_identifier;
  std::string hostname;
  std::string os;
  std::string vigil_version;
  std::chrono::milliseconds backoff_min{1'000};
  std::chrono::milliseconds backoff_max{60'000};
  // After enroll_refused / already_enrolled, or with neither a key nor a secret.
  std::chrono::milliseconds refused_backoff{600'000};
  size_t batch_items = 500;            // items per `results` message
  size_t batch_bytes = 1u << 20;       // item JSON per `results` message
  size_t window = 8;                   // `results` messages sent and not yet acknowledged
  uint64_t max_rows = 10'000;          // per query_result, whatever the hub asks
  std::chrono::milliseconds statement_timeout{10'000};  // per query, whatever the hub asks
  // The daemon's cycle, told to the hub in hello (it marks a node silent for 3 cycles stale);
  // 0: not told.
  std::chrono::milliseconds cycle{0};
  std::function<void(LogLevel, const std::string&)> log;  // required
  // A config the client verified against the pinned key and found newer than the running one,
  // as received (signature included). Called on the client's connection thread; it should load
  // and keep the config and return; a non-ok Status refuses it (its message is the reason sent
  // to the hub). Empty: every config is refused.
  std::function<Status(const std::string& json)> on_config;
  // Runs a task from the hub on the client's task thread; its error Status is answered with
  // `error` code task_failed, ref = the task id. Empty: tasks are answered `task_unsupported`.
  std::function<Result<wire::TaskResult>(const wire::Task&)> on_task;
  size_t max_queued_tasks = 16;  // waiting, besides the one running; more are answered `busy`
};

class HubClient {
 public:
  // Borrows everything; all must outlive the client. The config version and roles sent in
  // `hello` are read from `status` at each connection.
  HubClient(HubClientOptions options, store::Store& store, Outbox& outbox, SharedEngine& engine,
            AgentStatus& status);
  ~HubClient();  // Stop()s
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  void Start();
  // Closes the connection and joins the threads, within about a second, except that a task in
  // progress is waited for (tasks still queued are dropped: the hub sees them unanswered).
  // Idempotent.
  void Stop();

 private:
  class Session;  // one connection (hub_client.cc)
  void Loop();
  void TaskLoop();
  bool WaitFor(std::chrono::milliseconds delay);  // false when stopping
  bool stopping() const;
  void Log(LogLevel level, const std::string& message) const;

  const HubClientOptions options_;
  store::Store& store_;
  Outbox& outbox_;
  SharedEngine& engine_;
  AgentStatus& status_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable task_wake_;
  bool stop_ = false;              // guarded by mutex_
  std::deque<wire::Task> tasks_;   // guarded by mutex_: waiting for the task thread
  std::deque<std::string> replies_;  // guarded by mutex_: encoded answers to tasks, to send

  std::thread thread_;          // owner's thread only
  std::thread task_thread_;     // owner's thread only; with on_task
  bool ever_welcomed_ = false;  // the connection thread only
  // The newest config version handed to on_config (the daemon adopts it between cycles, so the
  // status may still show the one before); the connection thread only.
  uint64_t accepted_version_ = 0;
};

}  // namespace vigil::agent
