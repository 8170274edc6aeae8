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

Rows Query(std::string_view root, std::string_view sql, Rows* warnings = nullptr) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (!result.ok()) return {};
  if (warnings != nullptr) {
    *warnings = result->warnings;
  } else {
    EXPECT_EQ(result->warnings, Rows{}) << sql;
  }
  return RowsAsText(*result);
}

// Rows come in the order sudo reads the entries: @includedir's files where the directive
// stands (10-admins before README; extra/ is a directory, 20-old.dpkg-old has a '.', and
// 30-admins~ ends in '~', so none of them is read), and 10-admins' relative #include.
TEST(SudoersTable, ReadsEntriesInSudoOrder) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT source, line, type, header, rule_details, nopasswd FROM sudoers"),
            (Rows{
                "/etc/sudoers|4|defaults|Defaults|env_reset|NULL",
                "/etc/sudoers|5|defaults|Defaults|mail_badpass|NULL",
                "/etc/sudoers|6|defaults|Defaults|"
                "secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"|NULL",
                "/etc/sudoers|7|defaults|Defaults|use_pty|NULL",
                // Continued on the next line.
                "/etc/sudoers|8|defaults|Defaults:%operators|!lecture, timestamp_timeout=5|NULL",
                "/etc/sudoers|12|alias|Host_Alias|HISTORIANS = hist01, hist02|NULL",
                "/etc/sudoers|13|alias|Cmnd_Alias|SERVICES = /usr/bin/systemctl restart historian, "
                "/usr/bin/systemctl status historian|NULL",
                "/etc/sudoers|17|user_spec|root|ALL=(ALL:ALL) ALL|0",
                "/etc/sudoers|20|user_spec|%sudo|ALL=(ALL:ALL) ALL|0",
                // The trailing comment is dropped.
                "/etc/sudoers|21|user_spec|%operators|HISTORIANS = (root) NOPASSWD: SERVICES|1",
                // '#' followed by digits is a user id, not a comment.
                "/etc/sudoers|22|user_spec|#1001|ALL=(ALL) ALL|0",
                "/etc/sudoers|24|include|@includedir|/etc/sudoers.d|NULL",
                "/etc/sudoers.d/10-admins|2|alias|User_Alias|ADMINS = alice, bob|NULL",
                "/etc/sudoers.d/10-admins|3|user_spec|ADMINS|ALL=(ALL) ALL|0",
                "/etc/sudoers.d/10-admins|4|user_spec|deploy, ci-runner|"
                "ALL=(root) NOPASSWD: /usr/local/bin/deploy|1",
                "/etc/sudoers.d/10-admins|5|defaults|Defaults>root|!set_logname|NULL",
                "/etc/sudoers.d/10-admins|6|include|#include|extra/vendor|NULL",
                "/etc/sudoers.d/extra/vendor|1|user_spec|vendor|"
                "ALL=(historian) /opt/historian/bin/ctl|0",
            }));
}

TEST(SudoersTable, AnswersTheNopasswdCheck) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT header, source FROM sudoers WHERE nopasswd = 1 ORDER BY header"),
            (Rows{"%operators|/etc/sudoers", "deploy, ci-runner|/etc/sudoers.d/10-admins"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM sudoers WHERE header = 'Defaults' "
                  "AND rule_details = 'use_pty'"),
            Rows{"1"});
}

TEST(SudoersTable, LoopsMissingAndUnreadableFilesAreWarnings) {
  TempDir root;
  root.WriteFile("etc/sudoers",
                 "root ALL=(ALL) ALL\n"
                 "@include /etc/sudoers\n"
                 "@include \"missing file\"\n"
                 "@include unreadable\n"
                 "@includedir /etc/nosuch.d\n"
                 "@include\n");
  root.MakeDir("etc/unreadable");
  Rows warnings;
  EXPECT_EQ(Query(root.path(), "SELECT line, type, header, rule_details FROM sudoers", &warnings),
            (Rows{
                "1|user_spec|root|ALL=(ALL) ALL",
                "2|include|@include|/etc/sudoers",
                "3|include|@include|\"missing file\"",
                "4|include|@include|unreadable",
                "5|include|@includedir|/etc/nosuch.d",
                "6|include|@include|",
            }));
  ASSERT_EQ(warnings.size(), 4u) << ::testing::PrintToString(warnings);
  EXPECT_EQ(warnings[0],
            "sudoers: /etc/sudoers:2: include loop: /etc/sudoers is already being read");
  EXPECT_EQ(warnings[1], "sudoers: /etc/sudoers:3: included file /etc/missing file does not exist");
  EXPECT_TRUE(warnings[2].starts_with("sudoers: ") &&
              warnings[2].find("/etc/unreadable") != std::string::npos)
      << warnings[2];
  EXPECT_EQ(warnings[3], "sudoers: /etc/sudoers:6: include without a path");
}

TEST(SudoersTable, MissingSudoersMeansNoRows) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM sudoers"), Rows{});
}

// visudo -c names every file it parsed; they are the sources the table reads.
TEST(SudoersTable, ReadsTheFilesVisudoParses) {
  if (!HaveCommand("visudo")) GTEST_SKIP() << "visudo (sudo) is not installed";
  TempDir root;
  root.WriteFile("etc/sudoers",
                 "Defaults use_pty\n"
                 "root ALL=(ALL:ALL) ALL\n"
                 "@includedir sudoers.d\n");
  root.WriteFile("etc/sudoers.d/a", "alice ALL=(ALL) ALL\n@include ../extra\n");
  root.WriteFile("etc/sudoers.d/b.conf", "skipped ALL=(ALL) ALL\n");
  root.WriteFile("etc/sudoers.d/c~", "skipped ALL=(ALL) ALL\n");
  root.WriteFile("etc/extra", "bob ALL=(ALL) NOPASSWD: ALL\n");
  Rows expected;
  std::istringstream out(CommandOutput("visudo -c -f " + root.path() + "/etc/sudoers"));
  for (std::string line; std::getline(out, line);) {
    const std::string suffix = ": parsed OK";
    if (line.ends_with(suffix) && line.starts_with(root.path())) {
      expected.push_back(
          line.substr(root.path().size(), line.size() - suffix.size() - root.path().size()));
    }
  }
  ASSERT_EQ(expected.size(), 3u);
  Rows actual = Query(root.path(), "SELECT DISTINCT source FROM sudoers");
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(Query(root.path(), "SELECT header FROM sudoers WHERE nopasswd = 1"), Rows{"bob"});
}

}  // namespace
}  // namespace vigil::tables
