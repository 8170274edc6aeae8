// The agent's offline outbox (DESIGN.md, "The agent"; PROTOCOL.md, `results` and `ack`): every
// item for the hub gets the next sequence number and stays in the store until the hub
// acknowledges it, so a node that is offline for days, or restarts, loses nothing.
//
// The outbox is bounded in bytes. When an append would pass the bound, the oldest scheduled
// query results (log items) are dropped first, and counted; check verdicts and audit heads are
// never dropped (the outbox may then exceed its bound rather than lose evidence).
//
// Thread safety: one Outbox per store, used from the agent's loop and its hub client; every
// method takes the object's mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/store/store.h"

namespace vigil::agent {

enum class ItemKind : char { kLog = 'l', kVerdict = 'v', kAuditHead = 'a' };

struct OutboxItem {
  uint64_t seq = 0;
  ItemKind kind = ItemKind::kLog;
  std::string json;  // the item as PROTOCOL.md's `results.items[]` carries it
};

struct OutboxOptions {
  uint64_t max_bytes = 64u << 20;
};

struct OutboxStats {
  uint64_t depth = 0;     // items waiting for an ack
  uint64_t bytes = 0;     // their size
  uint64_t next_seq = 1;  // the number the next item gets
  uint64_t dropped = 0;   // log items dropped to keep the bound, ever
};

class Outbox {
 public:
  // Reads the outbox's state from `store`, which must outlive it.
  static Result<std::unique_ptr<Outbox>> Open(store::Store& store, OutboxOptions options = {});

  // Stores an item under the next sequence number (durably, with the counters, in one write)
  // and returns that number.
  Result<uint64_t> Append(ItemKind kind, std::string json);
  // Stores items of one kind under consecutive numbers with one durable write, and returns the
  // first number. Either every item is stored or none.
  Result<uint64_t> AppendAll(ItemKind kind, std::vector<std::string> items);
  // Up to `max_items` items with seq > after, in order, stopping before `max_bytes` of JSON
  // (at least one item when there is one).
  Result<std::vector<OutboxItem>> Peek(uint64_t after, size_t max_items, size_t max_bytes) const;
  // The hub stored every item with seq <= `seq`: they are deleted.
  Status Ack(uint64_t seq);

  OutboxStats stats() const;

 private:
  Outbox(store::Store& store, OutboxOptions options) : store_(store), options_(options) {}

  store::Store& store_;
  const OutboxOptions options_;
  mutable std::mutex mutex_;
  OutboxStats stats_;
  // Sizes of the items in the store, by seq, and which are logs (droppable), oldest first.
  std::vector<std::pair<uint64_t, uint64_t>> logs_;  // seq, size
};

}  // namespace vigil::agent
