#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
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

TEST(LogrotateRulesTable, FixtureGlobalDefaults) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT directive, value, file, line, inherited FROM logrotate_rules "
                  "WHERE path = ''"),
            (Rows{
                "weekly||/etc/logrotate.conf|2|0",
                "su|root adm|/etc/logrotate.conf|5|0",
                "rotate|4|/etc/logrotate.conf|6|0",
                "create||/etc/logrotate.conf|7|0",
                "include|/etc/logrotate.d|/etc/logrotate.conf|13|0",
                "compress||/etc/logrotate.conf|16|0",
            }));
}

TEST(LogrotateRulesTable, BlockOfSeveralPatternsWithScriptAndInheritedDefaults) {
  const Rows syslog = {
      "rotate|4|/etc/logrotate.d/rsyslog|6|0",
      "weekly||/etc/logrotate.d/rsyslog|7|0",
      "missingok||/etc/logrotate.d/rsyslog|8|0",
      "notifempty||/etc/logrotate.d/rsyslog|9|0",
      "compress||/etc/logrotate.d/rsyslog|10|0",
      "delaycompress||/etc/logrotate.d/rsyslog|11|0",
      "sharedscripts||/etc/logrotate.d/rsyslog|12|0",
      "postrotate|/usr/lib/rsyslog/rsyslog-rotate|/etc/logrotate.d/rsyslog|13|0",
      "su|root adm|/etc/logrotate.conf|5|1",
      "create||/etc/logrotate.conf|7|1",
  };
  for (const char* path : {"/var/log/syslog", "/var/log/auth.log"}) {
    EXPECT_EQ(Query(FixtureRoot("debian12"),
                    "SELECT directive, value, file, line, inherited FROM logrotate_rules "
                    "WHERE path = '" +
                        std::string(path) + "'"),
              syslog)
        << path;
  }
}

TEST(LogrotateRulesTable, OverridesAndOrderOfGlobals) {
  // size replaces daily; nocreate replaces the global create; the global compress comes after
  // the include, so blocks of /etc/logrotate.d do not get it.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT directive, value, inherited FROM logrotate_rules "
                  "WHERE path = '/var/log/historian/*.log'"),
            (Rows{"size|50M|0", "rotate|30|0", "dateext||0", "copytruncate||0", "nocreate||0",
                  "missingok||0", "su|root adm|1"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT directive, value, inherited FROM logrotate_rules "
                  "WHERE path = '/var/log/plant-audit.log'"),
            (Rows{"monthly||0", "rotate|24|0", "nocompress||0", "create|0640 root adm|0",
                  "su|root adm|1"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT DISTINCT path FROM logrotate_rules WHERE file = "
                  "'/etc/logrotate.d/historian' ORDER BY path"),
            (Rows{"/opt/historian/log/export.log", "/var/log/historian/*.log"}));
  // apt.dpkg-old carries a taboo extension.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM logrotate_rules WHERE file LIKE '%.dpkg-old'"),
            Rows{"0"});
}

TEST(LogrotateRulesTable, SyslogRotatedWeeklyKeepingFour) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM logrotate_rules a JOIN logrotate_rules b "
                  "ON a.path = b.path WHERE a.path = '/var/log/syslog' "
                  "AND a.directive = 'weekly' AND b.directive = 'rotate' "
                  "AND CAST(b.value AS INTEGER) >= 4"),
            Rows{"1"});
}

