// The fleet report's model, loading, and its JSON, text and CSV renderings (HTML:
// fleet_report_html.cc).
//
// The JSON record, "vigil.fleet_report/1" (times RFC 3339 UTC, null for never):
//   {"schema", "vigil_version", "catalog": {"name", "version"}, "time", "generated",
//    "historical", "default_target_sl",
//    "summary": {"nodes": {"total", "online", "flagged", "pass", "fail", "error", "stale",
//                          "no_evidence"},
//                "srs": {"pass", "fail", "error", "stale", "not_applicable", "organisational",
//                        "not_covered"}},
//    "nodes": [{"identifier", "hostname", "roles", "status", "online", "stale", "no_evidence",
//               "last_seen", "evidence_time", "cycle_ms", "target_sl", "checks": {status: n},
//               "srs": {status: n}, "failing_checks": [...], "sr_status": {SR id: status},
//               "audit": {"seq", "flagged", "reason"}}],            worst first
//    "frs": [{"id", "abbreviation", "title", "srs": {status: n}, "node_pass", "node_total",
//             "pass_rate"}],
//    "srs": [{"id", "fr", "title", "sl", "coverage", "status", "nodes": {status: n},
//             "checks", "frameworks": {key: [ids]}, "note"}],           worst first
//    "sls": [{"sl", "srs": {status: n}, "nodes_meeting"}],
//    "trend": [{"day", "pass", "fail", "error", "pass_rate"}],
//    "not_covered": [{"id", "title", "coverage", "note"}],
//    "frameworks": {key: name}}
#include "server/fleet_report.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <ctime>
#include <set>
#include <unordered_map>

#include "engine/audit/chain.h"
#include "engine/packs/report.h"
#include "engine/packs/verdict_json.h"

namespace vigil::server {
namespace {

using packs::Coverage;
using packs::VerdictStatus;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr int64_t kDay = 86400;

std::string Rfc3339(int64_t unix_seconds) {
  return audit::FormatRfc3339(std::chrono::system_clock::time_point(
      std::chrono::seconds(unix_seconds)));
}

std::string Day(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &utc);
  return buffer;
}

int64_t FloorDay(int64_t t) { return t >= 0 ? t / kDay : -((-t + kDay - 1) / kDay); }

bool Machine(Coverage c) { return c == Coverage::kMachine || c == Coverage::kDetectOnly; }

int CountOf(const std::map<std::string, int>& counts, std::string_view key) {
  auto it = counts.find(std::string(key));
  return it == counts.end() ? 0 : it->second;
}

int NodeRank(const std::string& status) {
  if (status == "fail") return 0;
  if (status == "error") return 1;
  if (status == "stale") return 2;
  if (status == "no_evidence") return 3;
  return 4;
}

std::string DefaultNote(const packs::Requirement& sr) {
  if (!sr.note.empty()) return sr.note;
  switch (sr.coverage) {
    case Coverage::kOrganisational: return "decided by a person's evidence";
    case Coverage::kDetectOnly: return "checks detect it; a person repairs it";
    case Coverage::kNotCovered: return "outside what software on the host can show";
    case Coverage::kMachine: break;
  }
  return "";
}

FleetNodeResult EvaluateNode(const FleetNode& node, const packs::Catalog& catalog,
                             const std::unordered_map<std::string, size_t>& sr_index,
                             const FleetReportInput& in, std::vector<std::set<std::string>>& checks) {
  FleetNodeResult n;
  n.host_identifier = node.host_identifier;
  n.hostname = node.hostname.empty() ? node.host_identifier : node.hostname;
  n.roles = node.roles;
  n.online = node.online;
  n.last_seen = node.last_seen;
  n.cycle_ms = node.cycle_ms == 0 ? 15000 : node.cycle_ms;
  n.no_evidence = node.verdicts.empty();
  // Evidence older than 3 cycles at T: an offline node not heard from since before then.
  n.stale = !node.online &&
            (node.last_seen == 0 ||
             (in.at - node.last_seen) * 1000 > 3 * static_cast<int64_t>(n.cycle_ms));
  int target = node.target_sl > 0 ? node.target_sl : in.default_target_sl;
  std::vector<std::vector<VerdictStatus>> statuses(catalog.srs.size());
  for (const VerdictSummary& v : node.verdicts) {
    ++n.check_counts[v.status];
    n.evidence_time = std::max(n.evidence_time, v.time);
    const VerdictStatus status = packs::ParseVerdictStatus(v.status).value_or(VerdictStatus::kError);
    if (node.target_sl == 0 && status != VerdictStatus::kNotApplicable) {
      target = std::max(target, v.sl);
    }
    if (status == VerdictStatus::kFail || status == VerdictStatus::kError) {
      n.failing_checks.push_back(v.check);
    }
    for (const std::string& sr : v.sr) {
      auto it = sr_index.find(sr);
      if (it == sr_index.end()) continue;
      statuses[it->second].push_back(status);
      checks[it->second].insert(v.check);
    }
  }
  std::sort(n.failing_checks.begin(), n.failing_checks.end());
  n.target_sl = target;
  n.sr_status.reserve(catalog.srs.size());
  for (size_t i = 0; i < catalog.srs.size(); ++i) {
    const packs::Requirement& sr = catalog.srs[i];
    std::string status = packs::SrStatusOf(sr, statuses[i], target);
    if (Machine(sr.coverage) && sr.sl <= target && (n.stale || n.no_evidence)) {
      status = n.stale ? "stale" : "no_evidence";
    }
    ++n.sr_counts[status];
    n.sr_status.push_back(std::move(status));
  }
  if (CountOf(n.sr_counts, "fail") > 0) {
    n.status = "fail";
  } else if (CountOf(n.sr_counts, "error") > 0) {
    n.status = "error";
  } else if (n.stale) {
    n.status = "stale";
  } else if (n.no_evidence) {
    n.status = "no_evidence";
  } else {
    n.status = "pass";
  }
  if (node.audit_head) {
    n.audit_seq = node.audit_head->seq;
    n.audit_flagged = node.audit_head->flagged;
    n.audit_reason = node.audit_head->reason;
  }
  return n;
}

}  // namespace

