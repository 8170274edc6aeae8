// EvidenceIndex::Upgrade(): converting what an older hub derived to the current layout.
#include <string>
#include <vector>

#include "server/internal/hub_evidence.h"
#include "server/internal/hub_evidence_format.h"

namespace vigil::server::internal {

using evidence::Counts;
using evidence::DayOf;
using evidence::EncodeCounts;
using evidence::HeadHistoryPrefix;
using evidence::HistoryKey;
using evidence::kVersion;
using evidence::ParseHistoryKey;
using evidence::Prefix;
using evidence::Seq;
using evidence::SnapshotKey;
using evidence::TallyOf;
using evidence::Unescape;
using evidence::VersionKey;
using store::Family;
using store::Mutation;

namespace {

// The status a history value holds (its first field).
std::string HistoryStatus(std::string_view value) {
  return Unescape(value.substr(0, value.find('\t')));
}

// ---- Upgrade(): version 1 keys
//   NUL "H" NUL EncodeSeq(t) HOST NUL CHECK -> a history entry
//   NUL "D" NUL EncodeSeq(day) HOST         -> counts of the verdicts sent that day

constexpr size_t kUpgradeBatch = 10000;

// Writes `batch` and empties it once it holds kUpgradeBatch mutations.
Status WriteWhenFull(store::Store& store, std::vector<Mutation>& batch) {
  if (batch.size() < kUpgradeBatch) return Status::Ok();
  Status written = store.Write(batch);
  batch.clear();
  return written;
}

// Writes what is left in `batch`, if anything.
Status WriteRest(store::Store& store, const std::vector<Mutation>& batch) {
  return batch.empty() ? Status::Ok() : store.Write(batch);
}

Status DeletePrefix(store::Store& store, const std::string& prefix) {
  while (true) {
    std::vector<Mutation> batch;
    VIGIL_RETURN_IF_ERROR(
        store.Scan(Family::kEvidence, prefix, [&](std::string_view key, std::string_view) {
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
    VIGIL_RETURN_IF_ERROR(
        store.Scan(Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(prefix)) return false;
          const std::string_view rest =
              key.size() >= prefix.size() + 8 ? key.substr(prefix.size() + 8) : std::string_view();
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
  VIGIL_RETURN_IF_ERROR(
      store.Scan(Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
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
        result = WriteWhenFull(store, batch);
        return result.ok();
      }));
  VIGIL_RETURN_IF_ERROR(result);
  flush();
  return WriteRest(store, batch);
}

// Each head gets a history of one entry at time 0: itself.
Status StartHeadHistories(store::Store& store) {
  const std::string prefix = Prefix('A');
  std::vector<Mutation> batch;
  Status result;
  VIGIL_RETURN_IF_ERROR(
      store.Scan(Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        batch.push_back(Mutation::Put(Family::kEvidence,
                                      HeadHistoryPrefix(key.substr(prefix.size())) + Seq(0),
                                      std::string(value)));
        result = WriteWhenFull(store, batch);
        return result.ok();
      }));
  VIGIL_RETURN_IF_ERROR(result);
  return WriteRest(store, batch);
}

}  // namespace

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

}  // namespace vigil::server::internal
