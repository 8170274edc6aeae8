// The encodings of the evidence index (hub_evidence.h gives the key layout), shared by its
// write path (hub_evidence.cc), its reads (hub_evidence_read.cc) and the conversion of older
// stores (hub_evidence_upgrade.cc): key builders, the line format of verdict summaries and
// history values, audit heads as JSON, daily snapshot counts, and the history lookups that
// both the write path and the reads make on a store cursor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/store/store.h"
#include "server/hub_store.h"

namespace vigil::server::internal::evidence {

// ---- keys

// NUL KIND NUL: the start of every key of one kind.
std::string Prefix(char kind);

// hub_evidence.h's layout version; Upgrade() brings older ones to it.
inline constexpr std::string_view kVersion = "2";
std::string VersionKey();

std::string LatestKey(std::string_view host);
std::string VerdictKey(std::string_view host, std::string_view check);
// n as an 8-byte big-endian key part; a negative n as 0.
std::string Seq(int64_t n);

// NUL "P" NUL HOST NUL CHECK NUL: a check's history, newest first.
std::string HistoryPrefix(std::string_view host, std::string_view check);
// Newest first: the time's complement, so that a forward seek from T lands on the newest entry
// at or before T (RocksDB seeks forward for less than it seeks backward).
std::string HistoryTime(int64_t time);
int64_t DecodeHistoryTime(std::string_view bytes);  // 8 bytes
std::string HistoryKey(std::string_view host, std::string_view check, int64_t time);
// A history key's parts; false when it is not one. The host has no NUL and the time is the
// last 8 bytes, so a check is what lies between, NULs and all.
bool ParseHistoryKey(std::string_view key, std::string_view& host, std::string_view& check,
                     int64_t& time);

// NUL "S" NUL HOST NUL EncodeSeq(day): the node's daily snapshot.
std::string SnapshotPrefix(std::string_view host);
std::string SnapshotKey(std::string_view host, int64_t day);

std::string HeadKey(std::string_view host);
std::string HeadHistoryPrefix(std::string_view host);  // NUL "B" NUL HOST NUL

std::string ConnectionPrefix(std::string_view host);  // NUL "C" NUL HOST NUL
std::string ConnectionKey(std::string_view host, int64_t ms);

inline constexpr int64_t kDay = 86400;
inline int64_t DayOf(int64_t time) { return time < 0 ? 0 : time / kDay; }

// ---- the line format of summaries and history values: fields split by TAB, SR ids by US
// (0x1f), with backslash escapes for those bytes, newline and backslash.

void AppendField(std::string& out, std::string_view field);
std::string Unescape(std::string_view field);
// Splits at `sep`; escapes never produce a raw separator, so a plain split is exact.
std::vector<std::string_view> Split(std::string_view text, char sep);

// A history value: status TAB sl TAB pack TAB sr US sr ...
void AppendVerdictFields(std::string& out, const VerdictSummary& v);
// The verdict fields from parts[at..at+3]; false when they are not exactly those.
bool ReadVerdictFields(const std::vector<std::string_view>& parts, size_t at, VerdictSummary& v);

// A node's latest verdicts ("L" value): one line per check, check TAB time TAB (verdict fields).
std::string EncodeSummaries(const std::map<std::string, VerdictSummary>& latest);
Status DecodeSummaries(std::string_view text, std::string_view host,
                       std::vector<VerdictSummary>& out);

// An audit head ("A" and "B" values) as JSON; an older hub wrote no "flagged_at": it reads as 0.
std::string EncodeHead(const AuditHeadRecord& head);
Result<AuditHeadRecord> DecodeHead(std::string_view text, std::string_view host);

// ---- daily snapshots

// What a verdict counts as in a snapshot.
enum class Tally { kNone, kPass, kFail, kError };
Tally TallyOf(std::string_view status);

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

// "pass fail error".
std::string EncodeCounts(const Counts& c);
Result<Counts> DecodeCounts(std::string_view text, std::string_view host);

// One daily snapshot entry of `host` (its key is `prefix` + the day): the day (days since the
// epoch) and its counts; Corruption naming the node when either does not read.
struct DaySnapshot {
  int64_t day = 0;
  Counts counts;
};
Result<DaySnapshot> DecodeDaySnapshot(std::string_view key, std::string_view prefix,
                                      std::string_view value, std::string_view host);

// ---- history lookups on `cursor` (a cursor of the evidence family), each at most one seek

// The check's history entry with the greatest time <= t; nullopt when none.
Result<std::optional<VerdictSummary>> EntryAtOrBefore(store::Store::Cursor& cursor,
                                                      std::string_view host, std::string_view check,
                                                      int64_t t);
// The time of the check's first history entry after t; nullopt when none.
Result<std::optional<int64_t>> EntryTimeAfter(store::Store::Cursor& cursor, std::string_view host,
                                              std::string_view check, int64_t t);

}  // namespace vigil::server::internal::evidence
