#include "server/internal/hub_evidence.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include "engine/packs/verdict_json.h"

namespace vigil::server::internal {
namespace {

using store::Family;
using store::Mutation;

std::string Prefix(char kind) { return std::string{'\0', kind, '\0'}; }

// hub_evidence.h's layout version; Upgrade() brings older ones to it.
constexpr std::string_view kVersion = "2";
std::string VersionKey() { return Prefix('M') + "version"; }

std::string LatestKey(std::string_view host) { return Prefix('L') + std::string(host); }

std::string VerdictKey(std::string_view host, std::string_view check) {
  std::string key = Prefix('V') + std::string(host);
  key += '\0';
  key += check;
  return key;
}

std::string Seq(int64_t n) { return store::EncodeSeq(static_cast<uint64_t>(n < 0 ? 0 : n)); }

// NUL "P" NUL HOST NUL CHECK NUL: a check's history, ordered by time.
std::string HistoryPrefix(std::string_view host, std::string_view check) {
  std::string key = Prefix('P') + std::string(host);
  key += '\0';
  key += check;
  key += '\0';
  return key;
}

// Newest first: the time's complement, so that a forward seek from T lands on the newest entry
// at or before T (RocksDB seeks forward for less than it seeks backward).
std::string HistoryTime(int64_t time) {
  return store::EncodeSeq(~static_cast<uint64_t>(time < 0 ? 0 : time));
}
int64_t DecodeHistoryTime(std::string_view bytes) {  // 8 bytes
  return static_cast<int64_t>(~*store::DecodeSeq(bytes));
}

std::string HistoryKey(std::string_view host, std::string_view check, int64_t time) {
  return HistoryPrefix(host, check) + HistoryTime(time);
}

// A history key's parts; false when it is not one. The host has no NUL and the time is the
// last 8 bytes, so a check is what lies between, NULs and all.
bool ParseHistoryKey(std::string_view key, std::string_view& host, std::string_view& check,
                     int64_t& time) {
  const std::string prefix = Prefix('P');
  if (!key.starts_with(prefix)) return false;
  const std::string_view rest = key.substr(prefix.size());
  const size_t nul = rest.find('\0');
  if (nul == std::string_view::npos || rest.size() < nul + 1 + 9 ||
      rest[rest.size() - 9] != '\0') {
    return false;
  }
  host = rest.substr(0, nul);
  check = rest.substr(nul + 1, rest.size() - 9 - (nul + 1));
  time = DecodeHistoryTime(rest.substr(rest.size() - 8));
  return true;
}

// NUL "S" NUL HOST NUL EncodeSeq(day): the node's daily snapshot.
std::string SnapshotPrefix(std::string_view host) {
  std::string key = Prefix('S') + std::string(host);
  key += '\0';
  return key;
}

std::string SnapshotKey(std::string_view host, int64_t day) {
  return SnapshotPrefix(host) + Seq(day);
}

std::string HeadKey(std::string_view host) { return Prefix('A') + std::string(host); }

std::string HeadHistoryPrefix(std::string_view host) {
  std::string key = Prefix('B') + std::string(host);
  key += '\0';
  return key;
}

constexpr int64_t kDay = 86400;
int64_t DayOf(int64_t time) { return time < 0 ? 0 : time / kDay; }

std::string ConnectionKey(std::string_view host, int64_t ms) {
  std::string key = Prefix('C') + std::string(host);
  key += '\0';
  key += Seq(ms);
  return key;
}

// ---- the line format of summaries and history values: fields split by TAB, SR ids by US
// (0x1f), with backslash escapes for those bytes, newline and backslash.

void AppendField(std::string& out, std::string_view field) {
  for (char c : field) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\x1f': out += "\\s"; break;
      default: out += c;
    }
  }
}

std::string Unescape(std::string_view field) {
  if (field.find('\\') == std::string_view::npos) return std::string(field);
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out += field[i];
      continue;
    }
    const char next = field[++i];
    out += next == 't' ? '\t' : next == 'n' ? '\n' : next == 's' ? '\x1f' : next;
  }
  return out;
}

