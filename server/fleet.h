// The hub's view of its agents: who is connected, and the live-query campaigns sent to them.
// The people's API (server/api.h) reaches agents only through this interface; FleetService
// (server/fleet_service.h) implements it over the agent WebSockets and the HubStore.
//
//   Result<CampaignRecord> campaign = fleet.StartCampaign({.sql = "SELECT ...", .target = "all"});
//   auto watch = fleet.WatchCampaign(campaign->id, [](const CampaignEvent& event) { ... });
//
// Thread safety: every method may be called from any thread; observers are called from network
// threads, one event at a time per watch, and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "server/hub_store.h"

namespace vigil::server {

struct CampaignSpec {
  std::string sql;
  // "all"; "role:NAME"; or a comma-separated list of host identifiers and globs ("web-*,db-1").
  std::string target = "all";
  uint64_t timeout_ms = 10'000;  // each node's statement time limit
  // How long the campaign takes answers; at the end it is finished and its watchers get kDone.
  uint64_t deadline_ms = 30'000;
  // > 0: nodes offline at the start get the query when they connect within this long (the
  // deadline is then at least this long).
  uint64_t wait_ms = 0;
  uint64_t max_rows = 10'000;  // per node
  std::string created_by;      // token id
};

// Running counts of one campaign (PROTOCOL.md's `totals`). expected = answered + failed +
// offline + pending, where pending are nodes that have the query and have not answered. A
// finished campaign has no pending: a node that never answered counts as offline.
struct CampaignTotals {
  uint64_t expected = 0;
  uint64_t answered = 0;  // answered with rows (status ok)
  uint64_t failed = 0;    // answered with an error
  uint64_t offline = 0;   // not connected, not answered
  friend bool operator==(const CampaignTotals&, const CampaignTotals&) = default;
};

struct CampaignEvent {
  enum class Kind { kAnswer, kTotals, kDone };
  Kind kind = Kind::kTotals;
  AnswerRecord answer;    // kAnswer
  CampaignTotals totals;  // every kind: the totals after this event
};

using CampaignObserver = std::function<void(const CampaignEvent&)>;

// Watching ends when this is destroyed (after which the observer is never called again).
class CampaignWatch {
 public:
  virtual ~CampaignWatch() = default;
};

class Fleet {
 public:
  virtual ~Fleet() = default;

  // Host identifiers of the nodes connected and authenticated now, sorted.
  virtual std::vector<std::string> OnlineNodes() const = 0;

  // Resolves the target against the enrolled nodes, stores the campaign, and sends the query
  // to the online ones at once. InvalidArgument for empty SQL or a malformed target.
  virtual Result<CampaignRecord> StartCampaign(const CampaignSpec& spec) = 0;

  // Replays what the campaign has (each stored answer as kAnswer, then kTotals), then streams
  // new events as they happen; kDone last, at once when the campaign is already finished.
  // NotFound for an unknown id.
  virtual Result<std::unique_ptr<CampaignWatch>> WatchCampaign(std::string_view id,
                                                               CampaignObserver observer) = 0;

  virtual Result<CampaignTotals> Totals(std::string_view id) const = 0;

  // Forgets an enrolled node, so that its host identifier may enroll again (re-enrolment is
  // explicit: `vigilctl nodes remove ID`). Its connection, if any, is closed and its key stops
  // working; its stored evidence and answers are kept. NotFound for an unknown node.
  virtual Status RemoveNode(std::string_view host_identifier) = 0;
};

}  // namespace vigil::server
