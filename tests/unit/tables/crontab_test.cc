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
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

// The fixture: /etc/crontab with environment lines, /etc/cron.d (historian.dpkg-old and
// .placeholder are skipped), two user crontabs, and run-parts scripts (old-report is not
// executable; cron.hourly holds only a dot file).
TEST(CrontabTable, FixtureJobsInReadingOrder) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT * FROM crontab"),
      (Rows{
          "|17|*|*|*|*|cd / && run-parts --report /etc/cron.hourly|/etc/crontab|root|5",
          "|25|6|*|*|*|test -x /usr/sbin/anacron || { cd / && run-parts --report "
          "/etc/cron.daily; }|/etc/crontab|root|6",
          "|47|6|*|*|7|test -x /usr/sbin/anacron || { cd / && run-parts --report "
          "/etc/cron.weekly; }|/etc/crontab|root|7",
          "|52|6|1|*|*|test -x /usr/sbin/anacron || { cd / && run-parts --report "
          "/etc/cron.monthly; }|/etc/crontab|root|8",
          "|30|3|*|*|0|test -e /run/systemd/system || SERVICE_MODE=1 "
          "/usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron|/etc/cron.d/e2scrub_all|root|1",
          "|10|3|*|*|*|test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r|"
          "/etc/cron.d/e2scrub_all|root|2",
          "@reboot||||||/opt/historian/bin/resume-export|/etc/cron.d/historian|historian|5",
          "|*/15|*|*|*|*|/opt/historian/bin/export --quiet >/dev/null 2>&1|"
          "/etc/cron.d/historian|historian|6",
          "|0|1|*|jan,jul|sun|/usr/local/sbin/archive-logs --older-than 180d|"
          "/etc/cron.d/historian|root|7",
          // User crontabs: no user field, the owner is the file name; spacing kept.
          "|30|23|*|*|*|/opt/historian/bin/compact   --db main|"
          "/var/spool/cron/crontabs/historian|historian|2",
          "|0|5|*|*|1|/usr/bin/aide --config /etc/aide/aide.conf --check | mail -s \"AIDE "
          "report\" root|/var/spool/cron/crontabs/root|root|4",
          "@weekly||||||/usr/local/sbin/rotate-keys|/var/spool/cron/crontabs/root|root|5",
          "@daily||||||/etc/cron.daily/aide|/etc/cron.daily/aide|root|NULL",
          "@daily||||||/etc/cron.daily/logrotate|/etc/cron.daily/logrotate|root|NULL",
          "@weekly||||||/etc/cron.weekly/man-db|/etc/cron.weekly/man-db|root|NULL",
      }));
}

TEST(CrontabTable, PathConstraintReadsOneFile) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT event, minute, user FROM crontab "
                  "WHERE path = '/etc/cron.d/historian'"),
            (Rows{"@reboot||historian", "|*/15|historian", "|0|root"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT command FROM crontab WHERE path LIKE '/etc/cron.daily/%'"),
            (Rows{"/etc/cron.daily/aide", "/etc/cron.daily/logrotate"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path FROM crontab WHERE path = '/etc/cron.d/historian.dpkg-old'"),
            Rows{});
}

TEST(CrontabTable, AideInCronDaily) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM crontab WHERE event = '@daily' AND command LIKE '%aide%'"),
            Rows{"1"});
}

TEST(CrontabTable, MalformedLinesAreWarnings) {
  TempDir root;
  root.WriteFile("etc/crontab",
                 "MAILTO = \"\"\n"
                 "* * * * root /bin/short\n"   // four schedule fields
                 "@fortnightly root /bin/x\n"  // not a schedule cron knows
                 "0 0 * * * root\n"            // no command
                 "  5 4 * * sun  root   /bin/ok   now  \n");
  root.WriteFile("var/spool/cron/crontabs/alice", "@hourly\n0 9 * * 1-5 /home/alice/run\n");
  root.WriteFile("var/spool/cron/bob", "1 2 3 4 5 /home/bob/rhel-style\n");
  root.WriteFile("etc/cron.d/linked-target", "0 0 1 1 * root /bin/yearly\n");
  root.Symlink("/etc/cron.d/linked-target", "etc/cron.d/linked");
  root.Symlink("/nowhere", "etc/cron.d/dangling");
  root.WriteFile("etc/cron.d/with.dot", "0 0 * * * root /bin/skipped\n");
  auto result = RunSql(root.path(),
                       "SELECT minute, day_of_week, user, command, path, line "
                       "FROM crontab");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), (Rows{
                                     "5|sun|root|/bin/ok   now|/etc/crontab|5",
                                     "0|*|root|/bin/yearly|/etc/cron.d/linked|1",
                                     "0|*|root|/bin/yearly|/etc/cron.d/linked-target|1",
                                     "0|1-5|alice|/home/alice/run|/var/spool/cron/crontabs/alice|2",
                                     "1|5|bob|/home/bob/rhel-style|/var/spool/cron/bob|1",
                                 }));
  EXPECT_EQ(result->warnings,
            (Rows{
                "crontab: /etc/crontab:2: malformed line: expected five schedule fields",
                "crontab: /etc/crontab:3: unknown schedule '@fortnightly'",
                "crontab: /etc/crontab:4: malformed line: missing user or command",
                "crontab: /var/spool/cron/crontabs/alice:1: malformed line: missing command",
            }));
}

TEST(CrontabTable, NoCronFilesNoRows) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM crontab"), Rows{});
}

TEST(CrontabTable, MachineCronDMatchesItsJobLines) {
  if (::access("/etc/cron.d", R_OK) != 0) GTEST_SKIP() << "this machine has no /etc/cron.d";
  // Job lines: not blank, not comments, not NAME=value; files named as cron takes them.
  std::string expected = CommandOutput(
      "for f in /etc/cron.d/*; do case \"${f##*/}\" in *[!A-Za-z0-9_-]*) continue;; esac; "
      "[ -f \"$f\" ] && grep -Ev '^[[:space:]]*(#|$|[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=)' "
      "\"$f\"; done | wc -l");
  EXPECT_EQ(Query("/", "SELECT count(*) FROM crontab WHERE path LIKE '/etc/cron.d/%'"),
            Rows{std::to_string(std::stoi(expected))});
}

}  // namespace
}  // namespace vigil::tables