// ---- model

FleetReport BuildFleetReport(const FleetReportInput& in) {
  const packs::Catalog& catalog = *in.catalog;
  FleetReport r;
  r.catalog_name = catalog.name.empty() ? std::string("IEC 62443-3-3") : catalog.name;
  r.catalog_version = catalog.version;
  r.time = Rfc3339(in.at);
  r.generated = Rfc3339(in.generated_at);
  r.historical = in.generated_at != in.at;
  r.default_target_sl = in.default_target_sl;
  r.trend = in.trend;
  r.framework_names = catalog.framework_names;
  std::set<std::string> keys;
  for (const auto& [key, name] : catalog.framework_names) keys.insert(key);
  if (keys.empty()) {
    for (const packs::Requirement& sr : catalog.srs) {
      for (const auto& [key, ids] : sr.frameworks) keys.insert(key);
    }
  }
  r.framework_keys.assign(keys.begin(), keys.end());

  std::unordered_map<std::string, size_t> sr_index;
  for (size_t i = 0; i < catalog.srs.size(); ++i) {
    sr_index.emplace(catalog.srs[i].id, i);
    r.sr_ids.push_back(catalog.srs[i].id);
  }
  std::vector<std::set<std::string>> checks(catalog.srs.size());
  r.nodes.reserve(in.nodes.size());
  for (const FleetNode& node : in.nodes) {
    r.nodes.push_back(EvaluateNode(node, catalog, sr_index, in, checks));
  }

  // Per SR, in catalogue order first.
  std::vector<FleetSrResult> srs(catalog.srs.size());
  for (size_t i = 0; i < catalog.srs.size(); ++i) {
    const packs::Requirement& req = catalog.srs[i];
    FleetSrResult& sr = srs[i];
    sr.id = req.id;
    sr.fr = req.fr;
    sr.title = req.title;
    sr.sl = req.sl;
    sr.coverage = std::string(packs::CoverageName(req.coverage));
    sr.frameworks = req.frameworks;
    sr.note = req.note;
    sr.checks.assign(checks[i].begin(), checks[i].end());
    for (const FleetNodeResult& n : r.nodes) ++sr.nodes[n.sr_status[i]];
    if (req.coverage == Coverage::kOrganisational) {
      sr.status = "organisational";
    } else if (req.coverage == Coverage::kNotCovered) {
      sr.status = "not_covered";
    } else if (CountOf(sr.nodes, "fail") > 0) {
      sr.status = "fail";
    } else if (CountOf(sr.nodes, "error") > 0) {
      sr.status = "error";
    } else if (CountOf(sr.nodes, "stale") + CountOf(sr.nodes, "no_evidence") > 0) {
      sr.status = "stale";
    } else if (CountOf(sr.nodes, "pass") > 0) {
      sr.status = "pass";
    } else {
      sr.status = "not_applicable";
    }
  }

  // Per FR and per SL, over the catalogue.
  for (const packs::FoundationalRequirement& fr : catalog.frs) {
    FleetFrResult f{fr.id, fr.abbreviation, fr.title, {}, 0, 0};
    for (const FleetSrResult& sr : srs) {
      if (sr.fr != fr.id) continue;
      ++f.srs[sr.status];
      f.node_pass += CountOf(sr.nodes, "pass");
      f.node_total += CountOf(sr.nodes, "pass") + CountOf(sr.nodes, "fail") +
                      CountOf(sr.nodes, "error") + CountOf(sr.nodes, "stale") +
                      CountOf(sr.nodes, "no_evidence");
    }
    r.frs.push_back(std::move(f));
  }
  for (int sl = 1; sl <= 4; ++sl) {
    FleetSlResult s;
    s.sl = sl;
    for (const FleetSrResult& sr : srs) {
      if (sr.sl == sl) ++s.srs[sr.status];
    }
    for (const FleetNodeResult& n : r.nodes) {
      if (n.target_sl < sl) continue;
      bool meets = true;
      for (size_t i = 0; i < srs.size() && meets; ++i) {
        const std::string& st = n.sr_status[i];
        meets = srs[i].sl > sl || st == "pass" || st == "not_applicable" ||
                st == "organisational" || st == "not_covered";
      }
      s.nodes_meeting += meets ? 1 : 0;
    }
    r.sls.push_back(std::move(s));
  }
  for (const packs::Requirement& req : catalog.srs) {
    if (req.coverage == Coverage::kMachine) continue;
    r.uncovered.push_back(
        {req.id, req.title, std::string(packs::CoverageName(req.coverage)), DefaultNote(req)});
  }

  // Worst first.
  std::stable_sort(srs.begin(), srs.end(), [](const FleetSrResult& a, const FleetSrResult& b) {
    const int fa = CountOf(a.nodes, "fail"), fb = CountOf(b.nodes, "fail");
    if (fa != fb) return fa > fb;
    return CountOf(a.nodes, "error") > CountOf(b.nodes, "error");
  });
  r.srs = std::move(srs);
  std::sort(r.nodes.begin(), r.nodes.end(),
            [](const FleetNodeResult& a, const FleetNodeResult& b) {
              const int ra = NodeRank(a.status), rb = NodeRank(b.status);
              if (ra != rb) return ra < rb;
              const int fa = CountOf(a.sr_counts, "fail"), fb = CountOf(b.sr_counts, "fail");
              if (fa != fb) return fa > fb;
              const int ea = CountOf(a.sr_counts, "error"), eb = CountOf(b.sr_counts, "error");
              if (ea != eb) return ea > eb;
              if (a.audit_flagged != b.audit_flagged) return a.audit_flagged;
              if (a.failing_checks.size() != b.failing_checks.size()) {
                return a.failing_checks.size() > b.failing_checks.size();
              }
              if (a.hostname != b.hostname) return a.hostname < b.hostname;
              return a.host_identifier < b.host_identifier;
            });

  r.node_counts["total"] = static_cast<int>(r.nodes.size());
  for (const char* s : {"online", "flagged", "pass", "fail", "error", "stale", "no_evidence"}) {
    r.node_counts[s] = 0;
  }
  for (const FleetNodeResult& n : r.nodes) {
    ++r.node_counts[n.status];
    if (n.online) ++r.node_counts["online"];
    if (n.audit_flagged) ++r.node_counts["flagged"];
  }
  return r;
}