// Splits at `sep`; escapes never produce a raw separator, so a plain split is exact.
std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (true) {
    size_t end = text.find(sep, at);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(at));
      return parts;
    }
    parts.push_back(text.substr(at, end - at));
    at = end + 1;
  }
}

// status TAB sl TAB pack TAB sr US sr ...
void AppendVerdictFields(std::string& out, const VerdictSummary& v) {
  AppendField(out, v.status);
  out += '\t';
  out += std::to_string(v.sl);
  out += '\t';
  AppendField(out, v.pack);
  out += '\t';
  for (size_t i = 0; i < v.sr.size(); ++i) {
    if (i > 0) out += '\x1f';
    AppendField(out, v.sr[i]);
  }
}

bool ReadVerdictFields(const std::vector<std::string_view>& parts, size_t at, VerdictSummary& v) {
  if (parts.size() != at + 4) return false;
  v.status = Unescape(parts[at]);
  auto [end, ec] = std::from_chars(parts[at + 1].data(),
                                   parts[at + 1].data() + parts[at + 1].size(), v.sl);
  if (ec != std::errc()) return false;
  v.pack = Unescape(parts[at + 2]);
  v.sr.clear();
  if (!parts[at + 3].empty()) {
    for (std::string_view sr : Split(parts[at + 3], '\x1f')) v.sr.push_back(Unescape(sr));
  }
  return true;
}

// One line per check: check TAB time TAB (verdict fields).
std::string EncodeSummaries(const std::map<std::string, VerdictSummary>& latest) {
  std::string out;
  for (const auto& [check, v] : latest) {
    AppendField(out, check);
    out += '\t';
    out += std::to_string(v.time);
    out += '\t';
    AppendVerdictFields(out, v);
    out += '\n';
  }
  return out;
}

Status DecodeSummaries(std::string_view text, std::string_view host,
                       std::vector<VerdictSummary>& out) {
  out.clear();
  size_t at = 0;
  while (at < text.size()) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    const std::vector<std::string_view> parts = Split(text.substr(at, eol - at), '\t');
    VerdictSummary v;
    bool ok = parts.size() == 6;
    if (ok) {
      v.check = Unescape(parts[0]);
      auto [end, ec] =
          std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), v.time);
      ok = ec == std::errc() && ReadVerdictFields(parts, 2, v);
    }
    if (!ok) {
      return Status::Corruption("hub store: the latest verdicts of node " + std::string(host) +
                                " hold a malformed line");
    }
    out.push_back(std::move(v));
    at = eol + 1;
  }
  return Status::Ok();
}

std::string EncodeHead(const AuditHeadRecord& head) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("seq");
  w.Uint64(head.seq);
  w.Key("hash");
  w.String(head.hash.data(), static_cast<rapidjson::SizeType>(head.hash.size()));
  w.Key("flagged");
  w.Bool(head.flagged);
  w.Key("reason");
  w.String(head.reason.data(), static_cast<rapidjson::SizeType>(head.reason.size()));
  w.Key("flagged_at");
  w.Int64(head.flagged_at);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// An older hub wrote no "flagged_at": it reads as 0.
Result<AuditHeadRecord> DecodeHead(std::string_view text, std::string_view host) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  auto corrupt = [&] {
    return Status::Corruption("hub store: the audit head of node " + std::string(host) +
                              " is malformed");
  };
  if (doc.HasParseError() || !doc.IsObject()) return corrupt();
  AuditHeadRecord head;
  auto seq = doc.FindMember("seq");
  auto hash = doc.FindMember("hash");
  auto flagged = doc.FindMember("flagged");
  auto reason = doc.FindMember("reason");
  auto flagged_at = doc.FindMember("flagged_at");
  if (seq == doc.MemberEnd() || !seq->value.IsUint64() || hash == doc.MemberEnd() ||
      !hash->value.IsString() || flagged == doc.MemberEnd() || !flagged->value.IsBool() ||
      reason == doc.MemberEnd() || !reason->value.IsString() ||
      (flagged_at != doc.MemberEnd() && !flagged_at->value.IsInt64())) {
    return corrupt();
  }
  head.seq = seq->value.GetUint64();
  head.hash.assign(hash->value.GetString(), hash->value.GetStringLength());
  head.flagged = flagged->value.GetBool();
  head.reason.assign(reason->value.GetString(), reason->value.GetStringLength());
  if (flagged_at != doc.MemberEnd()) head.flagged_at = flagged_at->value.GetInt64();
  return head;
}

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

