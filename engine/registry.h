// The set of tables one engine serves. Filled from one explicit list (tables/builtin.cc) at
// start-up; read-only afterwards and then safe to share between threads.
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

  const Table* Find(std::string_view name) const;
  // Every table, sorted by name.
  const std::vector<std::unique_ptr<Table>>& tables() const { return tables_; }

 private:
  std::vector<std::unique_ptr<Table>> tables_;
};

// Adds vigil_tables and vigil_columns, which describe `registry` itself (including themselves).
Status RegisterIntrospectionTables(TableRegistry& registry);

}  // namespace vigil
