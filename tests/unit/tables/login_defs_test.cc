#include <gtest/gtest.h>
#include <unistd.h>

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
  if (!result.ok()) return {};
  EXPECT_EQ(result->warnings, Rows{}) << sql;
  return RowsAsText(*result);
}

// The fixture repeats PASS_MAX_DAYS, PASS_MIN_DAYS, PASS_WARN_AGE, ENCRYPT_METHOD (quoted) and
// UMASK (with a trailing "# was 022", which the tools keep) at the end; "LOG_OK_LOGINS" alone
// on the last line has no value and is skipped.
TEST(LoginDefsTable, LastAssignmentWins) {
  EXPECT_EQ(Query(FixtureRoot("debian12"), "SELECT key, value, file, line FROM login_defs"),
            (Rows{
                "CHFN_RESTRICT|rwh|/etc/login.defs|33",
                "DEFAULT_HOME|yes|/etc/login.defs|34",
                "ENCRYPT_METHOD|YESCRYPT|/etc/login.defs|43",
                "ENV_PATH|PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games|"
                "/etc/login.defs|17",
                "ENV_SUPATH|PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|"
                "/etc/login.defs|16",
                "FAILLOG_ENAB|yes|/etc/login.defs|8",
                "FTMP_FILE|/var/log/btmp|/etc/login.defs|13",
                "GID_MAX|60000|/etc/login.defs|30",
                "GID_MIN|1000|/etc/login.defs|29",
                "HUSHLOGIN_FILE|.hushlogin|/etc/login.defs|15",
                "LOGIN_RETRIES|5|/etc/login.defs|31",
                "LOGIN_TIMEOUT|60|/etc/login.defs|32",
                "LOG_OK_LOGINS|no|/etc/login.defs|10",
                "LOG_UNKFAIL_ENAB|no|/etc/login.defs|9",
                "MAIL_DIR|/var/mail|/etc/login.defs|7",
                "PASS_MAX_DAYS|90|/etc/login.defs|40",
                "PASS_MIN_DAYS|1|/etc/login.defs|41",
                "PASS_WARN_AGE|14|/etc/login.defs|42",
                "SU_NAME|su|/etc/login.defs|14",
                "SYSLOG_SG_ENAB|yes|/etc/login.defs|12",
                "SYSLOG_SU_ENAB|yes|/etc/login.defs|11",
                "TTYGROUP|tty|/etc/login.defs|18",
                "TTYPERM|0600|/etc/login.defs|19",
                "UID_MAX|60000|/etc/login.defs|28",
                "UID_MIN|1000|/etc/login.defs|27",
                "UMASK|027 # was 022|/etc/login.defs|44",
                "USERGROUPS_ENAB|yes|/etc/login.defs|35",
            }));
}

TEST(LoginDefsTable, KeyConstraintAndCaseSensitiveNames) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT value FROM login_defs WHERE key IN ('PASS_MAX_DAYS', 'pass_min_days')"),
            Rows{"90"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT key FROM login_defs WHERE key = 'PASS_MAX_DAYS' AND "
                  "CAST(value AS INTEGER) > 365"),
            Rows{});
}

TEST(LoginDefsTable, MissingFileNoRowsOddLines) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM login_defs"), Rows{"0"});
  root.WriteFile("etc/login.defs",
                 "\t# indented comment\n"
                 "MAIL_DIR\t\"/var/mail\"trailing\r\n"
                 "EMPTY_QUOTES \"\"\n"
                 "   \n");
  EXPECT_EQ(Query(root.path(), "SELECT key, value, line FROM login_defs"),
            (Rows{"EMPTY_QUOTES||3", "MAIL_DIR|/var/mail|2"}));
}

// useradd reads login.defs through the same code as every shadow tool: with two UID_MIN lines
// the uid it gives a new account shows which one it used.
TEST(LoginDefsTable, LastValueIsTheOneUseraddUses) {
  if (!HaveCommand("useradd") || geteuid() != 0) GTEST_SKIP() << "needs root and useradd";
  TempDir root;
  root.WriteFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  root.WriteFile("etc/group", "root:x:0:\n");
  root.WriteFile("etc/shadow", "root:*:19000:0:99999:7:::\n");
  root.WriteFile("etc/gshadow", "root:*::\n");
  root.WriteFile("etc/login.defs", "UID_MIN 5000\nUID_MIN\t \"6000\"\nUID_MAX 7000\n");
  EXPECT_EQ(Query(root.path(), "SELECT value, line FROM login_defs WHERE key = 'UID_MIN'"),
            Rows{"6000|2"});
  CommandOutput("useradd -R " + root.path() + " -M -N -g 0 probe");
  EXPECT_EQ(Query(root.path(), "SELECT uid FROM users WHERE username = 'probe'"), Rows{"6000"});
}

}  // namespace
}  // namespace vigil::tables
