#include <gtest/gtest.h>

#include <cstdlib>
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

// rules.d holds *.rules files, so the stale audit.rules is ignored and the rules load as
// augenrules concatenates them: files in `ls -v` order (9-early before 10-base-config), the
// first -D, the last -b and -f first, the last -e at the very end.
TEST(AuditRulesTable, LoadsRulesDLikeAugenrules) {
  const std::string d = "/etc/audit/rules.d/";
  Rows warnings;
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT position, type, flag, value, rule, file, line, source FROM audit_rules "
            "ORDER BY position",
            &warnings),
      (Rows{
          "1|control|-D|NULL|-D|" + d + "10-base-config.rules|2|augenrules",
          "2|control|-b|8192|-b 8192|" + d + "10-base-config.rules|5|augenrules",
          "3|control|-f|2|-f 2|" + d + "40-time.rules|9|augenrules",
          "4|syscall|-a|NULL|-a always,exit -F arch=b64 -S init_module,finit_module -k modules|" +
              d + "9-early.rules|2|augenrules",
          "5|control|--backlog_wait_time|60000|--backlog_wait_time 60000|" + d +
              "10-base-config.rules|6|augenrules",
          "6|watch|-w|NULL|-w /etc/passwd -p wa -k identity|" + d +
              "30-identity.rules|2|augenrules",
          "7|watch|-w|NULL|-w /etc/group -p wa -k identity|" + d + "30-identity.rules|3|augenrules",
          "8|watch|-w|NULL|-w /etc/shadow -p wa -k identity|" + d +
              "30-identity.rules|4|augenrules",
          "9|watch|-w|NULL|-w /etc/sudoers -p wa -k scope|" + d + "30-identity.rules|5|augenrules",
          "10|watch|-w|NULL|-w /etc/sudoers.d/ -p wa -k scope|" + d +
              "30-identity.rules|6|augenrules",
          "11|syscall|-a|NULL|-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change|" +
              d + "40-time.rules|2|augenrules",
          "12|syscall|-a|NULL|-a always,exit -F arch=b32 -S adjtimex -S settimeofday -S stime "
          "-k time-change|" +
              d + "40-time.rules|3|augenrules",
          "13|syscall|-a|NULL|-a exit,always -F arch=b64 -S execve -F auid>=1000 -F auid!=unset "
          "-F key=exec|" +
              d + "40-time.rules|4|augenrules",
          "14|syscall|-a|NULL|-a never,exclude -F msgtype=CWD|" + d + "40-time.rules|5|augenrules",
          "15|syscall|-a|NULL|-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 "
          "-F auid!=unset -k privileged|" +
              d + "40-time.rules|6|augenrules",
          "16|watch|-w|NULL|-w /var/log/sudo.log -p wa|" + d + "40-time.rules|7|augenrules",
          "17|control|-e|2|-e 2|" + d + "99-finalize.rules|2|augenrules",
      }));
  EXPECT_EQ(warnings, Rows{"audit_rules: /etc/audit/rules.d/40-time.rules:8: 'bogus' is not an "
                           "auditctl option"});
}

TEST(AuditRulesTable, SplitsRulesIntoQueryableParts) {
  Rows warnings;  // the fixture's bad line, checked above
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT position, action, list, key, path, permissions, syscalls, fields "
                  "FROM audit_rules WHERE type != 'control' ORDER BY position",
                  &warnings),
            (Rows{
                "4|always|exit|modules|NULL|NULL|init_module,finit_module|arch=b64",
                "6|NULL|NULL|identity|/etc/passwd|wa|NULL|NULL",
                "7|NULL|NULL|identity|/etc/group|wa|NULL|NULL",
                "8|NULL|NULL|identity|/etc/shadow|wa|NULL|NULL",
                "9|NULL|NULL|scope|/etc/sudoers|wa|NULL|NULL",
                "10|NULL|NULL|scope|/etc/sudoers.d/|wa|NULL|NULL",
                "11|always|exit|time-change|NULL|NULL|adjtimex,settimeofday|arch=b64",
                "12|always|exit|time-change|NULL|NULL|adjtimex,settimeofday,stime|arch=b32",
                // The list and action may come in either order; -F key= is a key too.
                "13|always|exit|exec|NULL|NULL|execve|"
                "arch=b64 auid>=1000 auid!=unset key=exec",
                "14|never|exclude|NULL|NULL|NULL|NULL|msgtype=CWD",
                "15|always|exit|privileged|/usr/bin/sudo|x|NULL|"
                "path=/usr/bin/sudo perm=x auid>=1000 auid!=unset",
                "16|NULL|NULL|NULL|/var/log/sudo.log|wa|NULL|NULL",
            }));
  // The SR 3.9 check: the configuration ends immutable.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT value FROM audit_rules WHERE flag = '-e' "
                  "AND position = (SELECT max(position) FROM audit_rules)",
                  &warnings),
            Rows{"2"});
}

