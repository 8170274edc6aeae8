#include "agent/schedule.h"

#include <algorithm>
#include <charconv>

namespace vigil::agent {
namespace {

constexpr std::string_view kLastPrefix = "schedule.last.";
constexpr std::string_view kDeniedPrefix = "schedule.denied.";
constexpr std::string_view kRunningKey = "schedule.running";
// The running mark guards against the process dying in a statement, not against power loss:
// the write-ahead log keeps it through a crash without waiting for the disk, which matters
// with two marks per check per cycle.
constexpr store::WriteOptions kMarkWrite{.sync = false};

std::string Seconds(Clock::time_point t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

std::optional<Clock::time_point> ParseSeconds(std::string_view text) {
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return Clock::time_point(std::chrono::seconds(n));
}

// FNV-1a: stable across builds and machines, unlike std::hash.
uint64_t NameHash(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

Result<std::unique_ptr<Schedule>> Schedule::Open(store::Store& store,
                                                 std::chrono::seconds deny_for) {
  std::unique_ptr<Schedule> s(new Schedule(store));
  const auto now = Clock::now();
  Status bad = Status::Ok();
  VIGIL_RETURN_IF_ERROR(store.Scan(store::Family::kConfig, "schedule.",
                                   [&](std::string_view key, std::string_view value) {
    if (!key.starts_with("schedule.")) return false;
    auto when = ParseSeconds(value);
    if (key.starts_with(kLastPrefix)) {
      if (!when) bad = Status::Corruption("unreadable last run of " + std::string(key));
      if (when) s->last_run_[std::string(key.substr(kLastPrefix.size()))] = *when;
    } else if (key.starts_with(kDeniedPrefix)) {
      if (when && *when > now) s->denied_until_[std::string(key.substr(kDeniedPrefix.size()))] = *when;
    }
    return bad.ok();
  }));
  VIGIL_RETURN_IF_ERROR(bad);
  VIGIL_ASSIGN_OR_RETURN(auto running, store.Get(store::Family::kConfig, kRunningKey));
  if (running && !running->empty()) {
    // The last process died while this item ran: deny it for a while, durably.
    const Clock::time_point until = now + deny_for;
    s->denied_until_[*running] = until;
    VIGIL_RETURN_IF_ERROR(store.Write(
        {store::Mutation::Put(store::Family::kConfig, std::string(kDeniedPrefix) + *running,
                              Seconds(until)),
         store::Mutation::Delete(store::Family::kConfig, std::string(kRunningKey))}));
  }
  return s;
}

std::chrono::seconds Schedule::Splay(const ScheduledItem& item) {
  // At most a minute, whatever the interval: a node's first evidence (a daily check's too) is
  // complete within a minute of its start, and a fleet started at once still spreads out.
  const long long window = std::min<long long>(item.interval.count() / 10, kMaxSplay.count());
  if (window <= 0) return std::chrono::seconds(0);
  return std::chrono::seconds(static_cast<long long>(NameHash(item.name) % (window + 1)));
}

std::vector<std::string> Schedule::Due(const std::vector<ScheduledItem>& items,
                                       Clock::time_point now, Clock::time_point started) const {
  std::vector<std::string> due;
  for (const ScheduledItem& item : items) {
    if (auto d = denied_until_.find(item.name); d != denied_until_.end() && d->second > now) {
      continue;
    }
    auto last = last_run_.find(item.name);
    const Clock::time_point next =
        last == last_run_.end() ? started + Splay(item) : last->second + item.interval;
    if (next <= now) due.push_back(item.name);
  }
  return due;
}

Status Schedule::Begin(const std::string& name) {
  return store_.Put(store::Family::kConfig, kRunningKey, name, kMarkWrite);
}

Status Schedule::End(const std::string& name, Clock::time_point when) {
  VIGIL_RETURN_IF_ERROR(store_.Write(
      {store::Mutation::Put(store::Family::kConfig, std::string(kLastPrefix) + name, Seconds(when)),
       store::Mutation::Delete(store::Family::kConfig, std::string(kRunningKey))},
      kMarkWrite));
  last_run_[name] = when;
  return Status::Ok();
}

std::vector<Denial> Schedule::Denials(Clock::time_point now) const {
  std::vector<Denial> out;
  for (const auto& [name, until] : denied_until_) {
    if (until > now) out.push_back({name, until});
  }
  return out;
}

}  // namespace vigil::agent
