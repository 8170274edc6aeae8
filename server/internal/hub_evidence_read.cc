// EvidenceIndex's reads: the latest verdicts (now and as of a time), the history, the daily
// snapshots, audit heads and presence.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/internal/hub_evidence.h"
#include "server/internal/hub_evidence_format.h"

namespace vigil::server::internal {

using evidence::ConnectionKey;
using evidence::ConnectionPrefix;
using evidence::DayOf;
using evidence::DecodeDaySnapshot;
using evidence::DecodeHead;
using evidence::DecodeSummaries;
using evidence::EntryAtOrBefore;
using evidence::HeadHistoryPrefix;
using evidence::HeadKey;
using evidence::kDay;
using evidence::ParseHistoryKey;
using evidence::Prefix;
using evidence::ReadVerdictFields;
using evidence::Seq;
using evidence::SnapshotKey;
using evidence::SnapshotPrefix;
using evidence::Split;
using evidence::VerdictKey;
using store::Family;

Status EvidenceIndex::LatestVerdicts(
    const std::function<bool(std::string_view, const std::vector<VerdictSummary>&)>& visit) const {
  const std::string prefix = Prefix('L');
  Status result;
  std::vector<VerdictSummary> verdicts;
  VIGIL_RETURN_IF_ERROR(
      store_.Scan(Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        const std::string_view host = key.substr(prefix.size());
        result = DecodeSummaries(value, host, verdicts);
        if (!result.ok()) return false;
        return visit(host, verdicts);
      }));
  return result;
}

// Two cursors on one snapshot for the whole report, so no iterator per lookup: one walks the
// nodes' "L" keys, the other, for each check whose latest verdict is newer than `at`, looks up
// the check's history. The checks of a node come in key order (the "L" value is sorted by
// check) and the nodes too, so the history cursor only moves forward, mostly by a few steps.
Status EvidenceIndex::LatestVerdictsAt(
    int64_t at,
    const std::function<bool(std::string_view, const std::vector<VerdictSummary>&)>& visit) const {
  if (at < 0) return Status::Ok();
  const std::string prefix = Prefix('L');
  VIGIL_ASSIGN_OR_RETURN(auto cursors, store_.OpenCursors({Family::kEvidence, Family::kEvidence}));
  store::Store::Cursor& nodes = *cursors[0];
  store::Store::Cursor& history = *cursors[1];
  std::vector<VerdictSummary> latest, then;
  for (nodes.Seek(prefix); nodes.Valid() && nodes.key().starts_with(prefix); nodes.Next()) {
    const std::string_view host = nodes.key().substr(prefix.size());
    VIGIL_RETURN_IF_ERROR(DecodeSummaries(nodes.value(), host, latest));
    then.clear();
    for (VerdictSummary& v : latest) {
      if (v.time <= at) {
        then.push_back(std::move(v));
        continue;
      }
      VIGIL_ASSIGN_OR_RETURN(auto entry, EntryAtOrBefore(history, host, v.check, at));
      if (entry) then.push_back(std::move(*entry));
    }
    if (!then.empty() && !visit(host, then)) return Status::Ok();
  }
  return nodes.status();
}

Result<std::optional<std::string>> EvidenceIndex::LatestVerdictJson(std::string_view host,
                                                                    std::string_view check) const {
  return store_.Get(Family::kEvidence, VerdictKey(host, check));
}

Status EvidenceIndex::VerdictHistory(
    std::string_view host, int64_t from, int64_t to,
    const std::function<bool(const VerdictHistoryEntry&)>& visit) const {
  if (to < from || to < 0) return Status::Ok();
  const std::string prefix = Prefix('P');
  std::string start = prefix;
  if (!host.empty()) start += std::string(host) + '\0';
  std::vector<VerdictHistoryEntry> entries;
  Status result;
  VIGIL_RETURN_IF_ERROR(
      store_.Scan(Family::kEvidence, start, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(start)) return false;
        std::string_view h, c;
        int64_t time = 0;
        if (!ParseHistoryKey(key, h, c, time)) {
          result = Status::Corruption("hub store: a verdict history key has no check or time");
          return false;
        }
        if (time < from || time > to) return true;
        VerdictHistoryEntry entry;
        entry.host_identifier = std::string(h);
        entry.verdict.check = std::string(c);
        entry.verdict.time = time;
        if (!ReadVerdictFields(Split(value, '\t'), 0, entry.verdict)) {
          result = Status::Corruption("hub store: the verdict history entry of node " +
                                      entry.host_identifier + ", check " + entry.verdict.check +
                                      " is malformed");
          return false;
        }
        entries.push_back(std::move(entry));
        return true;
      }));
  VIGIL_RETURN_IF_ERROR(result);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const VerdictHistoryEntry& a, const VerdictHistoryEntry& b) {
                     return a.verdict.time < b.verdict.time;
                   });
  for (const VerdictHistoryEntry& entry : entries) {
    if (!visit(entry)) break;
  }
  return Status::Ok();
}

