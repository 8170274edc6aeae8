#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <utmp.h>

#include <cstring>
#include <ctime>
#include <regex>
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

// One record as login, sshd and systemd write them, in this machine's layout.
std::string Record(short type, pid_t pid, const char* line, const char* id, const char* user,
                   const char* host, int32_t time, const char* addr = nullptr) {
  struct utmp u;
  std::memset(&u, 0, sizeof(u));
  u.ut_type = type;
  u.ut_pid = pid;
  std::strncpy(u.ut_line, line, sizeof(u.ut_line));
  std::strncpy(u.ut_id, id, sizeof(u.ut_id));
  std::strncpy(u.ut_user, user, sizeof(u.ut_user));
  std::strncpy(u.ut_host, host, sizeof(u.ut_host));
  u.ut_tv.tv_sec = time;
  u.ut_session = pid;
  if (addr != nullptr && inet_pton(AF_INET, addr, u.ut_addr_v6) != 1) {
    EXPECT_EQ(inet_pton(AF_INET6, addr, u.ut_addr_v6), 1) << addr;
  }
  return std::string(reinterpret_cast<const char*>(&u), sizeof(u));
}

// A utmp file of a jump host: boot and run-level records, a getty, two SSH logins (IPv4 and
// IPv6), a local console login, and a slot whose session ended.
std::string JumpHostUtmp() {
  return Record(BOOT_TIME, 0, "~", "~~", "reboot", "6.1.0-18-amd64", 1704096000) +
         Record(RUN_LVL, 53, "~", "~~", "runlevel", "6.1.0-18-amd64", 1704096010) +
         Record(LOGIN_PROCESS, 612, "tty2", "tty2", "LOGIN", "", 1704096020) +
         Record(USER_PROCESS, 1234, "pts/0", "ts/0", "historian", "10.20.0.15", 1704099600,
                "10.20.0.15") +
         Record(USER_PROCESS, 1400, "pts/1", "ts/1", "operator", "fd00:10::7", 1704100000,
                "fd00:10::7") +
         Record(USER_PROCESS, 700, "tty1", "tty1", "root", "", 1704101000) +
         Record(DEAD_PROCESS, 1300, "pts/2", "ts/2", "", "", 1704102000);
}

constexpr std::string_view kAll =
    "SELECT type, user, tty, host, time, pid, addr FROM logged_in_users";

TEST(LoggedInUsersTable, EveryRecordOfRunUtmp) {
  TempDir root;
  root.WriteFile("run/utmp", JumpHostUtmp());
  auto result = RunSql(root.path(), kAll);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{"boot_time|reboot|~|6.1.0-18-amd64|1704096000|0|NULL",
                  "runlevel|runlevel|~|6.1.0-18-amd64|1704096010|53|NULL",
                  "login|LOGIN|tty2||1704096020|612|NULL",
                  "user|historian|pts/0|10.20.0.15|1704099600|1234|10.20.0.15",
                  "user|operator|pts/1|fd00:10::7|1704100000|1400|fd00:10::7",
                  "user|root|tty1||1704101000|700|NULL", "dead||pts/2||1704102000|1300|NULL"}));
  EXPECT_EQ(result->warnings, Rows{});
}

TEST(LoggedInUsersTable, TypeAndUserConstraints) {
  TempDir root;
  root.WriteFile("run/utmp", JumpHostUtmp());
  EXPECT_EQ(RowsAsText(*RunSql(root.path(),
                               "SELECT user, host FROM logged_in_users WHERE type = 'user' "
                               "AND host <> '' ORDER BY user")),
            (Rows{"historian|10.20.0.15", "operator|fd00:10::7"}));
  EXPECT_EQ(RowsAsText(*RunSql(root.path(), "SELECT tty FROM logged_in_users WHERE user = 'root'")),
            Rows{"tty1"});
}

TEST(LoggedInUsersTable, FallsBackToVarRunUtmp) {
  TempDir root;
  root.WriteFile("var/run/utmp", Record(USER_PROCESS, 9, "pts/3", "ts/3", "eng", "hmi01", 5));
  EXPECT_EQ(RowsAsText(*RunSql(root.path(), kAll)), Rows{"user|eng|pts/3|hmi01|5|9|NULL"});
}

