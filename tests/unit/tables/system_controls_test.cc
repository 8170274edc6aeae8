#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <set>
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

std::string Trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The fixture's sysctl.d files, in the order they apply:
//   /etc/sysctl.d/10-network.conf, /usr/lib/sysctl.d/50-default.conf,
//   /etc/sysctl.d/60-shadowed.conf (hides /usr/lib/sysctl.d/60-shadowed.conf),
//   /etc/sysctl.d/70-masked.conf (a link to /dev/null hiding the /usr/lib file),
//   /etc/sysctl.d/99-hardening.conf, and last /etc/sysctl.conf.
TEST(SystemControlsTable, AppliesSysctlDInBootOrder) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT name, subsystem, current_value, config_value, config_file, config_line "
                 "FROM system_controls ORDER BY name"),
            (std::vector<std::string>{
                "fs.protected_symlinks|fs|1|1|/usr/lib/sysctl.d/50-default.conf|8",
                "kernel.hostname|kernel|historian01|NULL|NULL|NULL",
                // 10-network sets 2, the later 50-default sets 1.
                "kernel.kptr_restrict|kernel|2|1|/usr/lib/sysctl.d/50-default.conf|4",
                "kernel.pid_max|kernel|4194304|NULL|NULL|NULL",
                "kernel.printk|kernel|4\t4\t1\t7|3 4 1 3|/usr/lib/sysctl.d/50-default.conf|9",
                // The /usr/lib file that sets 0 is masked.
                "kernel.randomize_va_space|kernel|2|2|/etc/sysctl.d/99-hardening.conf|1",
                // Configured ("-" prefix stripped) but absent from /proc/sys.
                "kernel.unknown_knob|kernel|NULL|5|/usr/lib/sysctl.d/50-default.conf|7",
                // An explicit key wins over a later glob pattern.
                "net.ipv4.conf.all.rp_filter|net|2|1|/etc/sysctl.d/10-network.conf|5",
                "net.ipv4.conf.default.rp_filter|net|2|2|/usr/lib/sysctl.d/50-default.conf|5",
                "net.ipv4.conf.eth0.rp_filter|net|2|2|/usr/lib/sysctl.d/50-default.conf|5",
                // Excluded from the pattern by "-net.ipv4.conf.lo.rp_filter".
                "net.ipv4.conf.lo.rp_filter|net|0|NULL|NULL|NULL",
                // 10-network and 99-hardening set 1; /etc/sysctl.conf applies last.
                "net.ipv4.ip_forward|net|0|0|/etc/sysctl.conf|6",
                // Written with '/' separators.
                "net.ipv4.tcp_syncookies|net|1|1|/etc/sysctl.d/10-network.conf|4",
                "net.ipv6.conf.all.disable_ipv6|net|NULL|1|/etc/sysctl.d/99-hardening.conf|2",
                "vm.swappiness|vm|60|30|/etc/sysctl.d/60-shadowed.conf|2",
            }));
}

TEST(SystemControlsTable, NameConstraintReturnsOneRowWithItsSource) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT name, current_value, config_value, config_file, config_line "
                 "FROM system_controls WHERE name = 'net.ipv4.ip_forward'"),
            std::vector<std::string>{"net.ipv4.ip_forward|0|0|/etc/sysctl.conf|6"});
}

TEST(SystemControlsTable, NameInListIncludesConfiguredOnlyKeys) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT name, current_value, config_value FROM system_controls "
                 "WHERE name IN ('vm.swappiness', 'kernel.unknown_knob', 'net.nosuch') "
                 "ORDER BY name"),
            (std::vector<std::string>{"kernel.unknown_knob|NULL|5", "vm.swappiness|60|30"}));
}

TEST(SystemControlsTable, GlobAppliesUnderNameConstraint) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT config_value, config_line FROM system_controls "
                 "WHERE name = 'net.ipv4.conf.eth0.rp_filter'"),
            std::vector<std::string>{"2|5"});
}

