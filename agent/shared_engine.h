// The daemon's one SQL engine: a host, a table registry and one Database over them, shared by
// the convergence loop and the extension socket's threads. Tables served by extension
// processes come and go while the daemon runs; since the Database declares one module per
// registered table when it opens, a change of tables closes and reopens it under the lock.
//
// Thread safety: every member may be called from any thread. Use() and UseWithin() give one
// caller at a time exclusive use of the Database (a mutex); AddTables() and RemoveTables() take
// the same mutex, so they never run inside a statement. A table's generate() runs with the
// mutex held and therefore must not call back into the SharedEngine.
//
//   auto engine = agent::SharedEngine::Open(std::move(host), std::move(registry));
//   Result<QueryResult> r = (*engine)->Use([&](Database& db) { return db.Query(sql); });
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "engine/status.h"
#include "engine/table.h"

namespace vigil::agent {

class SharedEngine {
 public:
  // Opens a Database over `registry` (the built-in tables and whatever the caller added) and
  // `host`; the engine owns both from then on.
  static Result<std::unique_ptr<SharedEngine>> Open(std::unique_ptr<Host> host,
                                                    std::unique_ptr<TableRegistry> registry);
  SharedEngine(const SharedEngine&) = delete;
  SharedEngine& operator=(const SharedEngine&) = delete;

  // Runs fn(Database&) with exclusive use of the engine, waiting as long as it takes, and
  // returns what fn returns. fn must not call back into this SharedEngine.
  // If a change of tables left the engine without a Database (SQLite could not open one), fn
  // does not run: a Status or Result<T> return carries Internal, any other type aborts.
  template <typename F>
  auto Use(F&& fn) -> std::invoke_result_t<F, Database&> {
    using R = std::invoke_result_t<F, Database&>;
    std::lock_guard lock(mutex_);
    if constexpr (std::is_constructible_v<R, Status>) {
      if (database_ == nullptr) return R(ClosedError());
    } else {
      if (database_ == nullptr) std::abort();
    }
    return fn(*database_);
  }

  // Like Use() but waits at most `wait` for the engine (the convergence loop may be in a long
  // cycle); then returns DeadlineExceeded "the daemon is busy; try again" without running fn.
  // fn must return a Status or a Result<T>.
  template <typename F>
  auto UseWithin(std::chrono::milliseconds wait, F&& fn) -> std::invoke_result_t<F, Database&> {
    using R = std::invoke_result_t<F, Database&>;
    std::unique_lock lock(mutex_, std::defer_lock);
    if (!lock.try_lock_for(wait)) return R(BusyError(wait));
    if (database_ == nullptr) return R(ClosedError());
    return fn(*database_);
  }

  // Adds tables (all or none: a name already registered, or an invalid schema, refuses the
  // whole set) and reopens the Database. Waits for a running statement to finish.
  Status AddTables(std::vector<std::unique_ptr<Table>> tables);
  // Removes the named tables (NotFound, and nothing removed, when one is absent) and reopens
  // the Database. Waits for a running statement to finish.
  Status RemoveTables(const std::vector<std::string>& names);

  // Whether a table of that name is registered now.
  bool HasTable(std::string_view name);

  const Host& host() const { return *host_; }

 private:
  SharedEngine(std::unique_ptr<Host> host, std::unique_ptr<TableRegistry> registry);
  static Status BusyError(std::chrono::milliseconds wait);
  static Status ClosedError();
  // Reopens database_ over the current registry; mutex_ must be held.
  Status Reopen();

  const std::unique_ptr<Host> host_;
  std::timed_mutex mutex_;
  // Guarded by mutex_.
  std::unique_ptr<TableRegistry> registry_;
  std::unique_ptr<Database> database_;
};

}  // namespace vigil::agent
