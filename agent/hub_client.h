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
// A lost or refused connection is retried with exponential backoff (backoff_min doubling to
// backoff_max, with jitter); a refused enrolment waits `refused_backoff`. `node_invalid` makes
// the agent forget its key and enrol again when it has a secret. The daemon's cycle never waits
// for any of this: it keeps running and queueing whether or not the hub is reachable.
//
// New outbox items are noticed within ~100 ms (a look at the outbox's counters, no store read).
//
// Thread safety: Start(), Stop() and the destructor from the owner's thread. The client's own thread uses the Outbox (thread-safe), the SharedEngine (its lock),
// the AgentStatus (its lock) and the Store (thread-safe).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/daemon.h"
#include "agent/net/client.h"
#include "engine/status.h"
#include "engine/store/store.h"

namespace vigil::agent {

class AgentStatus;
class Outbox;
class SharedEngine;

// Keys of the store's config family.
inline constexpr std::string_view kHubNodeKey = "hub.node_key";
inline constexpr std::string_view kHubPublicKey = "hub.public_key";

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
  std::function<void(LogLevel, const std::string&)> log;  // required
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
  // Closes the connection and joins the thread, within about a second. Idempotent.
  void Stop();

 private:
  class Session;  // one connection (hub_client.cc)
  void Loop();
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
  bool stop_ = false;  // guarded by mutex_

  std::thread thread_;         // owner's thread only
  bool ever_welcomed_ = false;  // the client's thread only
};

}  // namespace vigil::agent