TEST(LoggedInUsersTable, FullLengthFieldsAndUnknownTypes) {
  TempDir root;
  // Fields that fill their arrays have no terminating NUL.
  std::string user(UT_NAMESIZE, 'u');
  std::string line(UT_LINESIZE, 'l');
  root.WriteFile("run/utmp", Record(USER_PROCESS, 1, line.c_str(), "abcd", user.c_str(), "h", 7) +
                                 Record(42, 2, "x", "x", "y", "z", 8));
  EXPECT_EQ(RowsAsText(*RunSql(root.path(),
                               "SELECT type, length(user), length(tty), pid "
                               "FROM logged_in_users")),
            (Rows{"user|32|32|1", "unknown|1|1|2"}));
}

TEST(LoggedInUsersTable, TruncatedFileKeepsWholeRecordsAndWarns) {
  TempDir root;
  std::string content = JumpHostUtmp();
  content += content.substr(0, 100);  // a writer interrupted mid-record
  root.WriteFile("run/utmp", content);
  auto result = RunSql(root.path(), "SELECT count(*) FROM logged_in_users");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{"7"});
  const size_t size = sizeof(struct utmp);
  EXPECT_EQ(result->warnings, Rows{"logged_in_users: /run/utmp: " + std::to_string(7 * size + 100) +
                                   " bytes is not a whole number of " + std::to_string(size) +
                                   "-byte records; the last 100 bytes are ignored"});
}

TEST(LoggedInUsersTable, NoUtmpNoRowsNoWarning) {
  TempDir root;
  root.MakeDir("run");
  auto result = RunSql(root.path(), kAll);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rows.size(), 0u);
  EXPECT_EQ(result->warnings, Rows{});
}

// The rows of `kAll` as utmpdump(1) describes the same file: every record with its type,
// pid, user, line, host, address and time.
Rows FromUtmpdump(const std::string& file) {
  static const char* const kNames[] = {"empty", "runlevel", "boot_time", "new_time", "old_time",
                                       "init",  "login",    "user",      "dead",     "accounting"};
  Rows rows;
  std::istringstream lines(CommandOutput("TZ=UTC utmpdump '" + file + "' 2>/dev/null"));
  const std::regex field(R"(\[([^\]]*)\])");
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    for (std::sregex_iterator it(line.begin(), line.end(), field), end; it != end; ++it) {
      std::string value = (*it)[1];
      while (!value.empty() && value.back() == ' ') value.pop_back();
      f.push_back(value);
    }
    if (f.size() != 8) continue;
    struct tm tm = {};
    strptime(f[7].c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    const int type = std::stoi(f[0]);
    rows.push_back(std::string(type >= 0 && type < 10 ? kNames[type] : "unknown") + "|" + f[3] +
                   "|" + f[4] + "|" + f[5] + "|" + std::to_string(timegm(&tm)) + "|" +
                   std::to_string(std::stoi(f[1])) + "|" + (f[6] == "0.0.0.0" ? "NULL" : f[6]));
  }
  return rows;
}

TEST(LoggedInUsersTable, MatchesUtmpdump) {
  if (!HaveCommand("utmpdump")) GTEST_SKIP() << "utmpdump (util-linux) is not installed";
  TempDir root;
  root.WriteFile("run/utmp", JumpHostUtmp());
  EXPECT_EQ(RowsAsText(*RunSql(root.path(), kAll)), FromUtmpdump(root.path() + "/run/utmp"));
}

TEST(LoggedInUsersTable, MatchesUtmpdumpOnThisMachine) {
  if (!HaveCommand("utmpdump")) GTEST_SKIP() << "utmpdump (util-linux) is not installed";
  for (const char* path : {"/run/utmp", "/var/run/utmp"}) {
    if (access(path, R_OK) == 0) {
      EXPECT_EQ(RowsAsText(*RunSql("/", kAll)), FromUtmpdump(path));
      return;
    }
  }
  EXPECT_EQ(RowsAsText(*RunSql("/", kAll)), Rows{});  // this machine keeps no utmp
}

}  // namespace
}  // namespace vigil::tables
