// What the embedded hub store derives from the evidence agents send (server/hub_store.h,
// "verdicts and audit heads"): each node's latest verdicts, the verdict history, its daily
// snapshots, its audit-chain head and that head's history, and its connection events. Kept in
// the store's evidence family under keys that begin with a NUL byte, which no host identifier
// can (hub_store.cc refuses NUL in them), so they never mix with the items themselves
// (HOST NUL seq):
//   NUL "L" NUL HOST                           -> the node's latest verdict summaries (lines)
//   NUL "V" NUL HOST NUL CHECK                 -> the latest verdict item of the check, as sent
//   NUL "P" NUL HOST NUL CHECK NUL EncodeSeq(~t) -> a history entry (t: the verdict's unix
//                                                  seconds; complemented, newest first), so
//                                                  that the verdict of a check at T is one
//                                                  seek from T
//   NUL "S" NUL HOST NUL EncodeSeq(day)        -> "pass fail error": the node's snapshot at the
//                                                 end of that day and each day after it up to
//                                                 its next "S" key (VerdictDayCounts)
//   NUL "A" NUL HOST                           -> the node's audit head (JSON)
//   NUL "B" NUL HOST NUL EncodeSeq(t)          -> the head as it stood from t (the hub's unix
//                                                 seconds when it stored it) on
//   NUL "C" NUL HOST NUL EncodeSeq(ms)         -> "1" connected / "0" disconnected
//   NUL "M" NUL "version"                      -> "2": the layout above (Upgrade())
// A check id holding a NUL byte is kept as evidence but feeds none of them.
//
// The index is written in hub_evidence.cc, read in hub_evidence_read.cc, converted from older
// layouts in hub_evidence_upgrade.cc; hub_evidence_format.h holds the encodings they share.
//
// Thread safety: const methods may run on any thread; Index() for one node must be called
// under that node's lock (hub_store.cc's stripe) so two batches of a node do not interleave.
// Upgrade() runs before the store is shared.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/store/store.h"
#include "server/hub_store.h"

namespace vigil::server::internal {

class EvidenceIndex {
 public:
  // `unix_seconds` dates audit heads and a verdict whose time does not parse; empty: the system
  // clock.
  EvidenceIndex(store::Store& store, std::function<int64_t()> unix_seconds);

  // Brings what an older hub derived to the layout above, once (the "M" version key says it
  // was done; a store without it is upgraded, an empty one in no time). From version 1:
  //   - history "H" NUL EncodeSeq(t) HOST NUL CHECK entries move to "P" keys, in batches that
  //     put the new keys and delete the old ones together (an interrupted upgrade resumes);
  //   - the per-day counts of verdicts sent ("D" keys) are dropped and the daily snapshots are
  //     computed from the whole history;
  //   - each audit head gets a head history of one entry at time 0: the past of a head is
  //     unknown, so a report of any time shows the head as it is now, a flag included (a flag's
  //     time was not kept: flagged_at 0).
  Status Upgrade();

  // Adds to `batch` what the new `items` of a node change (they come in seq order).
  Status Index(std::string_view host_identifier, const std::vector<std::string_view>& items,
               std::vector<store::Mutation>& batch) const;

  Status LatestVerdicts(
      const std::function<bool(std::string_view host_identifier,
                               const std::vector<VerdictSummary>& verdicts)>& visit) const;
  Status LatestVerdictsAt(
      int64_t at, const std::function<bool(std::string_view host_identifier,
                                           const std::vector<VerdictSummary>& verdicts)>& visit)
      const;
  Result<std::optional<std::string>> LatestVerdictJson(std::string_view host_identifier,
                                                       std::string_view check) const;
  Status VerdictHistory(std::string_view host_identifier, int64_t from, int64_t to,
                        const std::function<bool(const VerdictHistoryEntry&)>& visit) const;
  Status VerdictDays(std::string_view host_identifier, int64_t from, int64_t to,
                     const std::function<bool(const VerdictDayCounts&)>& visit) const;
  Result<std::optional<AuditHeadRecord>> AuditHead(std::string_view host_identifier) const;
  Result<std::optional<AuditHeadRecord>> AuditHeadAt(std::string_view host_identifier,
                                                     int64_t at) const;

  Status RecordConnection(std::string_view host_identifier, int64_t unix_ms, bool connected);
  Result<NodePresence> PresenceAt(std::string_view host_identifier, int64_t unix_ms) const;

 private:
  store::Store& store_;
  const std::function<int64_t()> unix_seconds_;
};

}  // namespace vigil::server::internal
