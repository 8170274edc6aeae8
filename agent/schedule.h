// When each scheduled query and check runs (DESIGN.md, "The agent"): every item has an interval
// and a fixed splay derived from its name, so a fleet started at once does not run everything
// in the same second, and a restart does not move the times. The last run of each item is kept
// in the store, so a restarted agent runs only what fell due while it was down.
//
// Self-protection: an item is marked as running while it runs. If the process dies with the
// mark set (a statement that crashed or hung the agent), the item is denied for `deny_for`
// after the restart, and the denial is reported rather than hidden.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/store/store.h"

namespace vigil::agent {

using Clock = std::chrono::system_clock;

struct ScheduledItem {
  std::string name;  // unique: "pack_<pack>_<query>" or "check_<id>"
  std::chrono::seconds interval{15};
};

struct Denial {
  std::string name;
  Clock::time_point until;
};

class Schedule {
 public:
  // Reads the last runs and any mark left by a process that died; `store` must outlive it.
  static Result<std::unique_ptr<Schedule>> Open(store::Store& store,
                                                std::chrono::seconds deny_for = std::chrono::hours(1));

  // The splay of an item: a fixed delay from its name, up to a tenth of its interval and never
  // more than kMaxSplay.
  static constexpr std::chrono::seconds kMaxSplay{60};
  static std::chrono::seconds Splay(const ScheduledItem& item);

  // The items due at `now`, in the order given: never run and past their splay since
  // `started`, or run at least `interval` ago. Denied items are left out.
  std::vector<std::string> Due(const std::vector<ScheduledItem>& items, Clock::time_point now,
                               Clock::time_point started) const;

  // Brackets one run. Begin marks the item as running (durably, before the statement starts);
  // End records the run's time and clears the mark.
  Status Begin(const std::string& name);
  Status End(const std::string& name, Clock::time_point when);

  // Items denied after a crash, with how long.
  std::vector<Denial> Denials(Clock::time_point now) const;

 private:
  explicit Schedule(store::Store& store) : store_(store) {}

  store::Store& store_;
  std::map<std::string, Clock::time_point> last_run_;
  std::map<std::string, Clock::time_point> denied_until_;
};

}  // namespace vigil::agent
