#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

std::vector<std::string> Rows(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : std::vector<std::string>{};
}

constexpr std::string_view kColumns =
    "SELECT name, version, major, minor, patch, build, platform, platform_like, codename "
    "FROM os_version";

std::string Trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

TEST(OsVersionTable, ReadsDebianOsRelease) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), kColumns),
            std::vector<std::string>{"Debian GNU/Linux|12 (bookworm)|12|0|0||debian||bookworm"});
}

TEST(OsVersionTable, ArchIsTheRunningKernels) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT arch FROM os_version"),
            std::vector<std::string>{Trimmed(CommandOutput("uname -m"))});
}

TEST(OsVersionTable, FallsBackToUsrLibAndUnquotes) {
  TempDir root;
  root.WriteFile("usr/lib/os-release",
                 "# comment line\n"
                 "NAME='Ubuntu'\n"
                 "VERSION=\"22.04.3 LTS (Jammy \\\"Jellyfish\\\")\"\n"
                 "ID=ubuntu\n"
                 "ID_LIKE=debian\n"
                 "VERSION_ID=\"22.04\"\n"
                 "BUILD_ID=20230810\n"
                 "VERSION_CODENAME=jammy\n");
  EXPECT_EQ(Rows(root.path(), kColumns),
            std::vector<std::string>{
                "Ubuntu|22.04.3 LTS (Jammy \"Jellyfish\")|22|4|0|20230810|ubuntu|debian|jammy"});
}

TEST(OsVersionTable, ThreePartVersionId) {
  TempDir root;
  root.WriteFile("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\n");
  EXPECT_EQ(Rows(root.path(), "SELECT name, major, minor, patch FROM os_version"),
            std::vector<std::string>{"Alpine Linux|3|18|4"});
}

TEST(OsVersionTable, NonNumericVersionIdLeavesNumbersNull) {
  TempDir root;
  root.WriteFile("etc/os-release", "NAME=\"Arch Linux\"\nID=arch\nVERSION_ID=rolling\n");
  EXPECT_EQ(Rows(root.path(), "SELECT platform, major, minor, patch FROM os_version"),
            std::vector<std::string>{"arch|NULL|NULL|NULL"});
}

TEST(OsVersionTable, MissingOsReleaseStillGivesOneRow) {
  TempDir root;
  root.MakeDir("etc");
  EXPECT_EQ(Rows(root.path(), "SELECT name, major, platform FROM os_version"),
            std::vector<std::string>{"|NULL|"});
}

TEST(OsVersionTable, MatchesOsReleaseOnThisMachine) {
  std::string expected =
      Trimmed(CommandOutput("sh -c '. /etc/os-release 2>/dev/null || . /usr/lib/os-release; "
                            "echo \"$NAME|$ID|$VERSION_CODENAME\"'"));
  EXPECT_EQ(Rows("/", "SELECT name, platform, codename FROM os_version"),
            std::vector<std::string>{expected});
}

}  // namespace
}  // namespace vigil::tables
