#include "engine/audit/chain.h"

#include <ctime>
#include <limits>

namespace vigil::audit {

namespace {

using store::Family;

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out += kHex[static_cast<unsigned char>(c) >> 4];
    out += kHex[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

}  // namespace

std::string FormatRfc3339(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

AuditChain::AuditChain(store::Store& store, Clock clock)
    : store_(store), clock_(std::move(clock)) {}

Result<ChainHead> AuditChain::Head() const {
  VIGIL_ASSIGN_OR_RETURN(std::optional<store::Entry> last, store_.Last(Family::kAudit));
  if (!last) return ChainHead{};
  std::optional<uint64_t> seq = store::DecodeSeq(last->key);
  if (!seq) {
    return Status::Corruption(
        "the last audit record is stored under a key that is not a "
        "sequence number (" +
        Hex(last->key) + ")");
  }
  auto record = ParseRecord(last->value);
  if (!record.ok()) {
    return record.status().WithContext("audit record " + std::to_string(*seq) + " is unreadable");
  }
  return ChainHead{*seq, record->hash};
}

Result<Record> AuditChain::Append(std::string_view actor, std::string_view action,
                                  std::string_view subject, std::string_view detail_json) {
  if (actor.empty()) return Status::InvalidArgument("an audit record needs an actor");
  if (action.empty()) return Status::InvalidArgument("an audit record needs an action");
  VIGIL_ASSIGN_OR_RETURN(std::string detail, CanonicalDetail(detail_json));

  std::lock_guard<std::mutex> lock(append_mutex_);
  auto head = Head();
  if (!head.ok()) return head.status().WithContext("cannot append to the audit chain");
  Record record;
  record.seq = head->seq + 1;
  record.time = FormatRfc3339(clock_());
  record.actor = actor;
  record.action = action;
  record.subject = subject;
  record.detail = std::move(detail);
  record.prev_hash = head->hash;
  VIGIL_ASSIGN_OR_RETURN(record.hash, ComputeHash(record));
  VIGIL_ASSIGN_OR_RETURN(std::string stored, SerializeRecord(record));
  VIGIL_RETURN_IF_ERROR(store_.Put(Family::kAudit, store::EncodeSeq(record.seq), stored,
                                   store::WriteOptions{.sync = true}));
  return record;
}

Status AuditChain::Read(uint64_t after, const std::function<bool(const Record&)>& visit) const {
  if (after == std::numeric_limits<uint64_t>::max()) return Status::Ok();
  Status problem;
  auto read = [&](std::string_view key, std::string_view value) {
    std::optional<uint64_t> seq = store::DecodeSeq(key);
    if (!seq) {
      problem = Status::Corruption(
          "an audit record is stored under a key that is not a "
          "sequence number (" +
          Hex(key) + ")");
      return false;
    }
    auto record = ParseRecord(value);
    if (!record.ok()) {
      problem =
          record.status().WithContext("audit record " + std::to_string(*seq) + " is unreadable");
      return false;
    }
    return visit(*record);
  };
  VIGIL_RETURN_IF_ERROR(store_.Scan(Family::kAudit, store::EncodeSeq(after + 1), read));
  return problem;
}

Result<Verification> AuditChain::Verify(const std::optional<ChainHead>& expected) const {
  Verification v;
  std::string expected_seq_hash = expected && expected->seq == 0 ? std::string(kZeroHash) : "";
  auto fail = [&v](uint64_t at, Breakage breakage, std::string problem) {
    v.broken_at = at;
    v.breakage = breakage;
    v.problem = std::move(problem);
    return false;
  };
  VIGIL_RETURN_IF_ERROR(
      store_.Scan(Family::kAudit, "", [&](std::string_view key, std::string_view value) {
        const uint64_t want = v.records + 1;
        std::optional<uint64_t> seq = store::DecodeSeq(key);
        if (!seq || *seq == 0) {
          return fail(want, Breakage::kUnreadable,
                      "a value is stored under a key that is not a record's sequence number (" +
                          Hex(key) + ")");
        }
        if (*seq != want) {
          std::string where = want == 1 ? "the chain starts at record " + std::to_string(*seq)
                                        : "the chain goes from record " + std::to_string(want - 1) +
                                              " to record " + std::to_string(*seq);
          return fail(want, Breakage::kMissing,
                      "the record is missing (" + where + "): records were deleted");
        }
        auto record = ParseRecord(value);
        if (!record.ok()) {
          return fail(want, Breakage::kUnreadable,
                      "the stored record is unreadable: " + record.status().message());
        }
        if (record->seq != want) {
          return fail(want, Breakage::kMisplaced,
                      "the record stored under this sequence number says it is record " +
                          std::to_string(record->seq) + ": records were moved or swapped");
        }
        if (record->prev_hash != v.head.hash) {
          return fail(want, Breakage::kRelinked,
                      want == 1 ? "its prev_hash is not the zero hash that starts a chain: "
                                  "the record was replaced"
                                : "its prev_hash does not match the hash of record " +
                                      std::to_string(want - 1) +
                                      ": records were deleted, reordered or replaced");
        }
        auto hash = ComputeHash(*record);
        if (!hash.ok()) {
          return fail(want, Breakage::kUnreadable,
                      "the stored record is unreadable: " + hash.status().message());
        }
        if (*hash != record->hash) {
          return fail(want, Breakage::kEdited,
                      "its hash does not match its content: the record was edited");
        }
        v.records = want;
        v.head = ChainHead{want, record->hash};
        if (expected && expected->seq == want) expected_seq_hash = record->hash;
        return true;
      }));
  if (!v.intact() || !expected) return v;

  if (expected->seq > v.records) {
    v.broken_at = v.records + 1;
    v.breakage = Breakage::kTruncated;
    v.problem = "the record is missing (the chain ends at record " + std::to_string(v.records) +
                ", the expected head is record " + std::to_string(expected->seq) +
                "): records were removed from the end";
  } else if (expected_seq_hash != expected->hash) {
    v.broken_at = expected->seq;
    v.breakage = Breakage::kRewritten;
    v.problem = "its hash " + expected_seq_hash + " is not the expected head hash " +
                expected->hash + ": the chain was rewritten";
  }
  return v;
}

}  // namespace vigil::audit
