// The node's durable store: one directory (the state dir, `--state-dir`) holding a RocksDB
// database with a fixed set of column families. RocksDB stays inside store.cc; nothing here
// names a RocksDB type.
//
// Durability: every write goes through RocksDB's write-ahead log, so a process crash
// (`kill -9`) loses nothing a call returned success for. A write with `sync` (the default)
// also reaches the disk before the call returns, so a power loss loses nothing either; pass
// `{.sync = false}` only for data that can be recomputed (the last result of a scheduled query).
//
// One process at a time: Open() takes the directory's lock, and a second Open() of the same
// directory (from another process or this one) fails with FailedPrecondition naming the holder.
//
// Thread safety: a Store may be used from any number of threads at once; every method is
// safe to call concurrently (RocksDB's handles are thread-safe, and the Store's own members are
// fixed after Open()). A Write() is atomic: readers see all of its mutations or none.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil::store {

// The column families: the agent's of DESIGN.md ("The agent") and the hub's ("The hub"). Each
// is an ordered key space of its own. A store is opened with one layout (OpenOptions::layout)
// and holds only that layout's families; kAudit is in both, so an audit::AuditChain works on
// either.
enum class Family {
  // --- the agent's
  kConfig,     // the last signed config and node settings
  kResults,    // the last result of each scheduled query, for diffs
  kOutbox,     // messages for the hub, keyed by EncodeSeq(sequence number)
  kAudit,      // the audit chain, keyed by EncodeSeq(record seq) (agent and hub)
  kSnapshots,  // file contents kept before an enforcer changed them
  // --- the hub's (server/hub_store.cc gives their keys)
  kNodes,      // enrolled nodes, and the index of their key hashes
  kTokens,     // people's tokens, and the index of their hashes
  kCampaigns,  // live-query campaigns
  kAnswers,    // each node's answer to a campaign
  kEvidence,   // the items agents send in `results` messages
  kMeta,       // counters
};
// The agent's families (Layout::kAgent).
inline constexpr Family kAllFamilies[] = {Family::kConfig, Family::kResults, Family::kOutbox,
                                          Family::kAudit, Family::kSnapshots};
// The hub's families (Layout::kHub).
inline constexpr Family kHubFamilies[] = {Family::kNodes,   Family::kTokens,   Family::kCampaigns,
                                          Family::kAnswers, Family::kEvidence, Family::kMeta,
                                          Family::kAudit};
// "config", "results", "outbox", "audit", "snapshots", "nodes", "tokens", "campaigns",
// "answers", "evidence", "meta": the column family names on disk.
std::string_view FamilyName(Family family);

// Which program's store a directory holds. An agent's state directory opened as a hub's (or
// the reverse) is refused: a hub must never add its families to a node's store.
enum class Layout { kAgent, kHub };
std::string_view LayoutName(Layout layout);  // "agent", "hub"

// Sequence numbers as keys: 8 bytes, big-endian, so byte order is number order
// (EncodeSeq(255) < EncodeSeq(256)).
std::string EncodeSeq(uint64_t seq);
// nullopt unless `key` is exactly 8 bytes.
std::optional<uint64_t> DecodeSeq(std::string_view key);

struct WriteOptions {
  bool sync = true;  // wait until the write is on disk (see the file comment)
};

// One change in an atomic Write().
struct Mutation {
  enum class Kind { kPut, kDelete };
  static Mutation Put(Family family, std::string key, std::string value) {
    return {Kind::kPut, family, std::move(key), std::move(value)};
  }
  static Mutation Delete(Family family, std::string key) {
    return {Kind::kDelete, family, std::move(key), {}};
  }
  Kind kind;
  Family family;
  std::string key;
  std::string value;  // empty for kDelete
};

struct Entry {
  std::string key;
  std::string value;
};

struct OpenOptions {
  // Create the directory (mode 0700, parents as needed) and an empty store when there is none.
  // When false, a missing directory or store is NotFound: commands that only read use this,
  // so that looking never creates state.
  bool create = true;
  // The families the store holds. A method given a family of the other layout fails with
  // InvalidArgument.
  Layout layout = Layout::kAgent;
};

class Store {
 public:
  // Opens the store in `dir`. Errors name the directory: FailedPrecondition when another
  // process (or this one) has it open ("state directory DIR is in use by another vigil process
  // (pid N)") or when it holds the other layout's store, NotFound when it does not exist and
  // !options.create, IoError or Corruption from the disk.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir,
                                             const OpenOptions& options = {});
  ~Store();  // closes the database and releases the directory
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const;
  Layout layout() const;

  Status Put(Family family, std::string_view key, std::string_view value,
             const WriteOptions& options = {});
  // Deleting a key that does not exist succeeds.
  Status Delete(Family family, std::string_view key, const WriteOptions& options = {});
  // Applies every mutation or none, in order (a later mutation of the same key wins).
  Status Write(const std::vector<Mutation>& mutations, const WriteOptions& options = {});

  // nullopt when the key is not there.
  Result<std::optional<std::string>> Get(Family family, std::string_view key) const;

  // Calls `visit` for each entry with key >= from_key, in ascending byte order of the keys,
  // until it returns false. The entries come from one consistent snapshot of the store; the
  // views are valid only during the call.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  Status Scan(Family family, std::string_view from_key, const Visitor& visit) const;

  // Like Scan() in descending key order, from the greatest key (or the greatest key <=
  // `from_key` when it is given).
  Status ScanBackward(Family family, std::optional<std::string_view> from_key,
                      const Visitor& visit) const;

  // The entry with the greatest key; nullopt when the family is empty.
  Result<std::optional<Entry>> Last(Family family) const;

  // A cursor over `family` for reads that seek many times (a report that looks up each node's
  // and check's entry): one iterator, so each seek costs a seek, not a new iterator. It reads
  // the store as it was when it was opened (writes after that are not seen). It must not
  // outlive the Store.
  class Cursor;
  Result<std::unique_ptr<Cursor>> OpenCursor(Family family) const;
  // One cursor per entry of `families` (a family may come more than once: two positions in it),
  // all reading the store as it was at one moment.
  Result<std::vector<std::unique_ptr<Cursor>>> OpenCursors(
      const std::vector<Family>& families) const;

  // The number of entries, counted by walking the family (linear in its size).
  Result<uint64_t> Count(Family family) const;

  // The size of the files in the directory (tables, write-ahead log, manifest): for metrics.
  uint64_t ApproximateBytes() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);

  const std::unique_ptr<Impl> impl_;
};

// Store::OpenCursor()'s cursor. After a seek it is on an entry (Valid()) or past either end of
// the family; Next() and Prev() move from an entry. key() and value() are valid only while it
// stays on that entry. A read error leaves it not Valid() and status() says what it was: a loop
// that stops at !Valid() checks status() once after it.
//
// Thread safety: one thread at a time (it has a position); open one per thread.
class Store::Cursor {
 public:
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  void Seek(std::string_view key);         // to the first entry with key >= `key`
  void SeekForPrev(std::string_view key);  // to the last entry with key <= `key`
  void SeekToFirst();
  void SeekToLast();
  void Next();  // requires Valid()
  void Prev();  // requires Valid()

  bool Valid() const;
  std::string_view key() const;    // requires Valid()
  std::string_view value() const;  // requires Valid()
  // Ok, or the read error that ended the last move (naming the directory and the family).
  Status status() const;

 private:
  friend class Store;
  struct Impl;
  explicit Cursor(std::unique_ptr<Impl> impl);

  const std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::store
