#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
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

std::vector<std::string> Warnings(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? result->warnings : std::vector<std::string>{};
}

// A minimal stat line: state, ppid, pgrp, utime, stime, nice, threads and start tick set.
std::string StatLine(std::string_view pid_and_name, std::string_view rest = "S 1 5") {
  return std::string(pid_and_name) + " " + std::string(rest) +
         " 0 0 -1 0 0 0 0 0 100 200 0 0 20 0 1 0 300 0 0\n";
}

class ProcessesTable : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::sysconf(_SC_CLK_TCK) != 100) GTEST_SKIP() << "the fixture's times assume 100 ticks/s";
  }
};

TEST_F(ProcessesTable, ListsEveryFixtureProcessWithEveryColumn) {
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"),
           "SELECT pid, name, path, cmdline, state, cwd, root, uid, gid, euid, egid, suid, sgid, "
           "on_disk, wired_size, resident_size, total_size, user_time, system_time, "
           "disk_bytes_read, disk_bytes_written, start_time, parent, pgroup, threads, nice, "
           "cgroup_path FROM processes"),
      (std::vector<std::string>{
          // The fixture holds no systemd binary, so it is not on disk there.
          "1|systemd|/usr/lib/systemd/systemd|/sbin/init splash|S|/|/|0|0|0|0|0|0|0|0|12582912|"
          "175669248|15000|23000|1073741824|536866816|1700000000|0|1|1|0|/init.scope",
          // A kernel thread: no executable, no arguments, no address space.
          "2|kthreadd|||S|/|/|0|0|0|0|0|0|-1|0|0|0|0|120|0|0|1700000000|0|0|1|0|/",
          // Its binary was replaced by an upgrade: the kernel marks the link "(deleted)".
          "412|sshd|/usr/sbin/sshd|sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups|S|/|"
          "/|0|0|0|0|0|0|0|0|9437184|15917056|120|340|0|0|1700000012|1|412|1|0|"
          "/system.slice/ssh.service",
          // cgroup v1 only: the systemd hierarchy's path.
          "873|historiand|/opt/historian/bin/historiand|/opt/historian/bin/historiand --config "
          "/etc/historian/historian.conf|S|/var/lib/historian|/|1000|1000|1000|1000|1000|1000|1|"
          "67108864|536870912|2147483648|987650|43210|4096000|8192000|1700987654|1|873|12|5|"
          "/system.slice/historian.service",
      }));
}

TEST_F(ProcessesTable, PidConstraintReadsOnlyThoseProcesses) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT pid, name FROM processes WHERE pid = 873"),
            std::vector<std::string>{"873|historiand"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT pid, name FROM processes WHERE pid IN (412, 1, 99999) ORDER BY pid"),
            (std::vector<std::string>{"1|systemd", "412|sshd"}));
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT name FROM processes WHERE pid = '412'"),
            std::vector<std::string>{"sshd"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"), "SELECT name FROM processes WHERE pid > 400"),
            (std::vector<std::string>{"sshd", "historiand"}));
}

TEST_F(ProcessesTable, JoinsListeningPortsToTheirProcess) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT DISTINCT p.name, l.port FROM listening_ports l JOIN processes p "
                 "USING (pid) WHERE l.family = 2 ORDER BY l.port"),
            (std::vector<std::string>{"sshd|22", "historiand|4840", "historiand|47808"}));
}

TEST_F(ProcessesTable, ReadsOnlyTheFilesTheColumnsNeed) {
  TempDir root;
  root.WriteFile("/proc/5/stat", StatLine("5 (lonely)"));  // no status, cmdline, io, exe ...
  EXPECT_EQ(Rows(root.path(),
                 "SELECT pid, name, state, parent, pgroup, user_time, "
                 "system_time, threads, nice FROM processes"),
            std::vector<std::string>{"5|lonely|S|1|5|1000|2000|1|0"});
  // Without /proc/stat the boot time, and with it the start time, is unknown.
  EXPECT_EQ(Rows(root.path(), "SELECT start_time FROM processes"),
            std::vector<std::string>{"NULL"});
  // A status file that is missing means the process has gone: it is left out.
  EXPECT_EQ(Rows(root.path(), "SELECT pid, uid FROM processes"), std::vector<std::string>{});
}

