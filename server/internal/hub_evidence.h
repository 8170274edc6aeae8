// What the embedded hub store derives from the evidence agents send (server/hub_store.h,
// "verdicts and audit heads"): each node's latest verdicts, the verdict history, its audit-chain
// head, and its connection events. Kept in the store's evidence family under keys that begin
// with a NUL byte, which no host identifier can (hub_store.cc refuses NUL in them), so they
// never mix with the items themselves (HOST NUL seq):
//   NUL "L" NUL HOST                        -> the node's latest verdict summaries (lines)
//   NUL "V" NUL HOST NUL CHECK              -> the latest verdict item of the check, as sent
//   NUL "H" NUL EncodeSeq(t) HOST NUL CHECK -> a history entry (t: the verdict's unix seconds)
//   NUL "D" NUL EncodeSeq(day) HOST         -> "pass fail error": the node's VerdictDayCounts
//   NUL "A" NUL HOST                        -> the node's audit head (JSON)
//   NUL "C" NUL HOST NUL EncodeSeq(ms)      -> "1" connected / "0" disconnected
//
// Thread safety: const methods may run on any thread; Index() for one node must be called
// under that node's lock (hub_store.cc's stripe) so two batches of a node do not interleave.
#pragma once

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
  explicit EvidenceIndex(store::Store& store) : store_(store) {}

  // Adds to `batch` what the new `items` of a node change (they come in seq order).
  Status Index(std::string_view host_identifier, const std::vector<std::string_view>& items,
               std::vector<store::Mutation>& batch) const;

  Status LatestVerdicts(
      const std::function<bool(std::string_view host_identifier,
                               const std::vector<VerdictSummary>& verdicts)>& visit) const;
  Result<std::optional<std::string>> LatestVerdictJson(std::string_view host_identifier,
                                                       std::string_view check) const;
  Status VerdictHistory(std::string_view host_identifier, int64_t from, int64_t to,
                        const std::function<bool(const VerdictHistoryEntry&)>& visit) const;
  Status VerdictDays(int64_t from, int64_t to,
                     const std::function<bool(const VerdictDayCounts&)>& visit) const;
  Result<std::optional<AuditHeadRecord>> AuditHead(std::string_view host_identifier) const;

  Status RecordConnection(std::string_view host_identifier, int64_t unix_ms, bool connected);
  Result<NodePresence> PresenceAt(std::string_view host_identifier, int64_t unix_ms) const;

 private:
  store::Store& store_;
};

}  // namespace vigil::server::internal
