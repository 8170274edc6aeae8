#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <ctime>
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

// Sets a file's modification time to `age` seconds ago.
void Age(const std::string& path, time_t age) {
  struct timeval times[2] = {};
  times[0].tv_sec = times[1].tv_sec = std::time(nullptr) - age;
  ASSERT_EQ(::utimes(path.c_str(), times), 0) << path;
}

TEST(AideStatusTable, FixtureHasDatabaseAndThreeSchedules) {
  // The timer is enabled, root's crontab runs aide on line 4, and cron.daily has the script.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT config_file, database_path, database_present, scheduled, schedule "
                  "FROM aide_status"),
            Rows{"/etc/aide/aide.conf|/var/lib/aide/aide.db|1|1|dailyaidecheck.timer,"
                 "/var/spool/cron/crontabs/root:4,/etc/cron.daily/aide"});
}

TEST(AideStatusTable, DatabaseAgeIsSecondsSinceModification) {
  struct stat st;
  std::string db = FixtureRoot("debian12") + "/var/lib/aide/aide.db";
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  Rows age = Query(FixtureRoot("debian12"), "SELECT database_age_seconds FROM aide_status");
  ASSERT_EQ(age.size(), 1u);
  long expected = static_cast<long>(std::time(nullptr) - st.st_mtime);
  EXPECT_NEAR(std::stol(age[0]), expected, 5);

  TempDir root;
  root.WriteFile("var/lib/aide/aide.db", "db");
  Age(root.path() + "/var/lib/aide/aide.db", 7200);
  Rows aged = Query(root.path(), "SELECT database_age_seconds FROM aide_status");
  ASSERT_EQ(aged.size(), 1u);
  EXPECT_GE(std::stol(aged[0]), 7200);
  EXPECT_LE(std::stol(aged[0]), 7260);
}

TEST(AideStatusTable, InstalledFromDpkgStatusOrBinary) {
  TempDir root;
  root.WriteFile("var/lib/dpkg/status",
                 "Package: aide\nStatus: deinstall ok config-files\nVersion: 0.18.3-1\n\n"
                 "Package: aide-common\nStatus: install ok installed\nDescription: x\n"
                 " continued description\n\n");
  EXPECT_EQ(Query(root.path(), "SELECT installed FROM aide_status"), Rows{"1"});
  root.WriteFile("var/lib/dpkg/status",
                 "Package: aide\nStatus: install ok not-installed\n\n"
                 "Package: aide-dynamic\nStatus: install ok installed\n");
  EXPECT_EQ(Query(root.path(), "SELECT installed FROM aide_status"), Rows{"0"});
  root.WriteFile("usr/sbin/aide", "");
  EXPECT_EQ(Query(root.path(), "SELECT installed FROM aide_status"), Rows{"1"});
}

TEST(AideStatusTable, DatabaseFromIncludeWithDefines) {
  TempDir root;
  root.WriteFile("etc/aide.conf",
                 "@@define DBDIR /srv/aide\n"
                 "@@define NAME old\n"
                 "@@include /etc/aide/db.conf\n"
                 "/etc R\n");
  root.WriteFile("etc/aide/db.conf", "@@undef NAME\ndatabase=file:@@{DBDIR}/@@{NAME}.db\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT config_file, database_path, database_present, "
                  "database_age_seconds, scheduled, schedule FROM aide_status"),
            Rows{"/etc/aide.conf|/srv/aide/@@{NAME}.db|0|NULL|0|"});
}

TEST(AideStatusTable, NothingInstalled) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM aide_status"),
            Rows{"0|NULL|/var/lib/aide/aide.db|0|NULL|0|"});
}

TEST(AideStatusTable, ScheduleSources) {
  TempDir root;
  // A disabled timer and a non-executable cron.daily script do not schedule anything.
  root.WriteFile("usr/lib/systemd/system/dailyaidecheck.timer",
                 "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n");
  root.WriteFile("etc/cron.daily/aide", "#!/bin/sh\n");
  root.WriteFile("etc/cron.d/aide", "0 3 * * * root /usr/sbin/aidecheck --not-aide\n");
  EXPECT_EQ(Query(root.path(), "SELECT scheduled, schedule FROM aide_status"), Rows{"0|"});
  root.WriteFile("etc/cron.d/aide", "0 3 * * * root nice -n 19 /usr/bin/aide.wrapper --check\n");
  ASSERT_EQ(::chmod((root.path() + "/etc/cron.daily/aide").c_str(), 0755), 0);
  root.Symlink("/usr/lib/systemd/system/dailyaidecheck.timer",
               "run/systemd/system/timers.target.wants/dailyaidecheck.timer");
  EXPECT_EQ(Query(root.path(), "SELECT scheduled, schedule FROM aide_status"),
            Rows{"1|dailyaidecheck.timer,/etc/cron.d/aide:1,/etc/cron.daily/aide"});
}

TEST(AideStatusTable, MachineInstalledMatchesDpkg) {
  if (!HaveCommand("dpkg-query")) GTEST_SKIP() << "dpkg-query is not installed";
  std::string status = CommandOutput(
      "dpkg-query -W -f='${Package} ${Status}\\n' aide aide-common 2>/dev/null || true");
  bool installed = status.find("install ok installed") != std::string::npos ||
                   HaveCommand("/usr/bin/aide") || HaveCommand("/usr/sbin/aide");
  EXPECT_EQ(Query("/", "SELECT installed FROM aide_status"), Rows{installed ? "1" : "0"});
}

}  // namespace
}  // namespace vigil::tables
