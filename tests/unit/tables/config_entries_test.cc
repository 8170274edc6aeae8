#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
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

Rows Entries(const std::string& path) {
  return Query(FixtureRoot("debian12"),
               "SELECT section, key, value, line FROM config_entries WHERE path = '" + path + "'");
}

TEST(ConfigEntriesTable, PwqualityKeyEqualsValueAndFlags) {
  EXPECT_EQ(Entries("/etc/security/pwquality.conf"),
            (Rows{"|minlen|12|11", "|dcredit|-1|15", "|ucredit|-1|16", "|lcredit|-1|17",
                  "|ocredit|-1|18", "|gecoscheck||21", "|dictpath|/usr/share/cracklib/pw_dict|24",
                  "|retry|3|27", "|enforce_for_root||29"}));
}

TEST(ConfigEntriesTable, Faillock) {
  EXPECT_EQ(Entries("/etc/security/faillock.conf"),
            (Rows{"|audit||10", "|silent||14", "|deny|5|19", "|fail_interval|900|25",
                  "|unlock_time|0|32", "|even_deny_root||36", "|root_unlock_time|900|37"}));
}

TEST(ConfigEntriesTable, JournaldIniSections) {
  EXPECT_EQ(
      Entries("/etc/systemd/journald.conf"),
      (Rows{"Journal|Storage|persistent|18", "Journal|Compress|yes|19",
            "Journal|SystemMaxUse|2G|22", "Journal|ForwardToSyslog|yes|23",
            "Journal|MaxRetentionSec|1year|25", "Upload|URL|https://logs.plant.example:19532|28"}));
}

TEST(ConfigEntriesTable, ChronyKeepsRepeatedKeys) {
  EXPECT_EQ(
      Entries("/etc/chrony/chrony.conf"),
      (Rows{"|confdir|/etc/chrony/conf.d|5", "|server|10.20.0.1 iburst prefer|8",
            "|server|10.20.0.2 iburst|9", "|pool|2.debian.pool.ntp.org iburst maxsources 2|10",
            "|refclock|SHM 0 refid GPS precision 1e-1 offset 0.0 delay 0.2|11",
            "|sourcedir|/run/chrony-dhcp|14", "|keyfile|/etc/chrony/chrony.keys|18",
            "|driftfile|/var/lib/chrony/chrony.drift|22", "|maxupdateskew|100.0|25", "|rtcsync||29",
            "|makestep|1 3|33"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM config_entries WHERE path = '/etc/chrony/chrony.conf' "
                  "AND key IN ('server', 'pool')"),
            Rows{"3"});
}

TEST(ConfigEntriesTable, DefaultUseraddShellVariables) {
  EXPECT_EQ(Entries("/etc/default/useradd"),
            (Rows{"|SHELL|/bin/bash|8", "|INACTIVE|35|24", "|SKEL|/etc/skel|32",
                  "|CREATE_MAIL_SPOOL|no|36"}));
}

// auditd.conf is "name = value" throughout; every setting line of the fixture (whatever it
// holds) must come back with the text around its '='.
TEST(ConfigEntriesTable, AuditdConfEveryLine) {
  std::ifstream in(FixtureRoot("debian12") + "/etc/audit/auditd.conf");
  ASSERT_TRUE(in.good());
  Rows expected;
  int number = 0;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    return s;
  };
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    size_t eq = text.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    expected.push_back(trim(text.substr(0, eq)) + "|" + trim(text.substr(eq + 1)) + "|" +
                       std::to_string(number));
  }
  ASSERT_GT(expected.size(), 10u);
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT key, value, line FROM config_entries "
                  "WHERE path = '/etc/audit/auditd.conf'"),
            expected);
}

