// The tamper-evident audit chain (DESIGN.md, "Audit chain"): append-only records in the store's
// `audit` family, each holding the hash of the one before it (engine/audit/record.h defines the
// record, its canonical form and its hash). Editing, deleting, moving or swapping a record
// breaks the chain where it happened; removing records from the end is caught by verifying
// against a head recorded earlier (the agent sends its head to the hub).
//
// Thread safety: Append() is serialized by a mutex; Head(), Read() and Verify() read one
// consistent snapshot of the store and may run at any time from any thread. Every append to a
// store must go through one AuditChain object (it takes the next seq from the store under its
// own mutex), which the store's one-process lock makes possible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/audit/record.h"
#include "engine/status.h"
#include "engine/store/store.h"

namespace vigil::audit {

// The last record of a chain: its seq and hash. An empty chain's head is {0, kZeroHash}.
struct ChainHead {
  uint64_t seq = 0;
  std::string hash = std::string(kZeroHash);
  friend bool operator==(const ChainHead&, const ChainHead&) = default;
};

// How a chain was found broken.
enum class Breakage {
  kUnreadable,  // a stored value is not a well-formed record, or its key is not a seq
  kMisplaced,   // the record under key N says it is another record: moved or swapped
  kMissing,     // a seq is absent: records were deleted
  kRelinked,    // prev_hash is not the previous record's hash: deleted, reordered or replaced
  kEdited,      // the hash does not match the content
  kTruncated,   // the chain ends before the expected head
  kRewritten,   // the record at the expected head's seq has another hash
};

struct Verification {
  uint64_t records = 0;  // records that checked out, 1..records
  ChainHead head;        // the last of them
  // When broken: the first broken record and why, as a sentence that follows
  // "audit chain broken at record N: ".
  std::optional<uint64_t> broken_at;
  Breakage breakage = Breakage::kUnreadable;
  std::string problem;

  bool intact() const { return !broken_at.has_value(); }
};

class AuditChain {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `store` must outlive the chain. `clock` gives each record's time (tests fix it).
  explicit AuditChain(store::Store& store, Clock clock = std::chrono::system_clock::now);

  // Appends a record with seq = head + 1 and the clock's time, written synchronously: when
  // this returns, the record is on disk. `detail_json` must be a JSON object ("{}" for none);
  // it is stored in canonical form. InvalidArgument for an empty actor or action, text that is
  // not UTF-8, or a bad detail; Corruption when the last stored record cannot be read (the
  // chain cannot be extended without a valid head).
  Result<Record> Append(std::string_view actor, std::string_view action, std::string_view subject,
                        std::string_view detail_json);

  Result<ChainHead> Head() const;

  // Calls `visit` for each record with seq > after, in order, until it returns false.
  // Corruption naming the record when one cannot be read (Verify() says more).
  Status Read(uint64_t after, const std::function<bool(const Record&)>& visit) const;

  // Walks the whole chain and reports the first broken record. With `expected`, also checks
  // that the chain still holds that head (its seq exists and has that hash). The Result fails
  // only when the store cannot be read; a broken chain is an ok Result with broken_at set.
  Result<Verification> Verify(const std::optional<ChainHead>& expected = std::nullopt) const;

 private:
  store::Store& store_;
  const Clock clock_;
  std::mutex append_mutex_;  // held for the whole of Append()
};

// "2026-11-25T17:02:00Z": RFC 3339, UTC, whole seconds.
std::string FormatRfc3339(std::chrono::system_clock::time_point time);

}  // namespace vigil::audit
