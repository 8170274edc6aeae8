#include <gtest/gtest.h>

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

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(SystemInfoTable, ReadsIdentityAndProcessor) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT hostname, computer_name, local_hostname, cpu_subtype, cpu_brand, "
                 "cpu_physical_cores, cpu_logical_cores, cpu_microcode, physical_memory "
                 "FROM system_info"),
            std::vector<std::string>{
                "historian01|historian01|historian01|106|"
                "Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz|2|4|0xd0003a5|8336384000"});
}

TEST(SystemInfoTable, ReadsFirmwareStrings) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT uuid, hardware_vendor, hardware_model, hardware_version, "
                 "hardware_serial, board_vendor, board_model, board_version, board_serial "
                 "FROM system_info"),
            std::vector<std::string>{
                "4c4c4544-0058-4b10-8051-b7c04f384833|Dell Inc.|PowerEdge R650||7XKQ8H3|"
                "Dell Inc.|0PYXKY|A02|.7XKQ8H3.CNFCP0023M0123."});
}

TEST(SystemInfoTable, CpuTypeIsTheRunningKernelsArch) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT cpu_type FROM system_info"),
            std::vector<std::string>{Trimmed(CommandOutput("uname -m"))});
}

TEST(SystemInfoTable, HostnameFallsBackToEtcHostname) {
  TempDir root;
  root.WriteFile("etc/hostname", "  jump-host-2 \n");
  EXPECT_EQ(Rows(root.path(), "SELECT hostname, computer_name FROM system_info"),
            std::vector<std::string>{"jump-host-2|jump-host-2"});
}

TEST(SystemInfoTable, UnreadableSourcesGiveEmptyTextAndNullNumbers) {
  TempDir root;
  root.MakeDir("proc");
  EXPECT_EQ(Rows(root.path(),
                 "SELECT hostname, uuid, cpu_brand, cpu_logical_cores, cpu_physical_cores, "
                 "physical_memory, hardware_serial FROM system_info"),
            std::vector<std::string>{"|||NULL|NULL|NULL|"});
}

TEST(SystemInfoTable, LogicalCoresCountWithoutCoreIds) {
  // Some architectures list processors without socket or core ids.
  TempDir root;
  root.WriteFile("proc/cpuinfo",
                 "processor\t: 0\nBogoMIPS\t: 48.00\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n");
  EXPECT_EQ(Rows(root.path(), "SELECT cpu_physical_cores, cpu_logical_cores FROM system_info"),
            std::vector<std::string>{"2|2"});
}

TEST(SystemInfoTable, MatchesThisMachine) {
  if (!HaveCommand("hostname") || !HaveCommand("getconf")) {
    GTEST_SKIP() << "hostname or getconf is not installed";
  }
  std::string expected = Trimmed(CommandOutput("hostname")) + "|" +
                         Trimmed(CommandOutput("getconf _NPROCESSORS_ONLN")) + "|" +
                         Trimmed(CommandOutput("awk '/^MemTotal:/ { printf \"%.0f\", $2 * 1024 }' "
                                               "/proc/meminfo"));
  EXPECT_EQ(Rows("/", "SELECT hostname, cpu_logical_cores, physical_memory FROM system_info"),
            std::vector<std::string>{expected});
}

}  // namespace
}  // namespace vigil::tables