Status EvidenceIndex::VerdictDays(std::string_view host, int64_t from, int64_t to,
                                  const std::function<bool(const VerdictDayCounts&)>& visit) const {
  if (to < from || to < 0) return Status::Ok();
  const int64_t first = DayOf(from), last = DayOf(to);
  const std::string prefix = SnapshotPrefix(host);
  const std::string start = SnapshotKey(host, last);
  std::vector<VerdictDayCounts> found;  // newest first
  Status result;
  VIGIL_RETURN_IF_ERROR(store_.ScanBackward(
      Family::kEvidence, std::string_view(start),
      [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        auto snapshot = DecodeDaySnapshot(key, prefix, value, host);
        if (!snapshot.ok()) {
          result = snapshot.status();
          return false;
        }
        const evidence::Counts& counts = snapshot->counts;
        found.push_back({std::max(snapshot->day, first) * kDay, std::string(host), counts.pass,
                         counts.fail, counts.error});
        return snapshot->day > first;
      }));
  VIGIL_RETURN_IF_ERROR(result);
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    if (!visit(*it)) break;
  }
  return Status::Ok();
}

Result<std::optional<AuditHeadRecord>> EvidenceIndex::AuditHead(std::string_view host) const {
  VIGIL_ASSIGN_OR_RETURN(auto stored, store_.Get(Family::kEvidence, HeadKey(host)));
  if (!stored) return std::optional<AuditHeadRecord>();
  VIGIL_ASSIGN_OR_RETURN(AuditHeadRecord head, DecodeHead(*stored, host));
  return std::optional<AuditHeadRecord>(std::move(head));
}

Result<std::optional<AuditHeadRecord>> EvidenceIndex::AuditHeadAt(std::string_view host,
                                                                  int64_t at) const {
  std::optional<std::string> stored;
  if (at < 0) return std::optional<AuditHeadRecord>();
  const std::string prefix = HeadHistoryPrefix(host);
  const std::string from = prefix + Seq(at);
  VIGIL_RETURN_IF_ERROR(store_.ScanBackward(Family::kEvidence, std::string_view(from),
                                            [&](std::string_view key, std::string_view value) {
                                              if (key.starts_with(prefix))
                                                stored = std::string(value);
                                              return false;
                                            }));
  if (!stored) return std::optional<AuditHeadRecord>();
  VIGIL_ASSIGN_OR_RETURN(AuditHeadRecord head, DecodeHead(*stored, host));
  return std::optional<AuditHeadRecord>(std::move(head));
}

Result<NodePresence> EvidenceIndex::PresenceAt(std::string_view host, int64_t unix_ms) const {
  NodePresence presence;
  if (unix_ms < 0) return presence;
  const std::string prefix = ConnectionPrefix(host);
  const std::string from = ConnectionKey(host, unix_ms);
  VIGIL_RETURN_IF_ERROR(store_.ScanBackward(Family::kEvidence, std::string_view(from),
                                            [&](std::string_view key, std::string_view value) {
                                              if (!key.starts_with(prefix)) return false;
                                              auto ms = store::DecodeSeq(key.substr(prefix.size()));
                                              if (!ms) return false;
                                              presence.known = true;
                                              presence.online = value == "1";
                                              presence.since_ms = static_cast<int64_t>(*ms);
                                              return false;
                                            }));
  return presence;
}

}  // namespace vigil::server::internal
