// EvidenceIndex's write path: what a node's new items change in the index (Index()), and its
// connection events.
#include "server/internal/hub_evidence.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "engine/packs/verdict_json.h"
#include "server/internal/hub_evidence_format.h"

namespace vigil::server::internal {

using evidence::AppendVerdictFields;
using evidence::ConnectionKey;
using evidence::Counts;
using evidence::DayOf;
using evidence::DecodeDaySnapshot;
using evidence::DecodeHead;
using evidence::DecodeSummaries;
using evidence::EncodeCounts;
using evidence::EncodeHead;
using evidence::EncodeSummaries;
using evidence::EntryAtOrBefore;
using evidence::EntryTimeAfter;
using evidence::HeadHistoryPrefix;
using evidence::HeadKey;
using evidence::HistoryKey;
using evidence::LatestKey;
using evidence::Seq;
using evidence::SnapshotKey;
using evidence::SnapshotPrefix;
using evidence::Tally;
using evidence::TallyOf;
using evidence::VerdictKey;
using store::Family;
using store::Mutation;

namespace {

int64_t UnixSecondsNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The new head against the last one: the reason it contradicts it, or "" when it does not.
std::string Contradiction(const AuditHeadRecord& last, uint64_t seq, std::string_view hash) {
  if (seq < last.seq) {
    return "audit chain went back from seq " + std::to_string(last.seq) + " to seq " +
           std::to_string(seq) + " (truncated)";
  }
  if (seq == last.seq && hash != last.hash) {
    return "audit chain seq " + std::to_string(seq) + " changed hash from " + last.hash + " to " +
           std::string(hash) + " (rewritten)";
  }
  return "";
}

// The batch's cursor, opened on its first lookup: a batch of verdicts in order needs none.
class LazyCursor {
 public:
  explicit LazyCursor(const store::Store& store) : store_(store) {}
  Result<store::Store::Cursor*> Get() {
    if (!cursor_) {
      VIGIL_ASSIGN_OR_RETURN(cursor_, store_.OpenCursor(Family::kEvidence));
    }
    return cursor_.get();
  }

