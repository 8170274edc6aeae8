#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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

Rows Lines(const std::string& text) {
  Rows lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(KernelModulesTable, ParsesProcModulesInItsOrder) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM kernel_modules");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                "nft_chain_nat|16384|-|Live|0xffffffffc0b2d000|3|NULL",
                // The trailing comma of the dependants list is dropped.
                "nf_nat|61440|nft_chain_nat,xt_MASQUERADE|Live|0xffffffffc0b0e000|2|NULL",
                // Address hidden by kptr_restrict.
                "nf_tables|344064|nft_chain_nat,nft_compat|Live|0x0000000000000000|183|NULL",
                "vboxdrv|696320|vboxnetadp,vboxnetflt|Live|0xffffffffc0a5e000|2|OE",
                "usb_storage|81920|uas|Loading|0xffffffffc09ee000|1|NULL",
                "crc32c_intel|24576|[permanent]|Live|0xffffffffc09e4000|0|NULL",
                "ip_tables|36864|-|Unloading|0xffffffffc09d0000|0|NULL",
                // A kernel without module unloading prints '-' for the count.
                "legacy_wdt|8192|-|Live|0xffffffffc09c0000|NULL|NULL",
                "e1000e|352256|-|Live|0xffffffffc0900000|0|NULL",
            }));
  EXPECT_EQ(result->warnings,
            Rows{"kernel_modules: /proc/modules:9: expected 'name size refcount used_by state "
                 "address'"});
}

TEST(KernelModulesTable, Constraints) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name, taint FROM kernel_modules WHERE taint IS NOT NULL"),
            Rows{"vboxdrv|OE"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name FROM kernel_modules WHERE name IN ('usb_storage', 'nosuch')"),
            Rows{"usb_storage"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name FROM kernel_modules WHERE status != 'Live' ORDER BY name"),
            (Rows{"ip_tables", "usb_storage"}));
}

TEST(KernelModulesTable, NoModuleSupportMeansNoRowsAndNoWarning) {
  TempDir root;
  root.MakeDir("proc");
  auto result = RunSql(root.path(), "SELECT * FROM kernel_modules");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->rows.empty());
  EXPECT_TRUE(result->warnings.empty());
}

// This machine: the same modules as /proc/modules, and as lsmod where it is installed.
TEST(KernelModulesTable, MatchesThisMachine) {
  std::error_code ec;
  auto result = RunSql("/", "SELECT name, size, refcount FROM kernel_modules");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  if (!std::filesystem::exists("/proc/modules", ec)) {
    // A kernel without loadable modules (or a sandbox that hides them).
    EXPECT_TRUE(result->rows.empty());
    EXPECT_TRUE(result->warnings.empty());
    GTEST_SKIP() << "no /proc/modules on this machine";
  }
  Rows expected = Lines(CommandOutput(
      "awk '{ r = ($3 == \"-\") ? \"NULL\" : $3; print $1 \"|\" $2 \"|\" r }' /proc/modules"));
  Rows actual = RowsAsText(*result);
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
  if (HaveCommand("lsmod")) {
    Rows lsmod =
        Lines(CommandOutput("lsmod | tail -n +2 | awk '{ print $1 \"|\" $2 }' | LC_ALL=C sort"));
    Rows ours = Query("/", "SELECT name || '|' || size FROM kernel_modules ORDER BY 1");
    EXPECT_EQ(ours, lsmod);
  }
}

}  // namespace
}  // namespace vigil::tables