TEST(ConfigEntriesTable, PathPatternsAndDirectory) {
  TempDir root;
  root.WriteFile("etc/app/a.conf", "x = 1\n");
  root.WriteFile("etc/app/b.conf", "[s]\ny = 2\n");
  root.WriteFile("etc/app/notes.txt", "z 3\n");
  root.MakeDir("etc/app/sub.conf");  // a directory: no rows
  const char* expected_all[] = {"/etc/app/a.conf||x|1", "/etc/app/b.conf|s|y|2"};
  for (const char* where : {"path LIKE '/etc/app/%.conf'", "path GLOB '/etc/app/*.conf'",
                            "path IN ('/etc/app/a.conf', '/etc/app/b.conf', '/etc/app/no')"}) {
    EXPECT_EQ(Query(root.path(), std::string("SELECT path, section, key, value FROM "
                                             "config_entries WHERE ") +
                                     where),
              Rows(std::begin(expected_all), std::end(expected_all)))
        << where;
  }
  EXPECT_EQ(Query(root.path(), "SELECT path, key FROM config_entries WHERE directory = '/etc/app'"),
            (Rows{"/etc/app/a.conf|x", "/etc/app/b.conf|y", "/etc/app/notes.txt|z"}));
}

TEST(ConfigEntriesTable, SplitRulesQuotesCommentsContinuations) {
  TempDir root;
  root.WriteFile("etc/x.conf",
                 "key: value\n"
                 "a b=c d\n"
                 "url=http://h/?q=1#frag\n"
                 "name = 'quoted value'   # trailing comment\n"
                 "  ;indented ini comment\n"
                 "list = one \\\n"
                 "       two\n"
                 "empty =\n"
                 "[ Section Two ]\n"
                 "k=v\r\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT section, key, value, line FROM config_entries "
                  "WHERE path = '/etc/x.conf'"),
            (Rows{"|key:|value|1", "|a|b=c d|2", "|url|http://h/?q=1#frag|3",
                  "|name|quoted value|4", "|list|one two|6", "|empty||8", "Section Two|k|v|10"}));
}

TEST(ConfigEntriesTable, MalformedLinesAndFilesAreWarned) {
  TempDir root;
  root.WriteFile("etc/bad.conf", "= no key\n[unclosed\nok = 1\n");
  root.WriteFile("etc/binary.conf", std::string("a = 1\0b = 2\n", 12));
  Rows warnings;
  EXPECT_EQ(Query(root.path(),
                  "SELECT path, key, value FROM config_entries WHERE path IN "
                  "('/etc/bad.conf', '/etc/binary.conf', '/etc/missing.conf')",
                  &warnings),
            Rows{"/etc/bad.conf|ok|1"});
  EXPECT_EQ(warnings,
            (Rows{"config_entries: /etc/bad.conf:1: no key before '='",
                  "config_entries: /etc/bad.conf:2: section header without ']'",
                  "config_entries: /etc/binary.conf: binary file (contains NUL bytes), skipped"}));
}

TEST(ConfigEntriesTable, NeedsAPath) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM config_entries");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("path"), std::string::npos) << result.status().message();
}

// useradd reads /etc/default/useradd itself; `useradd -D` prints what it read. It keeps
// quotes as part of the value, where the table removes one pair.
TEST(ConfigEntriesTable, UseraddReadsTheSameValues) {
  if (!HaveCommand("useradd") || geteuid() != 0) GTEST_SKIP() << "needs root and useradd";
  TempDir root;
  std::ifstream in(FixtureRoot("debian12") + "/etc/default/useradd");
  std::stringstream text;
  text << in.rdbuf();
  root.WriteFile("etc/default/useradd", text.str());
  root.WriteFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  root.WriteFile("etc/group", "root:x:0:\n");
  std::map<std::string, std::string> printed;
  std::istringstream lines(CommandOutput("useradd -D -R " + root.path()));
  for (std::string line; std::getline(lines, line);) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) printed[line.substr(0, eq)] = line.substr(eq + 1);
  }
  Rows rows = Query(root.path(),
                    "SELECT key, value FROM config_entries "
                    "WHERE path = '/etc/default/useradd'");
  ASSERT_EQ(rows.size(), 4u);
  for (const std::string& row : rows) {
    const std::string key = row.substr(0, row.find('|'));
    std::string value = row.substr(row.find('|') + 1);
    if (key == "SKEL") value = "\"" + value + "\"";  // written quoted in the file
    EXPECT_EQ(printed[key], value) << key;
  }
}

}  // namespace
}  // namespace vigil::tables
