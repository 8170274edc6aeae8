#include "agent/outbox.h"

#include <algorithm>
#include <charconv>

namespace vigil::agent {
namespace {

constexpr std::string_view kNextSeqKey = "outbox.next_seq";
constexpr std::string_view kDroppedKey = "outbox.dropped";

uint64_t ParseCounter(const std::optional<std::string>& text) {
  uint64_t n = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), n);
  return n;
}

bool KnownKind(char c) {
  return c == static_cast<char>(ItemKind::kLog) || c == static_cast<char>(ItemKind::kVerdict) ||
         c == static_cast<char>(ItemKind::kAuditHead);
}

}  // namespace

Result<std::unique_ptr<Outbox>> Outbox::Open(store::Store& store, OutboxOptions options) {
  std::unique_ptr<Outbox> box(new Outbox(store, options));
  VIGIL_ASSIGN_OR_RETURN(auto next, store.Get(store::Family::kConfig, kNextSeqKey));
  VIGIL_ASSIGN_OR_RETURN(auto dropped, store.Get(store::Family::kConfig, kDroppedKey));
  box->stats_.next_seq = std::max<uint64_t>(1, ParseCounter(next));
  box->stats_.dropped = ParseCounter(dropped);
  Status bad = Status::Ok();
  VIGIL_RETURN_IF_ERROR(store.Scan(store::Family::kOutbox, "", [&](std::string_view key,
                                                                   std::string_view value) {
    auto seq = store::DecodeSeq(key);
    if (!seq || value.empty() || !KnownKind(value[0])) {
      bad = Status::Corruption("outbox item " + (seq ? std::to_string(*seq) : "?") +
                               " is unreadable");
      return false;
    }
    ++box->stats_.depth;
    box->stats_.bytes += value.size();
    if (value[0] == static_cast<char>(ItemKind::kLog)) box->logs_.emplace_back(*seq, value.size());
    // A counter older than the items (a crash between versions) never reuses a number.
    box->stats_.next_seq = std::max(box->stats_.next_seq, *seq + 1);
    return true;
  }));
  VIGIL_RETURN_IF_ERROR(bad);
  return box;
}

Result<uint64_t> Outbox::Append(ItemKind kind, std::string json) {
  std::vector<std::string> one;
  one.push_back(std::move(json));
  return AppendAll(kind, std::move(one));
}

Result<uint64_t> Outbox::AppendAll(ItemKind kind, std::vector<std::string> items) {
  std::lock_guard lock(mutex_);
  const uint64_t first = stats_.next_seq;
  if (items.empty()) return first;
  std::vector<store::Mutation> batch;
  std::vector<std::pair<uint64_t, uint64_t>> added;  // seq, size
  uint64_t bytes = stats_.bytes;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string value(1, static_cast<char>(kind));
    value += items[i];
    added.emplace_back(first + i, value.size());
    bytes += value.size();
    batch.push_back(
        store::Mutation::Put(store::Family::kOutbox, store::EncodeSeq(first + i), std::move(value)));
  }
  // Make room by dropping the oldest logs; evidence (verdicts, audit heads) always stays. Logs
  // of this very append may go too when they alone pass the bound (oldest first).
  std::vector<std::pair<uint64_t, uint64_t>> logs = logs_;
  if (kind == ItemKind::kLog) logs.insert(logs.end(), added.begin(), added.end());
  size_t drop = 0;
  while (bytes > options_.max_bytes && drop < logs.size()) {
    batch.push_back(
        store::Mutation::Delete(store::Family::kOutbox, store::EncodeSeq(logs[drop].first)));
    bytes -= logs[drop].second;
    ++drop;
  }
  const uint64_t next = first + items.size();
  batch.push_back(store::Mutation::Put(store::Family::kConfig, std::string(kNextSeqKey),
                                       std::to_string(next)));
  if (drop > 0) {
    batch.push_back(store::Mutation::Put(store::Family::kConfig, std::string(kDroppedKey),
                                         std::to_string(stats_.dropped + drop)));
  }
  VIGIL_RETURN_IF_ERROR(store_.Write(batch));
  logs.erase(logs.begin(), logs.begin() + static_cast<long>(drop));
  logs_ = std::move(logs);
  stats_.next_seq = next;
  stats_.depth = stats_.depth + items.size() - drop;
  stats_.bytes = bytes;
  stats_.dropped += drop;
  return first;
}

Result<std::vector<OutboxItem>> Outbox::Peek(uint64_t after, size_t max_items,
                                             size_t max_bytes) const {
  std::lock_guard lock(mutex_);
  std::vector<OutboxItem> items;
  size_t bytes = 0;
  Status bad = Status::Ok();
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      store::Family::kOutbox, store::EncodeSeq(after + 1),
      [&](std::string_view key, std::string_view value) {
        if (items.size() >= max_items) return false;
        auto seq = store::DecodeSeq(key);
        if (!seq || value.empty() || !KnownKind(value[0])) {
          bad = Status::Corruption("outbox item " + (seq ? std::to_string(*seq) : "?") +
                                   " is unreadable");
          return false;
        }
        if (!items.empty() && bytes + value.size() - 1 > max_bytes) return false;
        bytes += value.size() - 1;
        items.push_back({*seq, static_cast<ItemKind>(value[0]), std::string(value.substr(1))});
        return true;
      }));
  VIGIL_RETURN_IF_ERROR(bad);
  return items;
}

Status Outbox::Ack(uint64_t seq) {
  std::lock_guard lock(mutex_);
  std::vector<store::Mutation> batch;
  uint64_t freed = 0, count = 0;
  VIGIL_RETURN_IF_ERROR(store_.Scan(store::Family::kOutbox, "",
                                    [&](std::string_view key, std::string_view value) {
                                      auto item = store::DecodeSeq(key);
                                      if (!item || *item > seq) return false;
                                      batch.push_back(store::Mutation::Delete(
                                          store::Family::kOutbox, std::string(key)));
                                      freed += value.size();
                                      ++count;
                                      return true;
                                    }));
  if (batch.empty()) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(store_.Write(batch));
  std::erase_if(logs_, [seq](const auto& log) { return log.first <= seq; });
  stats_.depth -= count;
  stats_.bytes -= freed;
  return Status::Ok();
}

OutboxStats Outbox::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace vigil::agent