// Without *.rules files in rules.d, audit.rules is loaded as it is, in file order.
TEST(AuditRulesTable, FallsBackToAuditRulesAndWarnsAboutBadLines) {
  TempDir root;
  root.WriteFile("etc/audit/rules.d/README", "-w /not/read\n");
  root.WriteFile("etc/audit/audit.rules",
                 "-D\n"
                 "-e 1\n"
                 "-w /etc/hosts -p wa -kNET\n"
                 "-a always,sideways -S open\n"
                 "-w /tmp -k\n"
                 "-Z\n"
                 "-a task,never\n"
                 "# comment\n"
                 "-b1024\n");
  Rows warnings;
  EXPECT_EQ(Query(root.path(),
                  "SELECT position, type, flag, value, action, list, key, path, line, source "
                  "FROM audit_rules ORDER BY position",
                  &warnings),
            (Rows{
                "1|control|-D|NULL|NULL|NULL|NULL|NULL|1|audit.rules",
                "2|control|-e|1|NULL|NULL|NULL|NULL|2|audit.rules",
                "3|watch|-w|NULL|NULL|NULL|NET|/etc/hosts|3|audit.rules",
                "4|syscall|-a|NULL|never|task|NULL|NULL|7|audit.rules",
                "5|control|-b|1024|NULL|NULL|NULL|NULL|9|audit.rules",
            }));
  EXPECT_EQ(warnings,
            (Rows{
                "audit_rules: /etc/audit/audit.rules:4: unknown list or action 'sideways'",
                "audit_rules: /etc/audit/audit.rules:5: option -k needs an argument",
                "audit_rules: /etc/audit/audit.rules:6: unknown option '-Z'",
            }));
}

TEST(AuditRulesTable, NoRulesMeansNoRows) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM audit_rules"), Rows{});
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// On the machine itself the kernel's rules and settings are read.
TEST(AuditRulesTable, MatchesAuditctlOnThisMachine) {
  if (!HaveCommand("auditctl")) GTEST_SKIP() << "auditctl is not installed";
  if (std::system("auditctl -s >/dev/null 2>&1 && auditctl -l >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "auditctl cannot read the kernel's audit state here (not root, or no "
                    "audit support in this kernel or container)";
  }
  Rows expected_rules;
  for (const std::string& line : Lines(CommandOutput("auditctl -l"))) {
    if (line != "No rules") expected_rules.push_back(line);
  }
  std::string enabled;
  std::string failure;
  for (const std::string& line : Lines(CommandOutput("auditctl -s"))) {
    if (line.starts_with("enabled ")) enabled = line.substr(8);
    if (line.starts_with("failure ")) failure = line.substr(8);
  }
  EXPECT_EQ(Query("/", "SELECT rule FROM audit_rules WHERE type != 'control' ORDER BY position"),
            expected_rules);
  EXPECT_EQ(Query("/",
                  "SELECT flag, value, file, source FROM audit_rules "
                  "WHERE flag IN ('-e', '-f') ORDER BY flag"),
            (Rows{"-e|" + enabled + "|NULL|kernel", "-f|" + failure + "|NULL|kernel"}));
  // -e comes last, as in a rules file.
  EXPECT_EQ(Query("/", "SELECT flag FROM audit_rules ORDER BY position DESC LIMIT 1"), Rows{"-e"});
}

}  // namespace
}  // namespace vigil::tables
