// user_groups: which groups each local account belongs to, as the C library's getgrouplist()
// sees it with the files database: the primary group of /etc/passwd plus every group of
// /etc/group that lists the account as a member.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum UserGroupsColumn : int { kUid, kGid, kColumnCount };

Schema UserGroupsSchema() {
  return Schema{
      "user_groups",
      "Group memberships of the local accounts: one row for each account's primary group "
      "(/etc/passwd) and one for every group in /etc/group whose member list names the "
      "account, without repeats; accounts in /etc/passwd order, then groups in /etc/group "
      "order. Members that are not accounts in /etc/passwd have no uid and are left out; "
      "malformed lines of either file are skipped with a warning.",
      {
          {"uid", ColumnType::kInteger, "User id of the account", kIndex},
          {"gid", ColumnType::kInteger, "Id of a group the account belongs to", kIndex},
      }};
}

struct Account {
  std::string_view name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

std::optional<uint32_t> ParseId(std::string_view text) {
  std::optional<uint64_t> id = internal::ParseUint(text);
  if (!id || *id > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*id);
}

// Lines the C library skips: empty ones and comments.
bool Skipped(std::string_view line) {
  std::string_view text = internal::Trim(line);
  return text.empty() || text.front() == '#';
}

// name:password:uid:gid:gecos:home:shell
std::vector<Account> ParsePasswd(const QueryContext& ctx, std::string_view content) {
  std::vector<Account> accounts;
  for (const internal::NumberedLine& line : internal::SplitLines(content)) {
    if (Skipped(line.text)) continue;
    const std::string where = "/etc/passwd:" + std::to_string(line.number) + ": ";
    std::vector<std::string_view> f = internal::SplitFields(line.text, ':');
    if (f.size() != 7 || f[0].empty()) {
      ctx.Warn(where + "malformed line, " + std::to_string(f.size()) +
               " fields (expected 7 with a name)");
      continue;
    }
    std::optional<uint32_t> uid = ParseId(f[2]);
    std::optional<uint32_t> gid = ParseId(f[3]);
    if (!uid || !gid) {
      ctx.Warn(where + (uid ? "gid" : "uid") + " is not a number from 0 to 4294967295");
      continue;
    }
    accounts.push_back({f[0], *uid, *gid});
  }
  return accounts;
}

// name:password:gid:member,member -> member name -> the gids that list it, in file order.
std::map<std::string_view, std::vector<uint32_t>, std::less<>> ParseGroup(
    const QueryContext& ctx, std::string_view content) {
  std::map<std::string_view, std::vector<uint32_t>, std::less<>> memberships;
  for (const internal::NumberedLine& line : internal::SplitLines(content)) {
    if (Skipped(line.text)) continue;
    const std::string where = "/etc/group:" + std::to_string(line.number) + ": ";
    std::vector<std::string_view> f = internal::SplitFields(line.text, ':');
    if (f.size() != 4 || f[0].empty()) {
      ctx.Warn(where + "malformed line, " + std::to_string(f.size()) +
               " fields (expected 4 with a name)");
      continue;
    }
    std::optional<uint32_t> gid = ParseId(f[2]);
    if (!gid) {
      ctx.Warn(where + "gid is not a number from 0 to 4294967295");
      continue;
    }
    if (f[3].empty()) continue;
    for (std::string_view member : internal::SplitFields(f[3], ',')) {
      member = internal::Trim(member);
      if (!member.empty()) memberships[member].push_back(*gid);
    }
  }
  return memberships;
}

class UserGroupsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> passwd = internal::ReadOptionalFile(ctx, "/etc/passwd");
    if (!passwd) return rows;
    std::optional<std::string> group = internal::ReadOptionalFile(ctx, "/etc/group");

    const std::vector<Account> accounts = ParsePasswd(ctx, *passwd);
    const auto memberships = group
                                 ? ParseGroup(ctx, *group)
                                 : std::map<std::string_view, std::vector<uint32_t>, std::less<>>{};
    std::set<std::pair<uint32_t, uint32_t>> seen;
    auto add = [&](uint32_t uid, uint32_t gid) {
      if (!ctx.Matches(kGid, Value(gid)) || !seen.emplace(uid, gid).second) return;
      Row row(kColumnCount);
      row[kUid] = uid;
      row[kGid] = gid;
      rows.push_back(std::move(row));
    };
    for (const Account& account : accounts) {
      if (!ctx.Matches(kUid, Value(account.uid))) continue;
      add(account.uid, account.gid);
      auto it = memberships.find(account.name);
      if (it == memberships.end()) continue;
      for (uint32_t gid : it->second) add(account.uid, gid);
    }
    return rows;
  }

 private:
  const Schema schema_ = UserGroupsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeUserGroupsTable() { return std::make_unique<UserGroupsTable>(); }

}  // namespace vigil::tables