// ---- daily snapshots

// What a verdict counts as in a snapshot.
enum class Tally { kNone, kPass, kFail, kError };

Tally TallyOf(std::string_view status) {
  if (status == "pass" || status == "fixed") return Tally::kPass;
  if (status == "fail") return Tally::kFail;
  if (status == "error") return Tally::kError;
  return Tally::kNone;  // not_applicable
}

struct Counts {
  int pass = 0, fail = 0, error = 0;
  static Counts Of(Tally t) {
    return {t == Tally::kPass ? 1 : 0, t == Tally::kFail ? 1 : 0, t == Tally::kError ? 1 : 0};
  }
  bool zero() const { return pass == 0 && fail == 0 && error == 0; }
  Counts& operator+=(const Counts& o) {
    pass += o.pass;
    fail += o.fail;
    error += o.error;
    return *this;
  }
  Counts& operator-=(const Counts& o) {
    pass -= o.pass;
    fail -= o.fail;
    error -= o.error;
    return *this;
  }
  friend Counts operator+(Counts a, const Counts& b) { return a += b; }
  friend Counts operator-(Counts a, const Counts& b) { return a -= b; }
};

std::string EncodeCounts(const Counts& c) {
  return std::to_string(c.pass) + " " + std::to_string(c.fail) + " " + std::to_string(c.error);
}

Result<Counts> DecodeCounts(std::string_view text, std::string_view host) {
  const std::vector<std::string_view> parts = Split(text, ' ');
  Counts c;
  bool ok = parts.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    int& n = i == 0 ? c.pass : i == 1 ? c.fail : c.error;
    auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), n);
    ok = ec == std::errc() && end == parts[i].data() + parts[i].size();
  }
  if (!ok) {
    return Status::Corruption("hub store: a daily snapshot of node " + std::string(host) +
                              " is malformed");
  }
  return c;
}

// The status a history value holds (its first field).
std::string HistoryStatus(std::string_view value) {
  return Unescape(value.substr(0, value.find('\t')));
}

// The check's history entry with the greatest time <= t; nullopt when none. One seek.
Result<std::optional<VerdictSummary>> EntryAtOrBefore(const store::Store& store,
                                                      std::string_view host,
                                                      std::string_view check, int64_t t) {
  std::optional<VerdictSummary> found;
  if (t < 0) return found;
  const std::string prefix = HistoryPrefix(host, check);
  Status result;
  VIGIL_RETURN_IF_ERROR(store.Scan(Family::kEvidence, prefix + HistoryTime(t),
                                   [&](std::string_view key, std::string_view value) {
                                     if (!key.starts_with(prefix)) return false;
                                     // A longer check that begins with this one and a NUL (an older
                                     // hub indexed those): not this check's, and sorted among its
                                     // entries.
                                     if (key.size() != prefix.size() + 8) return true;
                                     VerdictSummary v;
                                     v.check = std::string(check);
                                     v.time = DecodeHistoryTime(key.substr(prefix.size()));
                                     if (!ReadVerdictFields(Split(value, '\t'), 0, v)) {
                                       result = Status::Corruption(
                                           "hub store: the verdict history entry of node " +
                                           std::string(host) + ", check " + std::string(check) +
                                           " is malformed");
                                       return false;
                                     }
                                     found = std::move(v);
                                     return false;
                                   }));
  VIGIL_RETURN_IF_ERROR(result);
  return found;
}

