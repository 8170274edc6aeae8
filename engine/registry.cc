#include "engine/registry.h"

#include <algorithm>
#include <string>

namespace vigil {

Status TableRegistry::Add(std::unique_ptr<Table> table) {
  if (table == nullptr) return Status::InvalidArgument("cannot register a null table");
  const Schema& schema = table->schema();
  VIGIL_RETURN_IF_ERROR(schema.Validate());
  auto at = std::lower_bound(tables_.begin(), tables_.end(), schema.name,
                             [](const std::unique_ptr<Table>& t, const std::string& name) {
                               return t->schema().name < name;
                             });
  if (at != tables_.end() && (*at)->schema().name == schema.name) {
    return Status::AlreadyExists("table " + schema.name + " is registered twice");
  }
  tables_.insert(at, std::move(table));
  return Status::Ok();
}

Status TableRegistry::Remove(std::string_view name) {
  auto at = std::lower_bound(tables_.begin(), tables_.end(), name,
                             [](const std::unique_ptr<Table>& t, std::string_view n) {
                               return t->schema().name < n;
                             });
  if (at == tables_.end() || (*at)->schema().name != name) {
    return Status::NotFound("no table named " + std::string(name) + " is registered");
  }
  tables_.erase(at);
  return Status::Ok();
}

const Table* TableRegistry::Find(std::string_view name) const {
  auto at = std::lower_bound(tables_.begin(), tables_.end(), name,
                             [](const std::unique_ptr<Table>& t, std::string_view n) {
                               return t->schema().name < n;
                             });
  if (at == tables_.end() || (*at)->schema().name != name) return nullptr;
  return at->get();
}

}  // namespace vigil
