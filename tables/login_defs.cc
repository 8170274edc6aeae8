// login_defs: the settings of /etc/login.defs (shadow password suite) as its tools read them.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum LoginDefsColumn : int { kKey, kValue, kFile, kLine, kColumnCount };

constexpr std::string_view kLoginDefs = "/etc/login.defs";
constexpr size_t kMaxLoginDefsBytes = 1u << 20;

Schema LoginDefsSchema() {
  return Schema{
      "login_defs",
      "Settings of /etc/login.defs as the shadow tools (login, passwd, useradd, su, ...) read "
      "them: one row per name with the value in effect. A line is a name, blanks, then the "
      "value: leading blanks and double quotes are skipped and the value ends at the next "
      "double quote; trailing blanks are dropped. Text after the value is kept, as the tools "
      "keep it (\"022 # note\" is not a number to them). When a name appears twice the last "
      "line wins, as each line replaces the stored value. Names are case-sensitive. Lines "
      "starting with '#' and lines with no value are skipped. No rows without the file.",
      {
          {"key", ColumnType::kText, "Setting name (\"PASS_MAX_DAYS\", \"ENCRYPT_METHOD\")",
           kIndex},
          {"value", ColumnType::kText, "Value in effect, as the tools read it"},
          {"file", ColumnType::kText, "The file: /etc/login.defs"},
          {"line", ColumnType::kInteger, "Line number (from 1) of the assignment in effect"},
      }};
}

struct Assignment {
  std::string value;
  int line = 0;
};

class LoginDefsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> content =
        internal::ReadOptionalFile(ctx, kLoginDefs, kMaxLoginDefsBytes);
    if (!content) return rows;

    std::map<std::string, Assignment> settings;  // rows come out sorted by name
    for (const internal::NumberedLine& line : internal::SplitLines(*content)) {
      std::string_view text = line.text;
      text = text.substr(0, text.find_last_not_of(" \t\r\n\v\f") + 1);  // npos + 1 == 0
      size_t start = text.find_first_not_of(" \t");
      if (start == std::string_view::npos || text[start] == '#') continue;
      text.remove_prefix(start);
      size_t name_end = text.find_first_of(" \t");
      if (name_end == std::string_view::npos) continue;  // a name without a value
      std::string_view name = text.substr(0, name_end);
      std::string_view value = text.substr(name_end);
      size_t value_start = value.find_first_not_of(" \t\"");
      value =
          value_start == std::string_view::npos ? std::string_view() : value.substr(value_start);
      value = value.substr(0, value.find('"'));
      if (!ctx.Matches(kKey, Value(name))) continue;
      settings.insert_or_assign(std::string(name), Assignment{std::string(value), line.number});
    }
    for (auto& [name, assignment] : settings) {
      Row row(kColumnCount);
      row[kKey] = name;
      row[kValue] = std::move(assignment.value);
      row[kFile] = kLoginDefs;
      row[kLine] = assignment.line;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = LoginDefsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeLoginDefsTable() { return std::make_unique<LoginDefsTable>(); }

}  // namespace vigil::tables
