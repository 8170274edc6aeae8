// The fleet IEC 62443 report (issue 7, "Reports"; PROTOCOL.md, `GET /api/v1/reports/iec62443`):
// every node's latest verdicts rolled up against the SR catalogue, per node, per FR, per SR and
// per SL, worst first, with the pass-rate trend per day, the SRs no machine check decides and
// why, and the crosswalk columns. One node's report is engine/packs/report.h; this one reuses
// its SR rule (packs::SrStatusOf), its CSV cells and its page's look.
//
//   FleetReportLoad load{.at = t, .now = now, .online = fleet.OnlineNodes()};
//   auto input = LoadFleetReportInput(store, catalog, load);   // or build one in a test
//   FleetReport report = BuildFleetReport(*input);
//   std::string html = FleetReportHtml(report);
//
// Stale: a node whose evidence is older than 3 of its cycles at the report's time (offline, and
// last heard from more than 3 * cycle_ms before it) shows as "stale" in every SR its checks
// decide, and never counts as passing. A node that is connected is fresh.
//
// Pure functions over their arguments: safe on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packs/catalog.h"
#include "engine/status.h"
#include "server/fleet_config.h"
#include "server/hub_store.h"

namespace vigil::server {

// One node as the report sees it at the report's time.
struct FleetNode {
  std::string host_identifier;
  std::string hostname;
  std::vector<std::string> roles;
  uint64_t cycle_ms = 15000;
  int64_t last_seen = 0;  // unix seconds: the last time the hub heard from it (at or before T)
  bool online = false;    // connected at T
  int target_sl = 0;      // 0: the report's default, raised to the highest level of a check
                          // that applied on the node
  std::vector<VerdictSummary> verdicts;  // its latest verdict of each check at T
  std::optional<AuditHeadRecord> audit_head;  // as it stood at T (flagged only if by then)
};

// The fleet's snapshot at the end of one UTC day: of each node's latest verdict of each check
// at or before the day's end, how many passed (HubStore::VerdictDays summed over the nodes; a
// node with no verdict yet counts in none, a stale one still counts). In a report of a past
// time, the last day's point is the snapshot at that time.
struct TrendPoint {
  std::string day;  // "2026-11-25"
  int pass = 0;     // pass or fixed
  int fail = 0;
  int error = 0;
  double pass_rate = 0;  // pass / (pass + fail + error); 0 when none
  friend bool operator==(const TrendPoint&, const TrendPoint&) = default;
};

struct FleetReportInput {
  const packs::Catalog* catalog = nullptr;  // borrowed; required
  std::vector<FleetNode> nodes;
  int64_t at = 0;            // unix seconds: the time the report shows
  int64_t generated_at = 0;  // unix seconds: when it was made (== at unless --at)
  int default_target_sl = 2;
  std::vector<TrendPoint> trend;
};

struct FleetNodeResult {
  std::string host_identifier;
  std::string hostname;
  std::vector<std::string> roles;
  int target_sl = 2;
  bool online = false;
  bool stale = false;
  bool no_evidence = false;  // not one verdict yet
  int64_t last_seen = 0;
  int64_t evidence_time = 0;  // the newest verdict's time; 0 with none
  uint64_t cycle_ms = 0;
  // fail (an SR fails), error, stale, no_evidence, pass (every applicable SR passes).
  std::string status;
  std::map<std::string, int> check_counts;  // by verdict status
  std::map<std::string, int> sr_counts;     // by SR status
  std::vector<std::string> sr_status;       // parallel to the catalogue's SRs
  std::vector<std::string> failing_checks;  // fail or error, in check order
  bool audit_flagged = false;
  std::string audit_reason;
  uint64_t audit_seq = 0;  // 0: no head sent
};

struct FleetSrResult {
  std::string id;
  std::string fr;
  std::string title;
  int sl = 1;
  std::string coverage;  // machine, detect_only, organisational, not_covered
  // fail (a node fails it), error, stale (unknown on a stale node, none fails), pass,
  // not_applicable, organisational, not_covered.
  std::string status;
  std::map<std::string, int> nodes;  // node count by the node's status of this SR
  std::vector<std::string> checks;   // the checks seen evidencing it
  std::map<std::string, std::vector<std::string>> frameworks;
  std::string note;
};

struct FleetFrResult {
  std::string id;
  std::string abbreviation;
  std::string title;
  std::map<std::string, int> srs;  // SR count by fleet status
  int node_pass = 0;  // node x SR pairs that pass
  int node_total = 0; // node x SR pairs that pass, fail, error or are stale
};

struct FleetSlResult {
  int sl = 1;
  std::map<std::string, int> srs;  // SRs whose base requirement applies from this level
  int nodes_meeting = 0;  // nodes with every SR from this level or below passing or n/a
};

struct UncoveredSr {
  std::string id;
  std::string title;
  std::string coverage;  // organisational, detect_only, not_covered
  std::string note;
};

struct FleetReport {
  std::string catalog_name;
  std::string catalog_version;
  std::string time;       // RFC 3339: the time the report shows
  std::string generated;  // RFC 3339: when it was made
  bool historical = false;  // made with --at
  int default_target_sl = 2;
  std::map<std::string, int> node_counts;  // by node status, plus "total", "online", "flagged"
  std::vector<FleetNodeResult> nodes;      // worst first
  std::vector<FleetSrResult> srs;          // worst first (most failing nodes), then catalogue
  std::vector<FleetFrResult> frs;          // catalogue order
  std::vector<FleetSlResult> sls;          // SL 1 to 4
  std::vector<TrendPoint> trend;
  std::vector<UncoveredSr> uncovered;      // catalogue order
  std::vector<std::string> framework_keys;              // crosswalk columns
  std::map<std::string, std::string> framework_names;   // key -> name
  std::vector<std::string> sr_ids;  // the catalogue's SR ids, the order of sr_status
};

FleetReport BuildFleetReport(const FleetReportInput& input);

// What LoadFleetReportInput() reads the store for.
struct FleetReportLoad {
  std::optional<int64_t> at;        // unix seconds; nullopt: now
  int64_t now = 0;                  // unix seconds
  std::vector<std::string> online;  // the nodes connected now (Fleet::OnlineNodes())
  int default_target_sl = 2;
  int trend_days = 30;
  // What a node runs now (ConfigService::ScopeFor): a report for now counts only the verdicts
  // of these checks, against this target SL (0: default_target_sl). Empty, or nullopt for a
  // node: every stored verdict counts, against the default.
  std::function<Result<std::optional<NodeScope>>(const NodeRecord& node)> scope_of;
};

// The enrolled nodes (at `at`: those enrolled by then) with their latest verdicts, presence and
// audit heads, and the trend of the trend_days up to the report's time. Now: the latest
// verdicts, `online`, and the nodes' last_seen. At a past time: each node's latest verdict of
// each check at or before it (HubStore::LatestVerdictsAt), whether it was connected then
// (HubStore::PresenceAt), the last time it was heard from by then, and its audit head as it
// stood then (HubStore::AuditHeadAt: a flag raised later does not show).
Result<FleetReportInput> LoadFleetReportInput(const HubStore& store, const packs::Catalog& catalog,
                                              const FleetReportLoad& load);

// "2026-11-25T17:02:00Z" or unix seconds ("1795539720") -> unix seconds; InvalidArgument
// naming `what` and the value otherwise.
Result<int64_t> ParseReportTime(std::string_view text, std::string_view what);

// Renderers. JSON is the record ("vigil.fleet_report/1", documented in fleet_report.cc); text
// is for a terminal; CSV has one row per node x SR with the crosswalk columns; HTML is one
// self-contained page (no scripts, no network) in the node report's style, everything escaped.
std::string FleetReportJson(const FleetReport& report);
std::string FleetReportText(const FleetReport& report);
std::string FleetReportCsv(const FleetReport& report);
std::string FleetReportHtml(const FleetReport& report);

}  // namespace vigil::server
