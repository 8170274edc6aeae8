// A table's declared shape: its name, description and typed columns. Declared next to the code
// that fills the rows (tables/*.cc), validated when the table is registered.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil {

enum class ColumnType : uint8_t { kInteger, kReal, kText };

std::string_view ColumnTypeName(ColumnType type);  // "INTEGER", "REAL", "TEXT"

// Column flags; combine with |.
enum ColumnFlags : uint32_t {
  kNoFlags = 0,
  // The table cannot be listed without a constraint on a required column. When a table has
  // several required columns, a constraint on any one of them is enough (`file` needs `path`
  // or `directory`).
  kRequired = 1u << 0,
  // The collector uses constraints on this column to do less work; the bridge pushes them down.
  kIndex = 1u << 1,
  // Not part of SELECT *; selectable by name (an input such as `hash.path`'s siblings).
  kHidden = 1u << 2,
};

struct Column {
  std::string name;
  ColumnType type = ColumnType::kText;
  std::string description;
  uint32_t flags = kNoFlags;

  bool required() const { return (flags & kRequired) != 0; }
  bool index() const { return (flags & kIndex) != 0; }
  bool hidden() const { return (flags & kHidden) != 0; }
};

struct Schema {
  std::string name;
  std::string description;
  std::vector<Column> columns;

  // The position of the named column, or -1.
  int ColumnIndex(std::string_view column) const;
  bool HasRequiredColumns() const;
  // "path, directory": the required columns, for error messages.
  std::string RequiredColumnNames() const;
  // Names are lowercase identifiers, unique, and every table and column has a description.
  Status Validate() const;
};

}  // namespace vigil
