#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <utmp.h>

#include <cstring>
#include <ctime>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::HaveCommand;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

// One wtmp record in this machine's layout.
std::string Record(short type, pid_t pid, const char* line, const char* user, const char* host,
                   int32_t time, const char* addr = nullptr) {
  struct utmp u;
  std::memset(&u, 0, sizeof(u));
  u.ut_type = type;
  u.ut_pid = pid;
  std::strncpy(u.ut_line, line, sizeof(u.ut_line));
  std::strncpy(u.ut_id, line + (std::strlen(line) > 4 ? std::strlen(line) - 4 : 0), 4);
  std::strncpy(u.ut_user, user, sizeof(u.ut_user));
  std::strncpy(u.ut_host, host, sizeof(u.ut_host));
  u.ut_tv.tv_sec = time;
  if (addr != nullptr) {
    EXPECT_EQ(inet_pton(AF_INET, addr, u.ut_addr_v6), 1) << addr;
  }
  return std::string(reinterpret_cast<const char*>(&u), sizeof(u));
}

// A month of an engineering workstation: a boot, a remote maintenance session that ended, a
// console login still open, a shutdown and the next boot.
std::string WorkstationWtmp() {
  return Record(BOOT_TIME, 0, "~", "reboot", "6.1.0-18-amd64", 1704096000) +
         Record(RUN_LVL, 0, "~", "runlevel", "6.1.0-18-amd64", 1704096005) +
         Record(USER_PROCESS, 1234, "pts/0", "vendor", "10.99.1.20", 1704099600, "10.99.1.20") +
         Record(DEAD_PROCESS, 1234, "pts/0", "", "", 1704103200) +
         Record(USER_PROCESS, 800, "tty1", "engineer", "", 1704110400) +
         Record(RUN_LVL, 0, "~", "shutdown", "6.1.0-18-amd64", 1704200000) +
         Record(BOOT_TIME, 0, "~", "reboot", "6.1.0-18-amd64", 1704200100);
}

constexpr std::string_view kAll =
    "SELECT username, tty, pid, type, type_name, time, host, addr FROM last";

TEST(LastTable, LoginsAndLogoutsInFileOrder) {
  TempDir root;
  root.WriteFile("var/log/wtmp", WorkstationWtmp());
  auto result = RunSql(root.path(), kAll);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{"vendor|pts/0|1234|7|user-process|1704099600|10.99.1.20|10.99.1.20",
                  "|pts/0|1234|8|dead-process|1704103200||NULL",
                  "engineer|tty1|800|7|user-process|1704110400||NULL"}));
  EXPECT_EQ(result->warnings, Rows{});
}

TEST(LastTable, TypeConstraintAndSessionJoin) {
  TempDir root;
  root.WriteFile("var/log/wtmp", WorkstationWtmp());
  EXPECT_EQ(RowsAsText(*RunSql(root.path(), "SELECT username FROM last WHERE type = 7")),
            (Rows{"vendor", "engineer"}));
  // Sessions with their duration: a login joined with the logout of the same terminal and pid.
  EXPECT_EQ(RowsAsText(*RunSql(root.path(),
                               "SELECT i.username, o.time - i.time FROM last i JOIN last o "
                               "ON o.tty = i.tty AND o.pid = i.pid AND o.type = 8 "
                               "WHERE i.type = 7")),
            Rows{"vendor|3600"});
}

TEST(LastTable, TruncatedWtmpKeepsWholeRecordsAndWarns) {
  TempDir root;
  root.WriteFile("var/log/wtmp", WorkstationWtmp() + std::string(10, 'x'));
  auto result = RunSql(root.path(), "SELECT count(*) FROM last");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{"3"});
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_NE(result->warnings[0].find("last: /var/log/wtmp: "), std::string::npos);
  EXPECT_NE(result->warnings[0].find("the last 10 bytes are ignored"), std::string::npos);
}

TEST(LastTable, ManyRecordsAcrossReadChunks) {
  TempDir root;
  std::string content;
  for (int i = 0; i < 1000; ++i) {  // 384 kB: many 64 kB reads, records split between them
    content += Record(USER_PROCESS, 1000 + i, "pts/0", "u", "h", 1000000 + i);
  }
  root.WriteFile("var/log/wtmp", content);
  EXPECT_EQ(RowsAsText(*RunSql(root.path(),
                               "SELECT count(*), min(pid), max(pid), "
                               "sum(time - 1000000 = pid - 1000) FROM last")),
            Rows{"1000|1000|1999|1000"});
}

TEST(LastTable, EmptyOrMissingWtmpHasNoRows) {
  TempDir root;
  root.WriteFile("var/log/wtmp", "");
  EXPECT_EQ(RowsAsText(*RunSql(root.path(), "SELECT count(*) FROM last")), Rows{"0"});
  TempDir none;
  none.MakeDir("var/log");
  auto result = RunSql(none.path(), "SELECT count(*) FROM last");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(RowsAsText(*result), Rows{"0"});
  EXPECT_EQ(result->warnings, Rows{});
}

// last(1) of util-linux prints each login of the same file, newest first: user, terminal and
// login time must agree (-R leaves the host out, so an empty host cannot shift the columns).
TEST(LastTable, MatchesLastCommand) {
  if (!HaveCommand("last")) GTEST_SKIP() << "last (util-linux) is not installed";
  TempDir root;
  root.WriteFile("var/log/wtmp", WorkstationWtmp());
  const std::string file = root.path() + "/var/log/wtmp";
  Rows expected;
  std::istringstream lines(CommandOutput("TZ=UTC last --time-format iso -w -R -f '" + file + "'"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string user, tty, time;
    if (!(words >> user >> tty >> time)) continue;  // blank line
    if (user == "reboot" || user == "shutdown" || tty == "begins") continue;
    struct tm tm = {};
    ASSERT_NE(strptime(time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << line;
    expected.insert(expected.begin(), user + "|" + tty + "|" + std::to_string(timegm(&tm)));
  }
  EXPECT_EQ(RowsAsText(*RunSql(root.path(), "SELECT username, tty, time FROM last WHERE type = 7")),
            expected);
}

TEST(LastTable, MatchesLastCommandOnThisMachine) {
  if (!HaveCommand("last")) GTEST_SKIP() << "last (util-linux) is not installed";
  auto result = RunSql("/",
                       "SELECT count(*) FROM last WHERE type = 7 AND username NOT IN "
                       "('reboot', 'shutdown')");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::string out = CommandOutput("last -w -R -f /var/log/wtmp 2>/dev/null || true");
  int logins = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string user, tty;
    if (!(words >> user >> tty) || user == "reboot" || user == "shutdown" || tty == "begins") {
      continue;
    }
    ++logins;
  }
  EXPECT_EQ(RowsAsText(*result), Rows{std::to_string(logins)});
}

}  // namespace
}  // namespace vigil::tables
