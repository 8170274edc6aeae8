#include "engine/schema.h"

#include <set>

namespace vigil {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger: return "INTEGER";
    case ColumnType::kReal: return "REAL";
    case ColumnType::kText: return "TEXT";
  }
  return "TEXT";
}

int Schema::ColumnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

bool Schema::HasRequiredColumns() const {
  for (const Column& c : columns) {
    if (c.required()) return true;
  }
  return false;
}

std::string Schema::RequiredColumnNames() const {
  std::string out;
  for (const Column& c : columns) {
    if (!c.required()) continue;
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

Status Schema::Validate() const {
  if (!IsIdentifier(name)) {
    return Status::InvalidArgument("table name '" + name + "' is not a lowercase identifier");
  }
  if (description.empty()) {
    return Status::InvalidArgument("table " + name + " has no description");
  }
  if (columns.empty()) return Status::InvalidArgument("table " + name + " has no columns");
  std::set<std::string_view> seen;
  for (const Column& c : columns) {
    if (!IsIdentifier(c.name)) {
      return Status::InvalidArgument("table " + name + ": column name '" + c.name +
                                     "' is not a lowercase identifier");
    }
    if (!seen.insert(c.name).second) {
      return Status::InvalidArgument("table " + name + ": column " + c.name + " is declared twice");
    }
    if (c.description.empty()) {
      return Status::InvalidArgument("table " + name + ": column " + c.name + " has no description");
    }
  }
  return Status::Ok();
}

}  // namespace vigil
