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

TEST(GroupsTable, ListsWellFormedGroupsInFileOrder) {
  // "broken-group:x:" has no id field and is skipped.
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT gid, gid_signed, groupname FROM groups"),
            (std::vector<std::string>{
                "0|0|root",
                "1|1|daemon",
                "2|2|bin",
                "3|3|sys",
                "4|4|adm",
                "5|5|tty",
                "27|27|sudo",
                "33|33|www-data",
                "100|100|users",
                "105|105|_chrony",
                "106|106|ssh",
                "65534|65534|nogroup",
                "1000|1000|historian",
            }));
}

TEST(GroupsTable, GidAndNameConstraintsSelectGroups) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT groupname FROM groups WHERE gid = 27"),
            std::vector<std::string>{"sudo"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT gid FROM groups WHERE groupname IN ('adm', 'ssh', 'nosuch') ORDER BY gid"),
            (std::vector<std::string>{"4", "106"}));
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"), "SELECT gid FROM groups WHERE groupname = 'broken-group'"),
      std::vector<std::string>{});
}

TEST(GroupsTable, SignedIdWrapsAbove2To31) {
  TempDir root;
  root.WriteFile("etc/group", "nfsnobody:x:4294967294:\nbig:x:2147483648:a,b\n");
  EXPECT_EQ(Rows(root.path(), "SELECT gid, gid_signed, groupname FROM groups"),
            (std::vector<std::string>{"4294967294|-2|nfsnobody", "2147483648|-2147483648|big"}));
}

TEST(GroupsTable, RejectsIdsThatDoNotFit32Bits) {
  TempDir root;
  root.WriteFile("etc/group", "huge:x:4294967296:\nneg:x:-1:\nok:x:7:\n");
  EXPECT_EQ(Rows(root.path(), "SELECT groupname FROM groups"), std::vector<std::string>{"ok"});
}

TEST(GroupsTable, MatchesGetentOnThisMachine) {
  if (!HaveCommand("getent")) GTEST_SKIP() << "getent is not installed";
  struct Group {
    uint64_t gid;
    std::string name;
  };
  std::vector<Group> groups;
  std::istringstream lines(CommandOutput("getent group"));
  for (std::string line; std::getline(lines, line);) {
    size_t c1 = line.find(':');
    size_t c2 = line.find(':', c1 + 1);
    size_t c3 = line.find(':', c2 + 1);
    groups.push_back({std::stoull(line.substr(c2 + 1, c3 - c2 - 1)), line.substr(0, c1)});
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return a.gid != b.gid ? a.gid < b.gid : a.name < b.name;
  });
  std::vector<std::string> expected;
  expected.reserve(groups.size());
  for (const Group& g : groups) expected.push_back(g.name + "|" + std::to_string(g.gid));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Rows("/", "SELECT groupname, gid FROM groups ORDER BY gid, groupname"), expected);
}

}  // namespace
}  // namespace vigil::tables
