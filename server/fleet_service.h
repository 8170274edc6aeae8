// The hub's fleet: the agents' sessions (enrollment, evidence, live-query answers) and the
// live-query campaigns sent to them, over the HubStore. PROTOCOL.md ("Agent <-> hub") fixes the
// messages; server/fleet.h is what the people's API sees of it.
//
//   FleetOptions fleet_options;
//   fleet_options.enroll_secret = secret;
//   VIGIL_ASSIGN_OR_RETURN(auto fleet, FleetService::Create(store, std::move(fleet_options)));
//   HubOptions options;
//   options.agent_sessions = fleet->SessionFactory();
//   Hub hub(std::move(options));
//   ...
//   hub.Stop();      // first: no session may outlive the service
//   fleet.reset();
//
// A session refuses everything until a `hello`: a node key (looked up by its hash) or the
// enroll secret (a new node gets a key, stored hashed; an enrolled host identifier is refused
// until an admin removes it). Refusals are logged with the remote address and close the
// connection. After the hello: `results` are stored and acked, `query_result` answers the
// campaign it names (the first answer of a node wins; late ones and ones from nodes not asked
// are ignored and counted), messages over the rate limit are refused, and a message the codec
// refuses gets the codec's error frame with the connection kept open.
//
// Campaigns live in memory while they run (totals, which nodes have the query, watchers) and
// everything durable is in the store first. One timer thread finishes each campaign at its
// deadline (stored finished, then its watchers get kTotals and kDone). A finished campaign's
// totals are recomputed from its stored answers; Create() finishes the campaigns a previous
// process left unfinished past their deadline and resumes the others.
//
// Thread safety: every public method may be called from any thread. Observers are called
// without the service's lock held, one event at a time per watch, in order. Lifetimes: the
// sessions made by SessionFactory() and every CampaignWatch must be gone before the service is
// destroyed (stop the Hub first); the store must outlive the service.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/status.h"
#include "engine/wire/messages.h"
#include "server/agent_session.h"
#include "server/fleet.h"
#include "server/hub_store.h"
#include "server/metrics.h"

namespace vigil::server {

struct FleetOptions {
  // What an agent must present to enroll (LoadOrCreateEnrollSecret); empty: no enrollment.
  std::string enroll_secret;
  // Sent in `welcome` (the agent pins it on enrollment; issue 7 signs configs with it).
  std::string hub_public_key;
  wire::DecodeLimits decode_limits;  // a campaign's max_rows is capped to its max_rows
  // Messages per second one connection may send (a token bucket that holds as many); more are
  // answered `rate_limited` and not processed. 0: no limit.
  uint32_t max_messages_per_second = 100;
  size_t max_campaign_nodes = 100'000;              // nodes one campaign may target
  uint64_t max_deadline_ms = 24ull * 3600 * 1000;  // a campaign's deadline and wait, at most
  // Unix milliseconds now; empty: the system clock. Tests move time by hand with it (the timer
  // thread looks at it at least once a second).
  std::function<int64_t()> clock;
  // One line per refused hello and other events a hub operator should see; empty: stderr.
  std::function<void(std::string_view line)> log;

  // The published config (server/config_service.h); all empty: the hub publishes none.
  // config_version: the current version (0: none yet). config_message: the node's signed
  // `config` message under it (nullopt: no rule matches the node). roles_for: the node's roles
  // under it, which win over the roles a node names in its hello once a version exists.
  std::function<uint64_t()> config_version;
  std::function<Result<std::optional<std::string>>(std::string_view host,
                                                   std::string_view hostname)>
      config_message;
  std::function<std::vector<std::string>(std::string_view host, std::string_view hostname)>
      roles_for;

  // Tasks (server/task_service.h): what a node answered to a `task`, and a node that came
  // online (it may have tasks waiting). Called on network threads; empty: ignored.
  std::function<void(std::string_view host, const wire::TaskResult& result)> on_task_result;
  std::function<void(std::string_view host)> on_online;
};

class FleetService : public Fleet {
 public:
  // Opens the fleet over `store`: finishes the campaigns left unfinished past their deadline,
  // resumes the others, and starts the timer thread. Errors are the store's.
  static Result<std::unique_ptr<FleetService>> Create(HubStore& store, FleetOptions options);
  ~FleetService() override;  // stops the timer thread
  FleetService(const FleetService&) = delete;
  FleetService& operator=(const FleetService&) = delete;

  // What HubOptions::agent_sessions gets. The sessions borrow this service.
  AgentSessionFactory SessionFactory();

