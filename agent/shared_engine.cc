#include "agent/shared_engine.h"

#include <set>
#include <utility>

namespace vigil::agent {

SharedEngine::SharedEngine(std::unique_ptr<Host> host, std::unique_ptr<TableRegistry> registry)
    : host_(std::move(host)), registry_(std::move(registry)) {}

Result<std::unique_ptr<SharedEngine>> SharedEngine::Open(std::unique_ptr<Host> host,
                                                         std::unique_ptr<TableRegistry> registry) {
  if (host == nullptr || registry == nullptr) {
    return Status::InvalidArgument("SharedEngine::Open needs a host and a registry");
  }
  std::unique_ptr<SharedEngine> engine(new SharedEngine(std::move(host), std::move(registry)));
  std::lock_guard lock(engine->mutex_);
  VIGIL_RETURN_IF_ERROR(engine->Reopen());
  return engine;
}

Status SharedEngine::BusyError(std::chrono::milliseconds wait) {
  return Status::DeadlineExceeded("the daemon is busy; try again (waited " +
                                  std::to_string(wait.count()) + " ms for its engine)");
}

Status SharedEngine::ClosedError() {
  return Status::Internal("the SQL engine could not be reopened after a change of tables");
}

Status SharedEngine::Reopen() {
  database_.reset();
  auto database = Database::Open(*registry_, *host_);
  if (!database.ok()) return database.status().WithContext("cannot reopen the SQL engine");
  database_ = std::move(database).value();
  return Status::Ok();
}

Status SharedEngine::AddTables(std::vector<std::unique_ptr<Table>> tables) {
  std::lock_guard lock(mutex_);
  std::set<std::string, std::less<>> names;
  for (const auto& table : tables) {
    if (table == nullptr) return Status::InvalidArgument("cannot add a null table");
    const Schema& schema = table->schema();
    VIGIL_RETURN_IF_ERROR(schema.Validate());
    if (registry_->Find(schema.name) != nullptr || !names.insert(schema.name).second) {
      return Status::AlreadyExists("a table named " + schema.name + " is already registered");
    }
  }
  // The Database holds pointers to the registry's tables: close it before the registry changes.
  database_.reset();
  Status status = Status::Ok();
  for (auto& table : tables) {
    status = registry_->Add(std::move(table));
    if (!status.ok()) break;  // unreachable after the checks above; keep what was added
  }
  Status reopened = Reopen();
  return status.ok() ? reopened : status;
}

Status SharedEngine::RemoveTables(const std::vector<std::string>& names) {
  std::lock_guard lock(mutex_);
  for (const std::string& name : names) {
    if (registry_->Find(name) == nullptr) {
      return Status::NotFound("no table named " + name + " is registered");
    }
  }
  database_.reset();
  Status status = Status::Ok();
  for (const std::string& name : names) {
    Status removed = registry_->Remove(name);
    if (status.ok()) status = removed;  // only a name listed twice can fail here
  }
  Status reopened = Reopen();
  return status.ok() ? reopened : status;
}

bool SharedEngine::HasTable(std::string_view name) {
  std::lock_guard lock(mutex_);
  return registry_->Find(name) != nullptr;
}

}  // namespace vigil::agent
