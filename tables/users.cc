// users: the local accounts of /etc/passwd, one row per well-formed line, in file order.
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
enum UsersColumn : int {
  kUid,
  kGid,
  kUidSigned,
  kGidSigned,
  kUsername,
  kDescription,
  kDirectory,
  kShell,
  kUuid,
  kColumnCount
};

Schema UsersSchema() {
  return Schema{
      "users",
      "Local user accounts from /etc/passwd, in file order. Lines that are not seven "
      "colon-separated fields with numeric ids are skipped.",
      {
          {"uid", ColumnType::kInteger, "User id (unsigned)", kIndex},
          {"gid", ColumnType::kInteger, "Primary group id (unsigned)"},
          {"uid_signed", ColumnType::kInteger, "User id as a signed 32-bit number"},
          {"gid_signed", ColumnType::kInteger, "Primary group id as a signed 32-bit number"},
          {"username", ColumnType::kText, "Login name", kIndex},
          {"description", ColumnType::kText, "The comment (GECOS) field"},
          {"directory", ColumnType::kText, "Home directory"},
          {"shell", ColumnType::kText, "Login shell"},
          {"uuid", ColumnType::kText, "Account UUID; always empty on Linux"},
      }};
}

// A decimal id that fits in 32 bits, as the C library accepts it in /etc/passwd.
std::optional<uint32_t> ParseId(std::string_view text) {
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(id);
}

std::vector<std::string_view> SplitFields(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t end = line.find(separator, start);
    fields.push_back(line.substr(start, end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

class UsersTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    Result<std::string> passwd = ctx.host().ReadFile("/etc/passwd");
    if (!passwd.ok()) {
      // A root without the file has no local accounts; any other failure is worth reporting.
      if (passwd.status().code() == StatusCode::kNotFound) return rows;
      return passwd.status();
    }
    std::string_view rest = *passwd;
    while (!rest.empty()) {
      size_t eol = rest.find('\n');
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
      if (line.empty() || line[0] == '#') continue;

      // name:password:uid:gid:gecos:home:shell
      std::vector<std::string_view> f = SplitFields(line, ':');
      if (f.size() != 7 || f[0].empty()) continue;
      std::optional<uint32_t> uid = ParseId(f[2]);
      std::optional<uint32_t> gid = ParseId(f[3]);
      if (!uid || !gid) continue;
      if (!ctx.Matches(kUid, Value(*uid)) || !ctx.Matches(kUsername, Value(f[0]))) continue;

      Row row(kColumnCount);
      row[kUid] = *uid;
      row[kGid] = *gid;
      row[kUidSigned] = static_cast<int32_t>(*uid);
      row[kGidSigned] = static_cast<int32_t>(*gid);
      row[kUsername] = f[0];
      row[kDescription] = f[4];
      row[kDirectory] = f[5];
      row[kShell] = f[6];
      row[kUuid] = "";
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = UsersSchema();
};

}  // namespace

std::unique_ptr<Table> MakeUsersTable() { return std::make_unique<UsersTable>(); }

}  // namespace vigil::tables