TEST(LogrotateRulesTable, MalformedInputIsWarnedAndSkipped) {
  TempDir root;
  root.WriteFile("etc/logrotate.conf",
                 "}\n"
                 "size=10M\n"
                 "tabooext + .bak\n"
                 "include /etc/logrotate.d\n"
                 "include /etc/logrotate.conf\n"
                 "/var/log/orphan.log\n"
                 "rotate 2\n");
  root.WriteFile("etc/logrotate.d/app",
                 "\"/var/log/app one.log\" /var/log/app2.log {\n"
                 "  rotate = 7\n"
                 "  include /etc/other\n"
                 "  /var/log/nested {\n"
                 "  prerotate\n"
                 "    echo one\n"
                 "    echo two\n"
                 "  endscript\n"
                 "}\n");
  root.WriteFile("etc/logrotate.d/app.bak", "/var/log/bak.log {\n}\n");
  root.WriteFile("etc/logrotate.d/.hidden", "/var/log/hidden.log {\n}\n");
  root.WriteFile("etc/logrotate.d/unclosed", "/var/log/u.log {\n  daily\n  postrotate\n  x\n");
  auto result = RunSql(root.path(),
                       "SELECT path, directive, value, file, line, inherited "
                       "FROM logrotate_rules WHERE path != ''");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                "/var/log/app one.log|rotate|7|/etc/logrotate.d/app|2|0",
                "/var/log/app one.log|prerotate|echo one\necho two|/etc/logrotate.d/app|5|0",
                "/var/log/app one.log|size|10M|/etc/logrotate.conf|2|1",
                "/var/log/app2.log|rotate|7|/etc/logrotate.d/app|2|0",
                "/var/log/app2.log|prerotate|echo one\necho two|/etc/logrotate.d/app|5|0",
                "/var/log/app2.log|size|10M|/etc/logrotate.conf|2|1",
            }));
  EXPECT_EQ(result->warnings,
            (Rows{
                "logrotate_rules: /etc/logrotate.conf:1: '}' outside a block",
                "logrotate_rules: /etc/logrotate.d/app:3: 'include' is not allowed inside a "
                "block",
                "logrotate_rules: /etc/logrotate.d/app:4: nested block",
                "logrotate_rules: /etc/logrotate.d/unclosed:3: 'postrotate' without endscript",
                "logrotate_rules: /etc/logrotate.d/unclosed:1: block not closed with '}'",
                "logrotate_rules: /etc/logrotate.conf: include loop: the file is already being "
                "read",
                "logrotate_rules: /etc/logrotate.conf:7: log file pattern not followed by '{'",
            }));
}

TEST(LogrotateRulesTable, NoConfigurationNoRows) {
  TempDir root;
  root.WriteFile("etc/logrotate.d/app", "/var/log/app.log {\n  daily\n}\n");
  EXPECT_EQ(Query(root.path(), "SELECT * FROM logrotate_rules"), Rows{});
}

// logrotate -d prints "rotating pattern: PATH  FREQUENCY (N rotations)" per pattern.
TEST(LogrotateRulesTable, MachineMatchesLogrotateDebug) {
  if (!HaveCommand("logrotate") || ::access("/etc/logrotate.conf", R_OK) != 0) {
    GTEST_SKIP() << "logrotate is not installed";
  }
  std::istringstream out(CommandOutput("logrotate -d /etc/logrotate.conf 2>&1 || true"));
  std::map<std::string, std::string> expected;  // path -> "frequency|rotations"
  for (std::string line; std::getline(out, line);) {
    const std::string prefix = "rotating pattern: ";
    if (!line.starts_with(prefix)) continue;
    std::string rest = line.substr(prefix.size());
    size_t gap = rest.find("  ");
    size_t open = rest.rfind(" (");
    if (gap == std::string::npos || open == std::string::npos) continue;
    std::string frequency = rest.substr(gap + 2, open - gap - 2);
    std::string rotations = rest.substr(open + 2, rest.find(' ', open + 2) - open - 2);
    // Several patterns on one line come out together; keep single-pattern lines.
    std::string path = rest.substr(0, gap);
    if (path.find(' ') != std::string::npos) continue;
    expected[path] = frequency + "|" + rotations;
  }
  ASSERT_FALSE(expected.empty());
  for (const auto& [path, want] : expected) {
    if (want.find("bytes") != std::string::npos) continue;  // a size criterion
    Rows got = Query("/",
                     "SELECT f.directive || '|' || r.value FROM logrotate_rules f JOIN "
                     "logrotate_rules r ON f.path = r.path WHERE f.path = '" +
                         path +
                         "' AND f.directive IN ('hourly', 'daily', 'weekly', 'monthly', "
                         "'yearly') AND r.directive = 'rotate'");
    EXPECT_EQ(got, Rows{want}) << path;
  }
}

}  // namespace
}  // namespace vigil::tables