// The time of the check's first history entry after t; nullopt when none. One reverse seek.
Result<std::optional<int64_t>> EntryTimeAfter(const store::Store& store, std::string_view host,
                                              std::string_view check, int64_t t) {
  std::optional<int64_t> found;
  const std::string prefix = HistoryPrefix(host, check);
  const std::string from = prefix + HistoryTime(t + 1);
  VIGIL_RETURN_IF_ERROR(store.ScanBackward(
      Family::kEvidence, std::string_view(from), [&](std::string_view key, std::string_view) {
        if (!key.starts_with(prefix)) return false;
        if (key.size() != prefix.size() + 8) return true;
        found = DecodeHistoryTime(key.substr(prefix.size()));
        return false;
      }));
  return found;
}

// How verdict `v` of a node changes its daily snapshots: the check counts as v from v's day
// until the day of the check's next verdict (if that is a later day; a later verdict the same
// day decides that day alone). Adds the change to `deltas` at v's day and takes it back at the
// next verdict's: the snapshot of a day is the running sum of the deltas up to it.
// `latest` and `written` include this batch's earlier verdicts; `written` holds those the
// store does not have yet (check -> time -> tally).
Status AddSnapshotChange(const store::Store& store, std::string_view host,
                         const VerdictSummary& v,
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
    VIGIL_ASSIGN_OR_RETURN(auto stored, EntryAtOrBefore(store, host, v.check, v.time));
    if (stored) {
      before = TallyOf(stored->status);
      before_time = stored->time;
    }
    VIGIL_ASSIGN_OR_RETURN(next, EntryTimeAfter(store, host, v.check, v.time));
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
  Counts base;  // the snapshot of the day before the first delta
  std::map<int64_t, Counts> stored;  // the snapshots from that day on
  Status result;
  // One reverse scan from the node's last snapshot down to the one before `first`: in order,
  // that is the day's own snapshot and the one before it.
  const std::string last = prefix + std::string(8, '\xff');
  VIGIL_RETURN_IF_ERROR(store.ScanBackward(
      Family::kEvidence, std::string_view(last), [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        auto day = store::DecodeSeq(key.substr(prefix.size()));
        auto counts = DecodeCounts(value, host);
        if (!day || !counts.ok()) {
          result = counts.ok() ? Status::Corruption("hub store: a daily snapshot key of node " +
                                                    std::string(host) + " is not a day")
                               : counts.status();
          return false;
        }
        if (static_cast<int64_t>(*day) < first) {
          base = *counts;
          return false;
        }
        stored.emplace(static_cast<int64_t>(*day), *counts);
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

// ---- Upgrade(): version 1 keys
//   NUL "H" NUL EncodeSeq(t) HOST NUL CHECK -> a history entry
//   NUL "D" NUL EncodeSeq(day) HOST         -> counts of the verdicts sent that day

constexpr size_t kUpgradeBatch = 10000;

Status DeletePrefix(store::Store& store, const std::string& prefix) {
  while (true) {
    std::vector<Mutation> batch;
    VIGIL_RETURN_IF_ERROR(store.Scan(Family::kEvidence, prefix, [&](std::string_view key,
                                                                     std::string_view) {
      if (!key.starts_with(prefix)) return false;
      batch.push_back(Mutation::Delete(Family::kEvidence, std::string(key)));
      return batch.size() < kUpgradeBatch;
    }));
    if (batch.empty()) return Status::Ok();
    VIGIL_RETURN_IF_ERROR(store.Write(batch));
  }
}

// "H" entries to "P" keys, each batch putting the new keys and deleting the old together.
Status MoveHistory(store::Store& store) {
  const std::string prefix = Prefix('H');
  while (true) {
    std::vector<Mutation> batch;
    Status result;
    VIGIL_RETURN_IF_ERROR(store.Scan(Family::kEvidence, prefix, [&](std::string_view key,
                                                                     std::string_view value) {
      if (!key.starts_with(prefix)) return false;
      const std::string_view rest = key.size() >= prefix.size() + 8
                                        ? key.substr(prefix.size() + 8)
                                        : std::string_view();
      const size_t nul = rest.find('\0');
      auto time = store::DecodeSeq(key.substr(prefix.size(), 8));
      if (!time || nul == std::string_view::npos) {
        result = Status::Corruption(
            "hub store: a verdict history key of the previous layout has no time or no check");
        return false;
      }
      batch.push_back(Mutation::Put(
          Family::kEvidence,
          HistoryKey(rest.substr(0, nul), rest.substr(nul + 1), static_cast<int64_t>(*time)),
          std::string(value)));
      batch.push_back(Mutation::Delete(Family::kEvidence, std::string(key)));
      return batch.size() < 2 * kUpgradeBatch;
    }));
    VIGIL_RETURN_IF_ERROR(result);
    if (batch.empty()) return Status::Ok();
    VIGIL_RETURN_IF_ERROR(store.Write(batch));
  }
}

// Every node's daily snapshots from its whole history, read once in (node, check, newest first)
// order: each entry counts from its day on, until the day of the check's next entry.
Status ComputeSnapshots(store::Store& store) {
  const std::string prefix = Prefix('P');
  std::vector<Mutation> batch;
  std::string host;                  // the node being summed
  std::map<int64_t, Counts> deltas;  // its deltas by day
  std::string check;                 // the check whose entries are being read
  std::optional<int64_t> next_day;   // the day of its entry after this one
  Status result;
  auto flush = [&] {
    Counts sum;
    for (const auto& [day, d] : deltas) {
      sum += d;
      if (!d.zero()) {
        batch.push_back(
            Mutation::Put(Family::kEvidence, SnapshotKey(host, day), EncodeCounts(sum)));
      }
    }
    deltas.clear();
  };
  VIGIL_RETURN_IF_ERROR(store.Scan(
      Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        std::string_view h, c;
        int64_t time = 0;
        if (!key.starts_with(prefix)) return false;
        if (!ParseHistoryKey(key, h, c, time)) {
          result = Status::Corruption("hub store: a verdict history key has no check or time");
          return false;
        }
        if (h != host) {
          flush();
          host = std::string(h);
          check.clear();
          next_day.reset();
        }
        if (c != check) {
          check = std::string(c);
          next_day.reset();
        }
        const Counts counts = Counts::Of(TallyOf(HistoryStatus(value)));
        deltas[DayOf(time)] += counts;
        if (next_day) deltas[*next_day] -= counts;
        next_day = DayOf(time);
        if (batch.size() >= kUpgradeBatch) {
          result = store.Write(batch);
          batch.clear();
          if (!result.ok()) return false;
        }
        return true;
      }));
  VIGIL_RETURN_IF_ERROR(result);
  flush();
  if (batch.empty()) return Status::Ok();
  return store.Write(batch);
}

// Each head gets a history of one entry at time 0: itself.
Status StartHeadHistories(store::Store& store) {
  const std::string prefix = Prefix('A');
  std::vector<Mutation> batch;
  Status result;
  VIGIL_RETURN_IF_ERROR(store.Scan(
      Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        batch.push_back(Mutation::Put(
            Family::kEvidence, HeadHistoryPrefix(key.substr(prefix.size())) + Seq(0),
            std::string(value)));
        if (batch.size() >= kUpgradeBatch) {
          result = store.Write(batch);
          batch.clear();
          if (!result.ok()) return false;
        }
        return true;
      }));
  VIGIL_RETURN_IF_ERROR(result);
  if (batch.empty()) return Status::Ok();
  return store.Write(batch);
}

}  // namespace

EvidenceIndex::EvidenceIndex(store::Store& store, std::function<int64_t()> unix_seconds)
    : store_(store),
      unix_seconds_(unix_seconds ? std::move(unix_seconds) : std::function<int64_t()>(
                                                                 UnixSecondsNow)) {}

Status EvidenceIndex::Upgrade() {
  VIGIL_ASSIGN_OR_RETURN(auto version, store_.Get(Family::kEvidence, VersionKey()));
  if (version && *version == kVersion) return Status::Ok();
  if (version) {
    return Status::FailedPrecondition("hub store: the evidence index is version " + *version +
                                      "; this hub reads version " + std::string(kVersion));
  }
  VIGIL_RETURN_IF_ERROR(MoveHistory(store_));
  VIGIL_RETURN_IF_ERROR(DeletePrefix(store_, Prefix('D')));
  VIGIL_RETURN_IF_ERROR(ComputeSnapshots(store_));
  VIGIL_RETURN_IF_ERROR(StartHeadHistories(store_));
  return store_.Put(Family::kEvidence, VersionKey(), kVersion);
}

Status EvidenceIndex::Index(std::string_view host, const std::vector<std::string_view>& items,
                            std::vector<Mutation>& batch) const {
  const int64_t now = unix_seconds_();
  std::optional<std::map<std::string, VerdictSummary>> latest;  // read on the first verdict
  std::optional<std::optional<AuditHeadRecord>> head;           // read on the first head
  std::map<std::string, std::map<int64_t, Tally>> written;  // this batch's history entries
  std::map<int64_t, Counts> deltas;  // by day: the changes to the node's snapshots
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
      VIGIL_RETURN_IF_ERROR(AddSnapshotChange(store_, host, v, *latest, written, deltas));
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

Status EvidenceIndex::LatestVerdicts(
    const std::function<bool(std::string_view, const std::vector<VerdictSummary>&)>& visit)
    const {
  const std::string prefix = Prefix('L');
  Status result;
  std::vector<VerdictSummary> verdicts;
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        const std::string_view host = key.substr(prefix.size());
        result = DecodeSummaries(value, host, verdicts);
        if (!result.ok()) return false;
        return visit(host, verdicts);
      }));
  return result;
}