 private:
  const store::Store& store_;
  std::unique_ptr<store::Store::Cursor> cursor_;
};

// How verdict `v` of a node changes its daily snapshots: the check counts as v from v's day
// until the day of the check's next verdict (if that is a later day; a later verdict the same
// day decides that day alone). Adds the change to `deltas` at v's day and takes it back at the
// next verdict's: the snapshot of a day is the running sum of the deltas up to it.
// `latest` and `written` include this batch's earlier verdicts; `written` holds those the
// store does not have yet (check -> time -> tally).
Status AddSnapshotChange(LazyCursor& lookup, std::string_view host, const VerdictSummary& v,
                         const std::map<std::string, VerdictSummary>& latest,
                         const std::map<std::string, std::map<int64_t, Tally>>& written,
                         std::map<int64_t, Counts>& deltas) {
  Tally before = Tally::kNone;  // what the check counted as on v's day, before v
  std::optional<int64_t> next;  // the time of the check's first verdict after v's
  auto it = latest.find(v.check);
  if (it != latest.end() && v.time >= it->second.time) {
    before = TallyOf(it->second.status);  // in order: the common case, no lookup
  } else if (it != latest.end()) {
    // An older verdict arriving late: what the store and this batch hold around its time.
    int64_t before_time = -1;
    VIGIL_ASSIGN_OR_RETURN(store::Store::Cursor * cursor, lookup.Get());
    VIGIL_ASSIGN_OR_RETURN(auto stored, EntryAtOrBefore(*cursor, host, v.check, v.time));
    if (stored) {
      before = TallyOf(stored->status);
      before_time = stored->time;
    }
    VIGIL_ASSIGN_OR_RETURN(next, EntryTimeAfter(*cursor, host, v.check, v.time));
    auto w = written.find(v.check);
    if (w != written.end()) {
      auto after = w->second.upper_bound(v.time);
      if (after != w->second.end() && (!next || after->first < *next)) next = after->first;
      if (after != w->second.begin()) {
        auto at = std::prev(after);
        if (at->first >= before_time) before = at->second;  // it replaces the store's on a tie
      }
    }
  }
  if (next && DayOf(*next) == DayOf(v.time)) return Status::Ok();
  const Counts change = Counts::Of(TallyOf(v.status)) - Counts::Of(before);
  if (change.zero()) return Status::Ok();
  deltas[DayOf(v.time)] += change;
  if (next) deltas[DayOf(*next)] -= change;
  return Status::Ok();
}

// Folds `deltas` into the node's snapshot keys: each stored snapshot from the first delta's day
// on, and a new key on each delta's day, gets the running sum of the deltas up to its day.
Status ApplySnapshotChanges(const store::Store& store, std::string_view host,
                            std::map<int64_t, Counts> deltas, std::vector<Mutation>& batch) {
  std::erase_if(deltas, [](const auto& d) { return d.second.zero(); });
  if (deltas.empty()) return Status::Ok();
  const int64_t first = deltas.begin()->first;
  const std::string prefix = SnapshotPrefix(host);
  Counts base;                       // the snapshot of the day before the first delta
  std::map<int64_t, Counts> stored;  // the snapshots from that day on
  Status result;
  // One reverse scan from the node's last snapshot down to the one before `first`: in order,
  // that is the day's own snapshot and the one before it.
  const std::string last = prefix + std::string(8, '\xff');
  VIGIL_RETURN_IF_ERROR(store.ScanBackward(
      Family::kEvidence, std::string_view(last), [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        auto snapshot = DecodeDaySnapshot(key, prefix, value, host);
        if (!snapshot.ok()) {
          result = snapshot.status();
          return false;
        }
        if (snapshot->day < first) {
          base = snapshot->counts;
          return false;
        }
        stored.emplace(snapshot->day, snapshot->counts);
        return true;
      }));
  VIGIL_RETURN_IF_ERROR(result);
  std::set<int64_t> days;
  for (const auto& [day, c] : deltas) days.insert(day);
  for (const auto& [day, c] : stored) days.insert(day);
  Counts old = base, change;
  for (int64_t day : days) {
    const auto s = stored.find(day);
    const auto d = deltas.find(day);
    if (s != stored.end()) old = s->second;
    if (d != deltas.end()) change += d->second;
    // A new key also where the change ends (back to zero): the day before it has one.
    if (!change.zero() || s == stored.end()) {
      batch.push_back(
          Mutation::Put(Family::kEvidence, SnapshotKey(host, day), EncodeCounts(old + change)));
    }
  }
  return Status::Ok();
}

}  // namespace

EvidenceIndex::EvidenceIndex(store::Store& store, std::function<int64_t()> unix_seconds)
    : store_(store),
      unix_seconds_(unix_seconds ? std::move(unix_seconds)
                                 : std::function<int64_t()>(UnixSecondsNow)) {}

Status EvidenceIndex::Index(std::string_view host, const std::vector<std::string_view>& items,
                            std::vector<Mutation>& batch) const {
  const int64_t now = unix_seconds_();
  std::optional<std::map<std::string, VerdictSummary>> latest;  // read on the first verdict
  std::optional<std::optional<AuditHeadRecord>> head;           // read on the first head
  std::map<std::string, std::map<int64_t, Tally>> written;      // this batch's history entries
  std::map<int64_t, Counts> deltas;  // by day: the changes to the node's snapshots
  LazyCursor lookup(store_);         // for verdicts that arrive late
  for (std::string_view item : items) {
    rapidjson::Document doc;
    doc.Parse(item.data(), item.size());
    if (doc.HasParseError() || !doc.IsObject()) continue;
    auto kind = doc.FindMember("kind");
    if (kind == doc.MemberEnd() || !kind->value.IsString()) continue;
    const std::string_view name(kind->value.GetString(), kind->value.GetStringLength());
    if (name == "verdict") {
      auto parsed = packs::ParseVerdictJson(item);
      if (!parsed.ok() || parsed->check.find('\0') != std::string::npos) continue;
      VerdictSummary v;
      v.check = parsed->check;
      v.pack = parsed->pack;
      v.sr = parsed->sr;
      v.sl = parsed->sl;
      v.status = std::string(packs::VerdictStatusName(parsed->status));
      v.time = std::max<int64_t>(0, packs::ParseRfc3339(parsed->time).value_or(now));
      if (!latest) {
        latest.emplace();
        VIGIL_ASSIGN_OR_RETURN(auto stored, store_.Get(Family::kEvidence, LatestKey(host)));
        if (stored) {
          std::vector<VerdictSummary> old;
          VIGIL_RETURN_IF_ERROR(DecodeSummaries(*stored, host, old));
          for (VerdictSummary& o : old) latest->emplace(o.check, std::move(o));
        }
      }
      VIGIL_RETURN_IF_ERROR(AddSnapshotChange(lookup, host, v, *latest, written, deltas));
      std::string history;
      AppendVerdictFields(history, v);
      batch.push_back(
          Mutation::Put(Family::kEvidence, HistoryKey(host, v.check, v.time), std::move(history)));
      written[v.check][v.time] = TallyOf(v.status);
      auto it = latest->find(v.check);
      if (it != latest->end() && it->second.time > v.time) continue;  // an older verdict
      batch.push_back(
          Mutation::Put(Family::kEvidence, VerdictKey(host, v.check), std::string(item)));
      (*latest)[v.check] = std::move(v);
    } else if (name == "audit_head") {
      auto seq = doc.FindMember("seq");
      auto hash = doc.FindMember("hash");
      if (seq == doc.MemberEnd() || !seq->value.IsUint64() || hash == doc.MemberEnd() ||
          !hash->value.IsString()) {
        continue;
      }
      const std::string_view hash_text(hash->value.GetString(), hash->value.GetStringLength());
      if (!head) {
        VIGIL_ASSIGN_OR_RETURN(auto stored, store_.Get(Family::kEvidence, HeadKey(host)));
        head.emplace();
        if (stored) {
          VIGIL_ASSIGN_OR_RETURN(AuditHeadRecord record, DecodeHead(*stored, host));
          head->emplace(std::move(record));
        }
      }
      AuditHeadRecord next;
      if (*head) {
        next = **head;
        if (!next.flagged) {
          next.reason = Contradiction(next, seq->value.GetUint64(), hash_text);
          next.flagged = !next.reason.empty();
          if (next.flagged) next.flagged_at = now;
        }
      }
      next.seq = seq->value.GetUint64();
      next.hash = std::string(hash_text);
      *head = next;
    }
  }
  if (latest) {
    batch.push_back(Mutation::Put(Family::kEvidence, LatestKey(host), EncodeSummaries(*latest)));
    VIGIL_RETURN_IF_ERROR(ApplySnapshotChanges(store_, host, std::move(deltas), batch));
  }
  if (head && *head) {
    std::string encoded = EncodeHead(**head);
    batch.push_back(Mutation::Put(Family::kEvidence, HeadHistoryPrefix(host) + Seq(now), encoded));
    batch.push_back(Mutation::Put(Family::kEvidence, HeadKey(host), std::move(encoded)));
  }
  return Status::Ok();
}

Status EvidenceIndex::RecordConnection(std::string_view host, int64_t unix_ms, bool connected) {
  return store_.Put(Family::kEvidence, ConnectionKey(host, unix_ms), connected ? "1" : "0");
}

}  // namespace vigil::server::internal
