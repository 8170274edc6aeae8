// groups: the local groups of /etc/group, one row per well-formed line, in file order.
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum GroupsColumn : int { kGid, kGidSigned, kGroupname, kColumnCount };

Schema GroupsSchema() {
  return Schema{
      "groups",
      "Local groups from /etc/group, in file order. Lines that are not four colon-separated "
      "fields with a numeric id are skipped.",
      {
          {"gid", ColumnType::kInteger, "Group id (unsigned)", kIndex},
          {"gid_signed", ColumnType::kInteger, "Group id as a signed 32-bit number"},
          {"groupname", ColumnType::kText, "Group name", kIndex},
      }};
}

// A decimal id that fits in 32 bits, as the C library accepts it in /etc/group.
std::optional<uint32_t> ParseId(std::string_view text) {
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(id);
}

class GroupsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    Result<std::string> group = ctx.host().ReadFile("/etc/group");
    if (!group.ok()) {
      // A root without the file has no local groups; any other failure is worth reporting.
      if (group.status().code() == StatusCode::kNotFound) return rows;
      return group.status();
    }
    std::string_view rest = *group;
    while (!rest.empty()) {
      size_t eol = rest.find('\n');
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
      if (line.empty() || line[0] == '#') continue;

      // name:password:gid:member,member
      size_t c1 = line.find(':');
      size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
      size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
      if (c1 == 0 || c3 == std::string_view::npos ||
          line.find(':', c3 + 1) != std::string_view::npos) {
        continue;
      }
      std::string_view name = line.substr(0, c1);
      std::optional<uint32_t> gid = ParseId(line.substr(c2 + 1, c3 - c2 - 1));
      if (!gid) continue;
      if (!ctx.Matches(kGid, Value(*gid)) || !ctx.Matches(kGroupname, Value(name))) continue;

      Row row(kColumnCount);
      row[kGid] = *gid;
      row[kGidSigned] = static_cast<int32_t>(*gid);
      row[kGroupname] = name;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = GroupsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeGroupsTable() { return std::make_unique<GroupsTable>(); }

}  // namespace vigil::tables