  std::vector<std::string> OnlineNodes() const override;
  Result<CampaignRecord> StartCampaign(const CampaignSpec& spec) override;
  Result<std::unique_ptr<CampaignWatch>> WatchCampaign(std::string_view id,
                                                       CampaignObserver observer) override;
  Result<CampaignTotals> Totals(std::string_view id) const override;
  Status RemoveNode(std::string_view host_identifier) override;

  // A new config version became current: every online node whose running version is older
  // and that was not sent it on its connection yet gets its `config` message now (the others
  // on their next hello). Returns how many were sent.
  size_t ConfigChanged();

  // The enrolled nodes a campaign target ("all", globs, "role:NAME", comma lists) matches, in
  // host identifier order. InvalidArgument for a malformed target.
  Result<std::vector<std::string>> ResolveTarget(std::string_view target) const;

  // Hands `frame` to the node's connection: Unavailable when it is not online or its send
  // queue is full (tasks).
  Status SendToNode(std::string_view host_identifier, std::string frame);

  // Appended to /metrics by whoever serves it.
  const FleetMetrics& metrics() const { return metrics_; }

 private:
  struct Campaign;
  struct Watcher;
  class Session;
  class Watch;
  struct Online {
    std::shared_ptr<AgentChannel> channel;
    std::string hostname;
    // What the node runs: its hello's version, then its config_status messages'. Only the node
    // says what it runs; sending a config does not change it (the node may refuse it).
    uint64_t config_version = 0;
    // The newest version sent on this connection (0: none), so that one is not sent twice.
    uint64_t config_sent = 0;
  };
  using Deliveries = std::vector<std::shared_ptr<Watcher>>;

  FleetService(HubStore& store, FleetOptions options);
  Status Recover();

  int64_t Now() const;
  void Log(std::string_view line) const;

  // Session callbacks.
  void SetOnline(const std::string& host, const std::string& hostname, uint64_t config_version,
                 std::shared_ptr<AgentChannel> channel);
  // Sends the node its config when the current version is newer than `running`.
  void SendConfig(const std::string& host, const std::string& hostname, uint64_t running,
                  const std::shared_ptr<AgentChannel>& channel);
  // The node said (config_status) that it runs `version` and why it refused the last config
  // offered (`error`, "" when it took it): kept in its stored record and its online entry,
  // unless `channel` is no longer the node's connection (a newer one, or a removed node, must
  // not be overwritten). True when the stored record changed; the store's error otherwise.
  Result<bool> SetRunning(const std::string& host, const std::shared_ptr<AgentChannel>& channel,
                          uint64_t version, const std::string& error);
  // The node's roles for `role:` targets: the published config's assignment, else its hello's.
  std::vector<std::string> RolesOf(const NodeRecord& node) const;
  // False when `channel_id` is not the node's current connection.
  bool SetOffline(const std::string& host, uint64_t channel_id);
  void SendPendingQueries(const std::string& host, const std::shared_ptr<AgentChannel>& channel);
  // OK when the answer was taken or ignored; the store's error otherwise.
  Status TakeAnswer(const std::string& host, const wire::QueryResult& result);

  // Marks `hosts` as not having the query (a failed Send) unless they answered.
  void MarkOffline(const std::shared_ptr<Campaign>& campaign, const std::vector<std::string>& hosts);

  // When no answer can come any more (every node answered, or the rest are offline and the
  // campaign does not wait for them), ends the campaign now instead of at its deadline: the
  // deadline becomes `now` and the timer finishes it (mu_ held).
  void EndIfSettledLocked(Campaign& campaign, int64_t now);
  // Queues the event for every watcher of the campaign (mu_ held); Deliver() them after.
  void EmitLocked(Campaign& campaign, const CampaignEvent& event, Deliveries& deliveries);
  static void Deliver(const std::shared_ptr<Watcher>& watcher);
  void Unwatch(const std::shared_ptr<Campaign>& campaign, uint64_t watch_id,
               const std::shared_ptr<Watcher>& watcher);
  // Replays a campaign that is not running from the store, kDone last.
  Status ReplayStored(std::string_view id, const CampaignObserver& observer) const;

  void TimerLoop();

  HubStore& store_;
  const FleetOptions options_;
  FleetMetrics metrics_;
  // Serialises every read-modify-write of a node's record: a hello's (so one host identifier
  // cannot be enrolled twice at once), SetRunning's and RemoveNode's, so none writes back a
  // record another changed or removed. Taken before mu_.
  std::mutex node_write_mu_;

  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  // Guarded by mu_:
  std::map<std::string, Online, std::less<>> online_;                     // by host identifier
  std::map<std::string, std::shared_ptr<Campaign>, std::less<>> running_;  // by campaign id
  uint64_t next_watch_id_ = 1;
  bool stopping_ = false;

  std::thread timer_;  // last: started when everything above is ready
};

}  // namespace vigil::server
