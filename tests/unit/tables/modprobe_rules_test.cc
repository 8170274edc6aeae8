#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
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

Rows Query(std::string_view root, std::string_view sql, Rows* warnings = nullptr) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (!result.ok()) return {};
  if (warnings != nullptr) *warnings = result->warnings;
  return RowsAsText(*result);
}

// /etc/modprobe.d/cis-hardening.conf hides /usr/lib/modprobe.d/cis-hardening.conf (which would
// install usb-storage as /bin/true); README and .hidden.conf are not read.
TEST(ModprobeRulesTable, ReadsModprobeDInNameOrderWithShadowing) {
  Rows warnings;
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT directive, module, argument, file, line FROM modprobe_rules "
                  "ORDER BY file, line",
                  &warnings),
            (Rows{
                "install|usb_storage|/bin/false|/etc/modprobe.d/cis-hardening.conf|2",
                "blacklist|usb_storage|NULL|/etc/modprobe.d/cis-hardening.conf|3",
                "install|cramfs|/bin/false|/etc/modprobe.d/cis-hardening.conf|4",
                "blacklist|cramfs|NULL|/etc/modprobe.d/cis-hardening.conf|5",
                "blacklist|nouveau|NULL|/etc/modprobe.d/nouveau.conf|2",
                "options|nouveau|modeset=0|/etc/modprobe.d/nouveau.conf|3",
                // Continued on the next line.
                "softdep|drm|pre: ttm post: drm_kms_helper|/etc/modprobe.d/nouveau.conf|4",
                "remove|nouveau|/bin/true|/etc/modprobe.d/nouveau.conf|7",
                "alias|nouveau|pci:v000010DEd*sv*sd*bc03sc*i*|/etc/modprobe.d/nouveau.conf|8",
                "alias|bluetooth|net-pf-31|/usr/lib/modprobe.d/aliases.conf|2",
                "alias|agpgart|char-major-10-175|/usr/lib/modprobe.d/aliases.conf|3",
            }));
  EXPECT_EQ(warnings,
            (Rows{
                "modprobe_rules: /etc/modprobe.d/nouveau.conf:9: options needs a module name "
                "and an argument",
                "modprobe_rules: /etc/modprobe.d/nouveau.conf:10: unknown directive 'frobnicate'",
            }));
}

// The SR 2.3 question: is usb-storage both blocked from loading and blacklisted?
TEST(ModprobeRulesTable, AnswersTheUsbStorageCheck) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT m.module FROM modprobe_rules m "
                  "WHERE m.directive = 'install' AND m.argument IN ('/bin/false', '/bin/true') "
                  "AND EXISTS (SELECT 1 FROM modprobe_rules b WHERE b.directive = 'blacklist' "
                  "AND b.module = m.module) ORDER BY m.module"),
            (Rows{"cramfs", "usb_storage"}));
}

TEST(ModprobeRulesTable, KernelCommandLineSettingsFollowTheFiles) {
  TempDir root;
  root.WriteFile("run/modprobe.d/10-run.conf", "options snd-hda-intel power_save=1\n");
  root.WriteFile("lib/modprobe.d/10-run.conf", "options hidden x=1\n");
  root.WriteFile("usr/local/lib/modprobe.d/20-local.alias", "alias foo-bar baz-qux\n");
  root.WriteFile("proc/cmdline",
                 "BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=UUID=1234 ro quiet "
                 "usbcore.autosuspend=-1 modprobe.blacklist=usb-storage,firewire_core "
                 "nomodule i915.enable_psr=0\n");
  EXPECT_EQ(
      Query(root.path(), "SELECT directive, module, argument, file, line FROM modprobe_rules"),
      (Rows{
          "options|snd_hda_intel|power_save=1|/run/modprobe.d/10-run.conf|1",
          "alias|baz_qux|foo-bar|/usr/local/lib/modprobe.d/20-local.alias|1",
          "options|usbcore|autosuspend=-1|/proc/cmdline|NULL",
          "blacklist|usb_storage|NULL|/proc/cmdline|NULL",
          "blacklist|firewire_core|NULL|/proc/cmdline|NULL",
          "options|i915|enable_psr=0|/proc/cmdline|NULL",
      }));
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM modprobe_rules WHERE module = 'usb_storage'"),
            Rows{"1"});
}

TEST(ModprobeRulesTable, NoConfigurationMeansNoRows) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM modprobe_rules"), Rows{});
}

std::string WithoutSpaces(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; }),
          s.end());
  return s;
}

std::string Underscores(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// `modprobe -c` with the fixture's directories prints the configuration kmod parsed, plus the
// settings of this machine's kernel command line, grouped by directive.
TEST(ModprobeRulesTable, MatchesModprobeShowConfig) {
  if (!HaveCommand("modprobe")) GTEST_SKIP() << "modprobe (kmod) is not installed";
  const std::string root = FixtureRoot("debian12");
  std::string output = CommandOutput("modprobe -C " + root + "/etc/modprobe.d -C " + root +
                                     "/usr/lib/modprobe.d -c 2>/dev/null");
  Rows expected;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line) && !line.starts_with("# End of");) {
    if (!line.empty()) expected.push_back(WithoutSpaces(line));
  }
  Rows actual;
  const char* sql =
      "SELECT directive, module, argument FROM modprobe_rules WHERE file %s '/proc/cmdline'";
  char buffer[160];
  for (auto [where, op] : {std::pair{std::string_view(root), "!="}, {"/", "="}}) {
    std::snprintf(buffer, sizeof(buffer), sql, op);
    auto result = RunSql(where, buffer);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (const Row& row : result->rows) {
      std::string directive = row[0].text();
      std::string argument = row[2].is_null() ? "" : row[2].text();
      actual.push_back(WithoutSpaces(directive == "alias"
                                         ? "alias" + Underscores(argument) + row[1].text()
                                         : directive + row[1].text() + argument));
    }
  }
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace vigil::tables
