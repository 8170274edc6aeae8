// The set of tables one engine serves. Filled from one explicit list (tables/builtin.cc) at
// start-up. The daemon also adds and removes tables while it runs (tables served by extension
// processes): a registry is not synchronised, so whoever mutates it must serialise that with
// every user of it, including the Databases opened over it (agent/shared_engine.h does, and
// reopens its Database after each change). A registry nobody mutates is safe to share between
// threads.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/table.h"

namespace vigil {

class TableRegistry {
 public:
  TableRegistry() = default;
  TableRegistry(const TableRegistry&) = delete;
  TableRegistry& operator=(const TableRegistry&) = delete;

  // Validates the schema and refuses a second table of the same name.
  Status Add(std::unique_ptr<Table> table);
  // Removes and destroys the named table; NotFound when there is none. A Database opened over
  // the registry must be closed first: it holds pointers to the tables.
  Status Remove(std::string_view name);

  const Table* Find(std::string_view name) const;
  // Every table, sorted by name.
  const std::vector<std::unique_ptr<Table>>& tables() const { return tables_; }

 private:
  std::vector<std::unique_ptr<Table>> tables_;
};

// Adds vigil_tables and vigil_columns, which describe `registry` itself (including themselves).
Status RegisterIntrospectionTables(TableRegistry& registry);

}  // namespace vigil
