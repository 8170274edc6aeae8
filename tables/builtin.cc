#include "tables/builtin.h"

#include <memory>

namespace vigil::tables {

// Each factory lives in the file named after its table.
std::unique_ptr<Table> MakeFileTable();
std::unique_ptr<Table> MakeGroupsTable();
std::unique_ptr<Table> MakeHashTable();
std::unique_ptr<Table> MakeOsVersionTable();
std::unique_ptr<Table> MakeSystemControlsTable();
std::unique_ptr<Table> MakeSystemInfoTable();
std::unique_ptr<Table> MakeUsersTable();

Status RegisterBuiltinTables(TableRegistry& registry) {
  std::unique_ptr<Table> (*const factories[])() = {
      MakeFileTable,
      MakeGroupsTable,
      MakeHashTable,
      MakeOsVersionTable,
      MakeSystemControlsTable,
      MakeSystemInfoTable,
      MakeUsersTable,
  };
  for (auto* make : factories) {
    VIGIL_RETURN_IF_ERROR(registry.Add(make()));
  }
  return RegisterIntrospectionTables(registry);
}

}  // namespace vigil::tables
