// vigil_tables and vigil_columns: the registry described by itself, so `.tables`, `.schema` and
// the table reference are generated from the one place the bridge reads.
#include "engine/registry.h"

namespace vigil {
namespace {

class VigilTablesTable final : public Table {
 public:
  enum Col { kName, kDescription, kColumns, kRequired, kColumnCount };

  explicit VigilTablesTable(const TableRegistry& registry) : registry_(registry) {}

  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    for (const auto& table : registry_.tables()) {
      const Schema& s = table->schema();
      if (!ctx.Matches(kName, Value(s.name))) continue;
      Row row(kColumnCount);
      row[kName] = s.name;
      row[kDescription] = s.description;
      row[kColumns] = static_cast<int64_t>(s.columns.size());
      row[kRequired] = s.RequiredColumnNames();
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const TableRegistry& registry_;
  const Schema schema_{
      "vigil_tables",
      "Every table this engine serves, from the registry the SQL bridge uses.",
      {
          {"name", ColumnType::kText, "Table name", kIndex},
          {"description", ColumnType::kText, "What the table reports"},
          {"columns", ColumnType::kInteger, "Number of columns, hidden ones included"},
          {"required", ColumnType::kText,
           "Columns of which one must be constrained to list the table (comma separated; "
           "empty when the table can be listed as it is)"},
      }};
};

class VigilColumnsTable final : public Table {
 public:
  enum Col { kTable, kPosition, kName, kType, kFlags, kDescription, kColumnCount };

  explicit VigilColumnsTable(const TableRegistry& registry) : registry_(registry) {}

  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    for (const auto& table : registry_.tables()) {
      const Schema& s = table->schema();
      if (!ctx.Matches(kTable, Value(s.name))) continue;
      for (size_t i = 0; i < s.columns.size(); ++i) {
        const Column& c = s.columns[i];
        std::string flags;
        auto add = [&flags](bool on, const char* name) {
          if (!on) return;
          if (!flags.empty()) flags += ',';
          flags += name;
        };
        add(c.required(), "required");
        add(c.index(), "index");
        add(c.hidden(), "hidden");
        Row row(kColumnCount);
        row[kTable] = s.name;
        row[kPosition] = static_cast<int64_t>(i);
        row[kName] = c.name;
        row[kType] = ColumnTypeName(c.type);
        row[kFlags] = flags;
        row[kDescription] = c.description;
        rows.push_back(std::move(row));
      }
    }
    return rows;
  }

 private:
  const TableRegistry& registry_;
  const Schema schema_{
      "vigil_columns",
      "Every column of every table this engine serves, with its type and flags.",
      {
          {"table_name", ColumnType::kText, "Table the column belongs to", kIndex},
          {"position", ColumnType::kInteger, "Position of the column in the table, from 0"},
          {"name", ColumnType::kText, "Column name"},
          {"type", ColumnType::kText, "INTEGER, REAL or TEXT"},
          {"flags", ColumnType::kText,
           "Comma-separated flags: required (one such column must be constrained), index "
           "(constraints are pushed down to the collector), hidden (not part of SELECT *)"},
          {"description", ColumnType::kText, "What the column holds"},
      }};
};

}  // namespace

Status RegisterIntrospectionTables(TableRegistry& registry) {
  VIGIL_RETURN_IF_ERROR(registry.Add(std::make_unique<VigilTablesTable>(registry)));
  return registry.Add(std::make_unique<VigilColumnsTable>(registry));
}

}  // namespace vigil