// ---- loading

Result<int64_t> ParseReportTime(std::string_view text, std::string_view what) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && end == text.data() + text.size()) return seconds;
  }
  if (auto parsed = packs::ParseRfc3339(text)) return *parsed;
  std::string shown(text.substr(0, 100));
  return Status::InvalidArgument(std::string(what) + " \"" + shown +
                                 "\" is not a time: give RFC 3339 (2026-11-25T17:02:00Z) or unix "
                                 "seconds");
}

namespace {

// The trend: each day's snapshot of the fleet, summed over the report's nodes from their daily
// snapshots (HubStore::VerdictDays: one reverse seek per node, not a lookup per node, check and
// day). A day on which no verdict counts (none yet, or every one not applicable) is left out.
// Staleness is the report's view of a node at one time and is left out of the trend: a node
// that went silent keeps counting its last verdicts. In a report of a past time the last day
// is not over at `at`; its point is the snapshot at `at`, from the verdicts the report shows
// (unscoped: every stored check, like the days before it).
Status LoadTrend(const HubStore& store, int trend_days, bool historical, FleetReportInput& in) {
  const int64_t last = FloorDay(in.at);
  const int64_t first = last - (trend_days - 1);
  const size_t days = static_cast<size_t>(trend_days);
  std::vector<TrendPoint> points(days);
  for (const FleetNode& node : in.nodes) {
    std::vector<VerdictDayCounts> changes;
    VIGIL_RETURN_IF_ERROR(store.VerdictDays(node.host_identifier, first * kDay, in.at,
                                            [&](const VerdictDayCounts& c) {
                                              changes.push_back(c);
                                              return true;
                                            }));
    // Each change holds until the next one.
    for (size_t i = 0; i < changes.size(); ++i) {
      const int64_t from = FloorDay(changes[i].day) - first;
      const int64_t to = i + 1 < changes.size() ? FloorDay(changes[i + 1].day) - first
                                                : static_cast<int64_t>(days);
      for (int64_t d = std::max<int64_t>(from, 0); d < to && d < trend_days; ++d) {
        TrendPoint& p = points[static_cast<size_t>(d)];
        p.pass += changes[i].pass;
        p.fail += changes[i].fail;
        p.error += changes[i].error;
      }
    }
  }
  if (historical) {
    TrendPoint& p = points.back();
    p = TrendPoint{};
    for (const FleetNode& node : in.nodes) {
      for (const VerdictSummary& v : node.verdicts) {
        p.pass += v.status == "pass" || v.status == "fixed";
        p.fail += v.status == "fail";
        p.error += v.status == "error";
      }
    }
  }
  for (size_t d = 0; d < days; ++d) {
    TrendPoint& p = points[d];
    const int total = p.pass + p.fail + p.error;
    if (total == 0) continue;
    p.day = Day((first + static_cast<int64_t>(d)) * kDay);
    p.pass_rate = static_cast<double>(p.pass) / total;
    in.trend.push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace

Result<FleetReportInput> LoadFleetReportInput(const HubStore& store, const packs::Catalog& catalog,
                                              const FleetReportLoad& load) {
  FleetReportInput in;
  in.catalog = &catalog;
  in.generated_at = load.now;
  in.at = load.at.value_or(load.now);
  in.default_target_sl = load.default_target_sl;
  const bool historical = load.at.has_value() && *load.at < load.now;
  if (!historical) in.at = load.now;
  const std::set<std::string> online(load.online.begin(), load.online.end());

  VIGIL_ASSIGN_OR_RETURN(std::vector<NodeRecord> records, store.ListNodes());
  std::unordered_map<std::string, size_t> index;
  for (const NodeRecord& record : records) {
    if (historical && record.enrolled_at > in.at) continue;
    FleetNode node;
    node.host_identifier = record.host_identifier;
    node.hostname = record.hostname;
    node.roles = record.roles;
    node.cycle_ms = record.cycle_ms == 0 ? 15000 : record.cycle_ms;
    if (historical) {
      VIGIL_ASSIGN_OR_RETURN(NodePresence presence,
                             store.PresenceAt(record.host_identifier, in.at * 1000));
      node.online = presence.online;
      node.last_seen = presence.known ? presence.since_ms / 1000 : 0;
    } else {
      node.online = online.count(record.host_identifier) > 0;
      node.last_seen = record.last_seen;
    }
    if (historical) {
      VIGIL_ASSIGN_OR_RETURN(node.audit_head, store.AuditHeadAt(record.host_identifier, in.at));
    } else {
      VIGIL_ASSIGN_OR_RETURN(node.audit_head, store.AuditHead(record.host_identifier));
    }
    index.emplace(record.host_identifier, in.nodes.size());
    in.nodes.push_back(std::move(node));
  }

  if (!historical) {
    std::vector<std::optional<NodeScope>> scopes(in.nodes.size());
    if (load.scope_of) {
      for (const NodeRecord& record : records) {
        auto it = index.find(record.host_identifier);
        if (it == index.end()) continue;
        VIGIL_ASSIGN_OR_RETURN(scopes[it->second], load.scope_of(record));
        if (scopes[it->second]) in.nodes[it->second].target_sl = scopes[it->second]->target_sl;
      }
    }
    VIGIL_RETURN_IF_ERROR(store.LatestVerdicts(
        [&](std::string_view host, const std::vector<VerdictSummary>& verdicts) {
          auto it = index.find(std::string(host));
          if (it == index.end()) return true;
          const std::optional<NodeScope>& scope = scopes[it->second];
          if (!scope) {
            in.nodes[it->second].verdicts = verdicts;
            return true;
          }
          for (const VerdictSummary& v : verdicts) {
            if (scope->checks.count(v.check)) in.nodes[it->second].verdicts.push_back(v);
          }
          return true;
        }));
  } else {
    VIGIL_RETURN_IF_ERROR(store.LatestVerdictsAt(
        in.at, [&](std::string_view host, const std::vector<VerdictSummary>& verdicts) {
          auto it = index.find(std::string(host));
          if (it != index.end()) in.nodes[it->second].verdicts = verdicts;
          return true;
        }));
  }
  for (FleetNode& node : in.nodes) {
    for (const VerdictSummary& v : node.verdicts) {
      if (v.time <= in.at) node.last_seen = std::max(node.last_seen, v.time);
    }
  }

  if (load.trend_days > 0) VIGIL_RETURN_IF_ERROR(LoadTrend(store, load.trend_days, historical, in));
  return in;
}

// ---- JSON

namespace {

void Str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Key(Writer& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Strings(Writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const std::string& s : items) Str(w, s);
  w.EndArray();
}

void Counts(Writer& w, const std::map<std::string, int>& counts,
            std::initializer_list<const char*> order) {
  w.StartObject();
  for (const char* name : order) {
    Key(w, name);
    w.Int(CountOf(counts, name));
  }
  w.EndObject();
}

void Time(Writer& w, int64_t t) {
  if (t == 0) {
    w.Null();
  } else {
    Str(w, Rfc3339(t));
  }
}

void Rate(Writer& w, int pass, int total) {
  if (total == 0) {
    w.Null();
  } else {
    w.Double(std::round(10000.0 * pass / total) / 10000);
  }
}

constexpr std::initializer_list<const char*> kSrStatuses = {
    "pass", "fail", "error", "stale", "no_evidence", "not_applicable", "organisational",
    "not_covered"};
constexpr std::initializer_list<const char*> kCheckStatuses = {"pass", "fail", "error",
                                                               "not_applicable", "fixed"};

}  // namespace

std::string FleetReportJson(const FleetReport& r) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "schema");
  Str(w, "vigil.fleet_report/1");
  Key(w, "vigil_version");
  Str(w, VIGIL_VERSION);
  Key(w, "catalog");
  w.StartObject();
  Key(w, "name");
  Str(w, r.catalog_name);
  Key(w, "version");
  Str(w, r.catalog_version);
  w.EndObject();
  Key(w, "time");
  Str(w, r.time);
  Key(w, "generated");
  Str(w, r.generated);
  Key(w, "historical");
  w.Bool(r.historical);
  Key(w, "default_target_sl");
  w.Int(r.default_target_sl);

  Key(w, "summary");
  w.StartObject();
  Key(w, "nodes");
  Counts(w, r.node_counts,
         {"total", "online", "flagged", "pass", "fail", "error", "stale", "no_evidence"});
  std::map<std::string, int> sr_counts;
  for (const FleetSrResult& sr : r.srs) ++sr_counts[sr.status];
  Key(w, "srs");
  Counts(w, sr_counts,
         {"pass", "fail", "error", "stale", "not_applicable", "organisational", "not_covered"});
  w.EndObject();

  Key(w, "nodes");
  w.StartArray();
  for (const FleetNodeResult& n : r.nodes) {
    w.StartObject();
    Key(w, "identifier");
    Str(w, n.host_identifier);
    Key(w, "hostname");
    Str(w, n.hostname);
    Key(w, "roles");
    Strings(w, n.roles);
    Key(w, "status");
    Str(w, n.status);
    Key(w, "online");
    w.Bool(n.online);
    Key(w, "stale");
    w.Bool(n.stale);
    Key(w, "no_evidence");
    w.Bool(n.no_evidence);
    Key(w, "last_seen");
    Time(w, n.last_seen);
    Key(w, "evidence_time");
    Time(w, n.evidence_time);
    Key(w, "cycle_ms");
    w.Uint64(n.cycle_ms);
    Key(w, "target_sl");
    w.Int(n.target_sl);
    Key(w, "checks");
    Counts(w, n.check_counts, kCheckStatuses);
    Key(w, "srs");
    Counts(w, n.sr_counts, kSrStatuses);
    Key(w, "failing_checks");
    Strings(w, n.failing_checks);
    Key(w, "sr_status");
    w.StartObject();
    for (size_t i = 0; i < r.sr_ids.size() && i < n.sr_status.size(); ++i) {
      Key(w, r.sr_ids[i]);
      Str(w, n.sr_status[i]);
    }
    w.EndObject();
    Key(w, "audit");
    w.StartObject();
    Key(w, "seq");
    w.Uint64(n.audit_seq);
    Key(w, "flagged");
    w.Bool(n.audit_flagged);
    Key(w, "reason");
    if (n.audit_reason.empty()) {
      w.Null();
    } else {
      Str(w, n.audit_reason);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();

  Key(w, "frs");
  w.StartArray();
  for (const FleetFrResult& f : r.frs) {
    w.StartObject();
    Key(w, "id");
    Str(w, f.id);
    Key(w, "abbreviation");
    Str(w, f.abbreviation);
    Key(w, "title");
    Str(w, f.title);
    Key(w, "srs");
    Counts(w, f.srs, kSrStatuses);
    Key(w, "node_pass");
    w.Int(f.node_pass);
    Key(w, "node_total");
    w.Int(f.node_total);
    Key(w, "pass_rate");
    Rate(w, f.node_pass, f.node_total);
    w.EndObject();
  }
  w.EndArray();

  Key(w, "srs");
  w.StartArray();
  for (const FleetSrResult& sr : r.srs) {
    w.StartObject();
    Key(w, "id");
    Str(w, sr.id);
    Key(w, "fr");
    Str(w, sr.fr);
    Key(w, "title");
    Str(w, sr.title);
    Key(w, "sl");
    w.Int(sr.sl);
    Key(w, "coverage");
    Str(w, sr.coverage);
    Key(w, "status");
    Str(w, sr.status);
    Key(w, "nodes");
    Counts(w, sr.nodes, kSrStatuses);
    Key(w, "checks");
    Strings(w, sr.checks);
    Key(w, "frameworks");
    w.StartObject();
    for (const auto& [key, ids] : sr.frameworks) {
      Key(w, key);
      Strings(w, ids);
    }
    w.EndObject();
    Key(w, "note");
    if (sr.note.empty()) {
      w.Null();
    } else {
      Str(w, sr.note);
    }
    w.EndObject();
  }
  w.EndArray();

  Key(w, "sls");
  w.StartArray();
  for (const FleetSlResult& s : r.sls) {
    w.StartObject();
    Key(w, "sl");
    w.Int(s.sl);
    Key(w, "srs");
    Counts(w, s.srs, kSrStatuses);
    Key(w, "nodes_meeting");
    w.Int(s.nodes_meeting);
    w.EndObject();
  }
  w.EndArray();

  Key(w, "trend");
  w.StartArray();
  for (const TrendPoint& p : r.trend) {
    w.StartObject();
    Key(w, "day");
    Str(w, p.day);
    Key(w, "pass");
    w.Int(p.pass);
    Key(w, "fail");
    w.Int(p.fail);
    Key(w, "error");
    w.Int(p.error);
    Key(w, "pass_rate");
    Rate(w, p.pass, p.pass + p.fail + p.error);
    w.EndObject();
  }
  w.EndArray();

  Key(w, "not_covered");
  w.StartArray();
  for (const UncoveredSr& u : r.uncovered) {
    w.StartObject();
    Key(w, "id");
    Str(w, u.id);
    Key(w, "title");
    Str(w, u.title);
    Key(w, "coverage");
    Str(w, u.coverage);
    Key(w, "note");
    Str(w, u.note);
    w.EndObject();
  }
  w.EndArray();

  Key(w, "frameworks");
  w.StartObject();
  for (const std::string& key : r.framework_keys) {
    Key(w, key);
    auto it = r.framework_names.find(key);
    Str(w, it == r.framework_names.end() ? key : it->second);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

// ---- text

std::string FleetReportText(const FleetReport& r) {
  auto n = [](const std::map<std::string, int>& m, const char* k) {
    return std::to_string(CountOf(m, k));
  };
  std::string out = r.catalog_name + " fleet report, " + r.time +
                    (r.historical ? " (as it was; made " + r.generated + ")" : "") + "\n";
  out += "Nodes: " + n(r.node_counts, "total") + " (" + n(r.node_counts, "online") +
         " online): " + n(r.node_counts, "fail") + " fail, " + n(r.node_counts, "error") +
         " error, " + n(r.node_counts, "stale") + " stale, " + n(r.node_counts, "no_evidence") +
         " without evidence, " + n(r.node_counts, "pass") + " pass; " +
         n(r.node_counts, "flagged") + " with a flagged audit chain\n";

  out += "\nNodes, worst first\n";
  for (const FleetNodeResult& node : r.nodes) {
    std::string upper = node.status;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    out += "  [" + upper + "] " + node.hostname +
           (node.hostname != node.host_identifier ? " (" + node.host_identifier + ")" : "") +
           ": SRs " + n(node.sr_counts, "pass") + " pass, " + n(node.sr_counts, "fail") +
           " fail, " + n(node.sr_counts, "error") + " error; SL " +
           std::to_string(node.target_sl) + (node.online ? ", online" : "") +
           (node.stale ? ", stale since " + (node.last_seen ? Rfc3339(node.last_seen) : "never")
                       : "") +
           "\n";
    if (!node.failing_checks.empty()) {
      std::string list;
      for (const std::string& c : node.failing_checks) list += (list.empty() ? "" : ", ") + c;
      out += "      failing: " + list + "\n";
    }
    if (node.audit_flagged) out += "      AUDIT CHAIN FLAGGED: " + node.audit_reason + "\n";
  }

  out += "\nPer FR (node x SR pairs passing)\n";
  for (const FleetFrResult& f : r.frs) {
    out += "  " + f.id + " " + f.title + ": " + std::to_string(f.node_pass) + "/" +
           std::to_string(f.node_total) + "; SRs " + n(f.srs, "pass") + " pass, " +
           n(f.srs, "fail") + " fail, " + n(f.srs, "stale") + " stale\n";
  }
  out += "\nPer SR, worst first (nodes pass/fail/error/stale)\n";
  for (const FleetSrResult& sr : r.srs) {
    out += "  " + sr.id + " " + sr.title + " [" + sr.status + "]";
    if (sr.coverage == "machine" || sr.coverage == "detect_only") {
      out += " " + n(sr.nodes, "pass") + "/" + n(sr.nodes, "fail") + "/" + n(sr.nodes, "error") +
             "/" + std::to_string(CountOf(sr.nodes, "stale") + CountOf(sr.nodes, "no_evidence"));
    }
    out += "\n";
  }
  out += "\nPer SL (SRs applying from it; nodes meeting it)\n";
  for (const FleetSlResult& s : r.sls) {
    out += "  SL " + std::to_string(s.sl) + ": SRs " + n(s.srs, "pass") + " pass, " +
           n(s.srs, "fail") + " fail; " + std::to_string(s.nodes_meeting) + " nodes meet it\n";
  }
  if (!r.trend.empty()) {
    out += "\nTrend (pass rate per day, UTC)\n";
    for (const TrendPoint& p : r.trend) {
      char rate[16];
      std::snprintf(rate, sizeof(rate), "%.1f%%", 100 * p.pass_rate);
      out += "  " + p.day + "  " + rate + "  (" + std::to_string(p.pass) + " pass, " +
             std::to_string(p.fail) + " fail, " + std::to_string(p.error) + " error)\n";
    }
  }
  if (!r.uncovered.empty()) {
    out += "\nSRs no machine check decides\n";
    for (const UncoveredSr& u : r.uncovered) {
      out += "  " + u.id + " " + u.title + " [" + u.coverage + "]: " + u.note + "\n";
    }
  }
  return out;
}

// ---- CSV

std::string FleetReportCsv(const FleetReport& r) {
  std::string out =
      "node,hostname,node_status,stale,audit_flagged,sr,fr,title,sl,coverage,sr_status,"
      "failing_checks";
  for (const std::string& key : r.framework_keys) {
    auto it = r.framework_names.find(key);
    out += "," + packs::CsvCell(it == r.framework_names.end() ? key : it->second);
  }
  out += "\r\n";
  std::unordered_map<std::string, const FleetSrResult*> by_id;
  for (const FleetSrResult& sr : r.srs) by_id.emplace(sr.id, &sr);
  std::vector<std::string> crosswalk(r.sr_ids.size());
  for (size_t i = 0; i < r.sr_ids.size(); ++i) {
    const FleetSrResult& sr = *by_id.at(r.sr_ids[i]);
    for (const std::string& key : r.framework_keys) {
      std::string ids;
      auto it = sr.frameworks.find(key);
      if (it != sr.frameworks.end()) {
        for (const std::string& id : it->second) ids += (ids.empty() ? "" : " ") + id;
      }
      crosswalk[i] += "," + packs::CsvCell(ids);
    }
  }
  for (const FleetNodeResult& n : r.nodes) {
    const std::string node = packs::CsvCell(n.host_identifier) + "," +
                             packs::CsvCell(n.hostname) + "," + n.status + "," +
                             (n.stale ? "true" : "false") + "," +
                             (n.audit_flagged ? "true" : "false") + ",";
    for (size_t i = 0; i < r.sr_ids.size() && i < n.sr_status.size(); ++i) {
      const FleetSrResult& sr = *by_id.at(r.sr_ids[i]);
      std::string failing;
      if (n.sr_status[i] == "fail" || n.sr_status[i] == "error") {
        for (const std::string& c : n.failing_checks) {
          if (std::binary_search(sr.checks.begin(), sr.checks.end(), c)) {
            failing += (failing.empty() ? "" : " ") + c;
          }
        }
      }
      out += node + packs::CsvCell(sr.id) + "," + packs::CsvCell(sr.fr) + "," +
             packs::CsvCell(sr.title) + "," + std::to_string(sr.sl) + "," + sr.coverage + "," +
             n.sr_status[i] + "," + packs::CsvCell(failing) + crosswalk[i] + "\r\n";
    }
  }
  return out;
}

}  // namespace vigil::server
