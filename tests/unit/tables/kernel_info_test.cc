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
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find_first_of(" \n", i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The fixture has /proc/cmdline and /proc/version but no /proc/sys/kernel/osrelease.
TEST(KernelInfoTable, FixtureCommandLineAndVersion) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT version, arguments, path, device FROM kernel_info"),
      Rows{"6.1.0-18-amd64|ro quiet audit=1 apparmor=1 security=apparmor|"
           "/boot/vmlinuz-6.1.0-18-amd64|UUID=4f3c2a1e-7d1b-4c55-9a0e-2b8f6c1d9e77"});
}

TEST(KernelInfoTable, OsreleaseWinsOverProcVersion) {
  TempDir root;
  root.WriteFile("proc/sys/kernel/osrelease", "6.1.0-21-amd64\n");
  root.WriteFile("proc/version", "Linux version 5.10.0-9-amd64 (someone@example) #1 SMP\n");
  EXPECT_EQ(Query(root.path(), "SELECT version, arguments, path, device FROM kernel_info"),
            Rows{"6.1.0-21-amd64|NULL|NULL|NULL"});
}

TEST(KernelInfoTable, QuotedValuesRepeatedRootAndInitArguments) {
  TempDir root;
  // The kernel keeps a quoted stretch in one word and lets the last root= win; words after
  // "--" are init's, so the root= there is not the kernel's.
  root.WriteFile("proc/cmdline",
                 "root=/dev/sda1 BOOT_IMAGE=\"/boot/vmlinuz with space\" "
                 "dyndbg=\"file x.c +p\" root=/dev/mapper/vg-root ro -- single root=/dev/fake\n");
  EXPECT_EQ(Query(root.path(), "SELECT version, arguments, path, device FROM kernel_info"),
            Rows{"NULL|dyndbg=\"file x.c +p\" ro -- single root=/dev/fake|"
                 "/boot/vmlinuz with space|/dev/mapper/vg-root"});
}

TEST(KernelInfoTable, NoBootImageOrRootLeavesThemNull) {
  TempDir root;
  root.WriteFile("proc/cmdline", "console=ttyS0 quiet\n");
  EXPECT_EQ(Query(root.path(), "SELECT arguments, path IS NULL, device IS NULL FROM kernel_info"),
            Rows{"console=ttyS0 quiet|1|1"});
}

TEST(KernelInfoTable, RootWithoutProcHasNoRow) {
  TempDir root;
  root.MakeDir("etc");
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM kernel_info"), Rows{"0"});
}

TEST(KernelInfoTable, UnexpectedProcVersionIsAWarning) {
  TempDir root;
  root.WriteFile("proc/version", "garbage\n");
  auto result = RunSql(root.path(), "SELECT version FROM kernel_info");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{});
  EXPECT_EQ(result->warnings,
            Rows{"kernel_info: /proc/version: no release in \"Linux version RELEASE ...\" form"});
}

TEST(KernelInfoTable, MatchesUnameAndProcCmdlineOnThisMachine) {
  const std::string release = Trimmed(CommandOutput("uname -r"));
  const std::string cmdline = CommandOutput("cat /proc/cmdline");
  ASSERT_EQ(cmdline.find('"'), std::string::npos)
      << "quoted kernel parameters: the split below does not handle them";
  std::string arguments;
  std::string path = "NULL";
  std::string device = "NULL";
  bool kernel = true;  // until "--"
  for (const std::string& word : Words(cmdline)) {
    if (word == "--") kernel = false;
    if (kernel && word.rfind("BOOT_IMAGE=", 0) == 0) {
      path = word.substr(11);
    } else if (kernel && word.rfind("root=", 0) == 0) {
      device = word.substr(5);
    } else {
      arguments += (arguments.empty() ? "" : " ") + word;
    }
  }
  EXPECT_EQ(Query("/", "SELECT version, arguments, path, device FROM kernel_info"),
            Rows{release + "|" + arguments + "|" + path + "|" + device});
}

}  // namespace
}  // namespace vigil::tables
