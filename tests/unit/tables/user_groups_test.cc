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
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

// The fixture's /etc/group lists historian in adm (4) and sudo (27).
TEST(UserGroupsTable, PrimaryAndSupplementaryGroupsOfTheFixture) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT uid, gid FROM user_groups");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{"0|0", "1|1", "2|2", "3|3", "4|65534", "33|33", "65534|65534", "100|105",
                  "101|65534", "1000|1000", "1000|4", "1000|27", "4294967294|4294967294"}));
  EXPECT_EQ(result->warnings,
            (Rows{"user_groups: /etc/passwd:6: malformed line, 1 fields (expected 7 with a name)",
                  "user_groups: /etc/passwd:8: uid is not a number from 0 to 4294967295",
                  "user_groups: /etc/passwd:13: malformed line, 6 fields (expected 7 with a name)",
                  "user_groups: /etc/group:9: malformed line, 3 fields (expected 4 with a name)"}));
}

TEST(UserGroupsTable, UidAndGidConstraints) {
  EXPECT_EQ(Query(FixtureRoot("debian12"), "SELECT gid FROM user_groups WHERE uid = 1000"),
            (Rows{"1000", "4", "27"}));
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT uid FROM user_groups WHERE gid = 65534 ORDER BY uid"),
      (Rows{"4", "101", "65534"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT u.username, g.groupname FROM user_groups ug "
                  "JOIN users u USING (uid) JOIN groups g ON g.gid = ug.gid "
                  "WHERE g.groupname = 'sudo'"),
            Rows{"historian|sudo"});
}

TEST(UserGroupsTable, MembershipsAreListedOnceAndUnknownMembersDropped) {
  TempDir root;
  root.WriteFile("etc/passwd",
                 "# local accounts\n"
                 "\n"
                 "alice:x:1000:1000::/home/alice:/bin/bash\n"
                 "bob:x:1001:1001::/home/bob:/bin/bash\n");
  root.WriteFile("etc/group",
                 "alice:x:1000:alice\n"             // her primary group again: one row
                 "plc:x:2000: bob , alice,ghost\n"  // spaces; ghost has no account
                 "plc-again:x:2000:alice\n"         // the same gid twice: one row
                 "ops:x:3000:bob,bob\n"
                 "badgid:x:x3:alice\n");
  auto result = RunSql(root.path(), "SELECT uid, gid FROM user_groups");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{"1000|1000", "1000|2000", "1001|1001", "1001|2000", "1001|3000"}));
  EXPECT_EQ(result->warnings,
            Rows{"user_groups: /etc/group:5: gid is not a number from 0 to 4294967295"});
}

TEST(UserGroupsTable, WithoutGroupFileOnlyPrimaryGroups) {
  TempDir root;
  root.WriteFile("etc/passwd", "alice:x:1000:100::/home/alice:/bin/bash\n");
  EXPECT_EQ(Query(root.path(), "SELECT uid, gid FROM user_groups"), Rows{"1000|100"});
}

TEST(UserGroupsTable, WithoutPasswdNoRows) {
  TempDir root;
  root.WriteFile("etc/group", "adm:x:4:alice\n");
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM user_groups"), Rows{"0"});
}

// Every account of this machine belongs to exactly the groups `id -G` prints for it.
TEST(UserGroupsTable, MatchesIdOnThisMachine) {
  if (!HaveCommand("id") || !HaveCommand("getent")) GTEST_SKIP() << "id or getent is missing";
  std::istringstream accounts(CommandOutput("getent passwd"));
  int compared = 0;
  for (std::string line; std::getline(accounts, line);) {
    const std::string name = line.substr(0, line.find(':'));
    size_t c2 = line.find(':', line.find(':') + 1);
    const std::string uid = line.substr(c2 + 1, line.find(':', c2 + 1) - c2 - 1);
    Rows expected;
    std::istringstream ids(CommandOutput("id -G '" + name + "'"));
    for (std::string gid; ids >> gid;) expected.push_back(gid);
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    Rows actual = Query("/", "SELECT gid FROM user_groups WHERE uid = " + uid);
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, expected) << name;
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

}  // namespace
}  // namespace vigil::tables
