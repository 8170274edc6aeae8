#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

std::vector<std::string> Rows(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : std::vector<std::string>{};
}

TEST(UsersTable, ListsWellFormedAccountsInFileOrder) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT uid, gid, uid_signed, gid_signed, username, description, directory, "
                 "shell, uuid FROM users"),
            (std::vector<std::string>{
                "0|0|0|0|root|root|/root|/bin/bash|",
                "1|1|1|1|daemon|daemon|/usr/sbin|/usr/sbin/nologin|",
                "2|2|2|2|bin|bin|/bin|/usr/sbin/nologin|",
                "3|3|3|3|sys|sys|/dev|/usr/sbin/nologin|",
                "4|65534|4|65534|sync|sync|/bin|/bin/sync|",
                "33|33|33|33|www-data|www-data|/var/www|/usr/sbin/nologin|",
                "65534|65534|65534|65534|nobody|nobody|/nonexistent|/usr/sbin/nologin|",
                "100|105|100|105|_chrony|Chrony daemon,,,|/var/lib/chrony|/usr/sbin/nologin|",
                "101|65534|101|65534|sshd||/run/sshd|/usr/sbin/nologin|",
                "1000|1000|1000|1000|historian|Historian,Control Room,,|/home/historian|/bin/bash|",
                "4294967294|4294967294|-2|-2|overflow|Top id|/nonexistent|/usr/sbin/nologin|",
            }));
}

TEST(UsersTable, MalformedLinesAreSkippedNotFatal) {
  // The fixture holds a line without fields, a non-numeric uid and a line with six fields.
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT count(*) FROM users WHERE username IN ('badid', 'short', 'this line is "
                 "not an account')"),
            std::vector<std::string>{"0"});
}

TEST(UsersTable, UidConstraintSelectsAccounts) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT username FROM users WHERE uid = 0"),
            std::vector<std::string>{"root"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT username FROM users WHERE uid IN (33, 1000, 7) ORDER BY uid"),
            (std::vector<std::string>{"www-data", "historian"}));
}

TEST(UsersTable, UsernameConstraintSelectsAccounts) {
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"), "SELECT uid, shell FROM users WHERE username = 'historian'"),
      std::vector<std::string>{"1000|/bin/bash"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT uid FROM users WHERE username = 'nosuch'"),
            std::vector<std::string>{});
}

TEST(UsersTable, JoinsWithGroupsOnGid) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT u.username, g.groupname FROM users u JOIN groups g USING (gid) "
                 "WHERE u.uid >= 1000 ORDER BY u.uid"),
            (std::vector<std::string>{"historian|historian", "nobody|nogroup"}));
}

TEST(UsersTable, RootWithoutPasswdHasNoAccounts) {
  TempDir root;
  root.MakeDir("etc");
  EXPECT_EQ(Rows(root.path(), "SELECT count(*) FROM users"), std::vector<std::string>{"0"});
}

TEST(UsersTable, MatchesGetentOnThisMachine) {
  if (!HaveCommand("getent")) GTEST_SKIP() << "getent is not installed";
  struct Account {
    uint64_t uid;
    std::string name;
  };
  std::vector<Account> accounts;
  std::istringstream lines(CommandOutput("getent passwd"));
  for (std::string line; std::getline(lines, line);) {
    size_t c1 = line.find(':');
    size_t c2 = line.find(':', c1 + 1);
    size_t c3 = line.find(':', c2 + 1);
    accounts.push_back({std::stoull(line.substr(c2 + 1, c3 - c2 - 1)), line.substr(0, c1)});
  }
  std::sort(accounts.begin(), accounts.end(), [](const Account& a, const Account& b) {
    return a.uid != b.uid ? a.uid < b.uid : a.name < b.name;
  });
  std::vector<std::string> expected;
  expected.reserve(accounts.size());
  for (const Account& a : accounts) expected.push_back(a.name + "|" + std::to_string(a.uid));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Rows("/", "SELECT username, uid FROM users ORDER BY uid, username"), expected);
}

}  // namespace
}  // namespace vigil::tables