Status EvidenceIndex::LatestVerdictsAt(
    int64_t at,
    const std::function<bool(std::string_view, const std::vector<VerdictSummary>&)>& visit)
    const {
  if (at < 0) return Status::Ok();
  const std::string prefix = Prefix('L');
  Status result;
  std::vector<VerdictSummary> latest, then;
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        const std::string_view host = key.substr(prefix.size());
        result = DecodeSummaries(value, host, latest);
        if (!result.ok()) return false;
        then.clear();
        for (VerdictSummary& v : latest) {
          if (v.time <= at) {
            then.push_back(std::move(v));
            continue;
          }
          auto entry = EntryAtOrBefore(store_, host, v.check, at);
          if (!entry.ok()) {
            result = entry.status();
            return false;
          }
          if (*entry) then.push_back(std::move(**entry));
        }
        return then.empty() || visit(host, then);
      }));
  return result;
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
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      Family::kEvidence, start, [&](std::string_view key, std::string_view value) {
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
        auto day = store::DecodeSeq(key.substr(prefix.size()));
        auto counts = DecodeCounts(value, host);
        if (!day || !counts.ok()) {
          result = counts.ok() ? Status::Corruption("hub store: a daily snapshot key of node " +
                                                    std::string(host) + " is not a day")
                               : counts.status();
          return false;
        }
        const int64_t d = static_cast<int64_t>(*day);
        found.push_back({std::max(d, first) * kDay, std::string(host), counts->pass,
                         counts->fail, counts->error});
        return d > first;
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
  VIGIL_RETURN_IF_ERROR(store_.ScanBackward(
      Family::kEvidence, std::string_view(from), [&](std::string_view key, std::string_view value) {
        if (key.starts_with(prefix)) stored = std::string(value);
        return false;
      }));
  if (!stored) return std::optional<AuditHeadRecord>();
  VIGIL_ASSIGN_OR_RETURN(AuditHeadRecord head, DecodeHead(*stored, host));
  return std::optional<AuditHeadRecord>(std::move(head));
}

Status EvidenceIndex::RecordConnection(std::string_view host, int64_t unix_ms, bool connected) {
  return store_.Put(Family::kEvidence, ConnectionKey(host, unix_ms), connected ? "1" : "0");
}

Result<NodePresence> EvidenceIndex::PresenceAt(std::string_view host, int64_t unix_ms) const {
  NodePresence presence;
  if (unix_ms < 0) return presence;
  std::string prefix = Prefix('C') + std::string(host);
  prefix += '\0';
  const std::string from = ConnectionKey(host, unix_ms);
  VIGIL_RETURN_IF_ERROR(store_.ScanBackward(
      Family::kEvidence, std::string_view(from), [&](std::string_view key, std::string_view value) {
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