TEST(SystemControlsTable, SubsystemAndLikeConstraints) {
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"), "SELECT name FROM system_controls WHERE subsystem = 'vm'"),
      std::vector<std::string>{"vm.swappiness"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT name FROM system_controls WHERE name LIKE 'kernel.p%' ORDER BY name"),
            (std::vector<std::string>{"kernel.pid_max", "kernel.printk"}));
}

TEST(SystemControlsTable, LinuxLeavesOidTypeAndFieldNameEmpty) {
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"), "SELECT DISTINCT oid, type, field_name FROM system_controls"),
      std::vector<std::string>{"||"});
}

TEST(SystemControlsTable, RowsDoNotDependOnSelectedColumns) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT count(*) FROM system_controls"),
            std::vector<std::string>{"15"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT count(current_value) FROM system_controls"),
            std::vector<std::string>{"13"});
}

TEST(SystemControlsTable, ConfigOnlyRootAndIgnoredLines) {
  TempDir root;
  root.WriteFile("etc/sysctl.conf",
                 "# comment\n"
                 "; another comment\n"
                 "not an assignment\n"
                 " = no key\n"
                 "kernel.sysrq = 0\n"
                 "kernel/sysrq =  176 \n");
  root.WriteFile("run/sysctl.d/.hidden.conf", "vm.hidden = 1\n");
  root.WriteFile("run/sysctl.d/20-run.conf", "vm.overcommit_memory = 1\n");
  EXPECT_EQ(Rows(root.path(),
                 "SELECT name, current_value, config_value, config_file, config_line "
                 "FROM system_controls ORDER BY name"),
            (std::vector<std::string>{
                "kernel.sysrq|NULL|176|/etc/sysctl.conf|6",
                "vm.overcommit_memory|NULL|1|/run/sysctl.d/20-run.conf|1",
            }));
}

TEST(SystemControlsTable, MatchesSysctlOnThisMachine) {
  if (!HaveCommand("sysctl")) GTEST_SKIP() << "sysctl is not installed";
  for (const char* key : {"kernel.hostname", "net.ipv4.ip_forward", "kernel.pid_max"}) {
    EXPECT_EQ(Rows("/", "SELECT current_value FROM system_controls WHERE name = '" +
                            std::string(key) + "'"),
              std::vector<std::string>{Trimmed(CommandOutput("sysctl -n " + std::string(key)))})
        << key;
  }
}

TEST(SystemControlsTable, ListsEveryParameterSysctlDoes) {
  if (!HaveCommand("sysctl")) GTEST_SKIP() << "sysctl is not installed";
  // sysctl writes a '.' inside a component ("eth0.100") as '/'; the table writes '.'.
  std::set<std::string> expected;
  std::istringstream lines(CommandOutput("sysctl -a -N 2>/dev/null; true"));
  for (std::string line; std::getline(lines, line);) {
    std::replace(line.begin(), line.end(), '/', '.');
    if (!line.empty()) expected.insert(line);
  }
  ASSERT_GT(expected.size(), 100u);

  std::vector<std::string> names = Rows("/", "SELECT name FROM system_controls");
  std::set<std::string> listed(names.begin(), names.end());
  std::vector<std::string> missing;
  std::set_difference(expected.begin(), expected.end(), listed.begin(), listed.end(),
                      std::back_inserter(missing));
  // Parameters can come and go between the two reads (network devices); allow a few.
  EXPECT_LE(missing.size(), 5u) << "first missing: " << (missing.empty() ? "" : missing[0]);

  // sysctl hides write-only and deprecated entries and those it fails to read; the table lists
  // every file, with a NULL value where the read fails.
  std::vector<std::string> readable =
      Rows("/", "SELECT count(*) FROM system_controls WHERE current_value IS NOT NULL");
  ASSERT_EQ(readable.size(), 1u);
  size_t count = std::stoul(readable[0]);
  EXPECT_GE(count + expected.size() / 20 + 20, expected.size());
  EXPECT_LE(count, expected.size() + expected.size() / 10 + 20);
}

}  // namespace
}  // namespace vigil::tables