TEST_F(ProcessesTable, NamesWithParenthesesAndMalformedStatLines) {
  TempDir root;
  root.WriteFile("/proc/8/stat", StatLine("8 (a) b (c)", "R 7 8"));
  root.WriteFile("/proc/9/stat", "9 (truncated) S 1\n");
  root.WriteFile("/proc/10/stat", "");
  root.WriteFile("/proc/stat", "cpu 1 2 3\nbtime 1000\n");
  root.MakeDir("/proc/self");  // not a process
  EXPECT_EQ(Rows(root.path(), "SELECT pid, name, state, parent, start_time FROM processes"),
            std::vector<std::string>{"8|a) b (c|R|7|1003"});
  EXPECT_EQ(Warnings(root.path(), "SELECT pid FROM processes"),
            (std::vector<std::string>{"processes: /proc/9/stat: malformed",
                                      "processes: /proc/10/stat: malformed"}));
}

TEST_F(ProcessesTable, RootWithoutProcHasNoProcesses) {
  TempDir root;
  root.MakeDir("/etc");
  EXPECT_EQ(Rows(root.path(), "SELECT count(*) FROM processes"), std::vector<std::string>{"0"});
}

TEST_F(ProcessesTable, MatchesPsForThisProcessAndInit) {
  if (!HaveCommand("ps")) GTEST_SKIP() << "ps is not installed";
  const std::string self = std::to_string(::getpid());
  // ps prints the same 15-character command name the kernel keeps.
  std::istringstream ps(CommandOutput("ps -o pid=,ppid=,uid=,gid=,nlwp=,ni=,comm= -p 1," + self));
  std::vector<std::string> expected;
  for (std::string line; std::getline(ps, line);) {
    std::istringstream fields(line);
    std::string pid, ppid, uid, gid, nlwp, ni, comm;
    fields >> pid >> ppid >> uid >> gid >> nlwp >> ni;
    std::getline(fields >> std::ws, comm);
    if (ni == "-") ni = "0";  // real-time scheduling: ps shows no nice value
    expected.push_back(pid + "|" + ppid + "|" + uid + "|" + gid + "|" + nlwp + "|" + ni + "|" +
                       comm);
  }
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(Rows("/",
                 "SELECT pid, parent, uid, gid, threads, nice, name FROM processes "
                 "WHERE pid IN (1, " +
                     self + ") ORDER BY pid"),
            expected);

  EXPECT_EQ(
      Rows("/", "SELECT path, on_disk FROM processes WHERE pid = " + self),
      std::vector<std::string>{std::filesystem::read_symlink("/proc/self/exe").string() + "|1"});
  // Started when ps says it did, to the second (ps rounds down, so allow one more).
  int64_t elapsed = std::stoll(CommandOutput("ps -o etimes= -p " + self));
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::vector<std::string> start =
      Rows("/", "SELECT start_time FROM processes WHERE pid = " + self);
  ASSERT_EQ(start.size(), 1u);
  EXPECT_NEAR(static_cast<double>(std::stoll(start[0])), static_cast<double>(now - elapsed), 2.0);
}

TEST_F(ProcessesTable, ListsEveryProcessPsListsThatIsStillRunning) {
  if (!HaveCommand("ps")) GTEST_SKIP() << "ps is not installed";
  std::istringstream ps(CommandOutput("ps -e -o pid="));
  std::vector<std::string> listed = Rows("/", "SELECT pid FROM processes");
  std::set<std::string> ours(listed.begin(), listed.end());
  int checked = 0;
  for (std::string pid; ps >> pid;) {
    if (::kill(std::stoi(pid), 0) != 0 && errno == ESRCH) continue;  // exited meanwhile
    EXPECT_TRUE(ours.contains(pid)) << "pid " << pid;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace vigil::tables
