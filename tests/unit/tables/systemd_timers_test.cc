#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"
#include "tests/unit/tables/systemd_live_host.h"

namespace vigil::tables {
namespace {

using vigil::testing::CannedLiveHost;
using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
using vigil::testing::QueryHost;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

TEST(SystemdTimersTable, FixtureTimers) {
  EXPECT_EQ(Query(FixtureRoot("debian12"), "SELECT * FROM systemd_timers ORDER BY id"),
            (Rows{
                "apt-daily.timer|apt-daily.service|*-*-* 6,18:00|NULL|NULL|NULL|NULL|NULL|12h|1|"
                "enabled|/usr/lib/systemd/system/apt-daily.timer|NULL|NULL",
                // Unit= names the service; the drop-in empties OnCalendar= and sets two new ones.
                "backup.timer|historian-backup.service|*-*-* 01:30; *-*-01 04:00|NULL|NULL|NULL|"
                "NULL|NULL|NULL|1|disabled|/etc/systemd/system/backup.timer|NULL|NULL",
                "dailyaidecheck.timer|dailyaidecheck.service|*-*-* 06:30:00|NULL|NULL|NULL|NULL|"
                "NULL|1h|1|enabled|/usr/lib/systemd/system/dailyaidecheck.timer|NULL|NULL",
                "fstrim.timer|fstrim.service|weekly|NULL|NULL|NULL|NULL|NULL|100min|1|enabled|"
                "/usr/lib/systemd/system/fstrim.timer|NULL|NULL",
                "man-db.timer|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|masked||NULL|NULL",
                "systemd-tmpfiles-clean.timer|systemd-tmpfiles-clean.service|NULL|NULL|15min|NULL|"
                "1d|NULL|NULL|0|static|/usr/lib/systemd/system/systemd-tmpfiles-clean.timer|NULL|"
                "NULL",
            }));
}

TEST(SystemdTimersTable, AideCheckScheduledAndBackupTimerExists) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT unit, unit_file_state FROM systemd_timers "
                  "WHERE id = 'dailyaidecheck.timer'"),
            Rows{"dailyaidecheck.service|enabled"});
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT id FROM systemd_timers WHERE unit LIKE '%backup%'"),
      Rows{"backup.timer"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT id FROM systemd_timers WHERE id IN ('ssh.service', 'nosuch.timer')"),
            Rows{});
}

TEST(SystemdTimersTable, TemplateAndBooleanSpellings) {
  TempDir root;
  root.WriteFile("usr/lib/systemd/system/pg_dump@.timer",
                 "[Timer]\nOnCalendar=weekly\nPersistent=no\nPersistent=TRUE\n"
                 "[Install]\nWantedBy=timers.target\n");
  root.WriteFile("usr/lib/systemd/system/once.timer",
                 "[Timer]\nOnActiveSec=30s\nOnStartupSec=1h\nOnUnitInactiveSec=2h\n"
                 "OnBootSec=5min\nOnBootSec=10min\nPersistent=maybe\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT id, unit, on_calendar, on_active_sec, on_boot_sec, on_startup_sec, "
                  "on_unit_inactive_sec, persistent, unit_file_state FROM systemd_timers "
                  "ORDER BY id"),
            (Rows{
                "once.timer|once.service|NULL|30s|5min; 10min|1h|2h|0|static",
                "pg_dump@.timer|pg_dump@.service|weekly|NULL|NULL|NULL|NULL|1|disabled",
            }));
}

TEST(SystemdTimersTable, MachineTimersMatchSystemctl) {
  if (!HaveCommand("systemctl")) GTEST_SKIP() << "systemctl is not installed";
  std::istringstream out(
      CommandOutput("systemctl list-unit-files --type=timer --no-legend --no-pager"));
  Rows expected;
  for (std::string line; std::getline(out, line);) {
    std::istringstream words(line);
    std::string name, state;
    if (words >> name >> state) expected.push_back(name + "|" + state);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Query("/", "SELECT id, unit_file_state FROM systemd_timers ORDER BY id"), expected);
}

TEST(SystemdTimersTable, CannedLiveElapseAndTrigger) {
  TempDir tree;
  tree.MakeDir("run/systemd/system");
  tree.WriteFile("usr/lib/systemd/system/apt-daily.timer", "[Timer]\nOnCalendar=daily\n");
  tree.WriteFile("usr/lib/systemd/system/boot.timer", "[Timer]\nOnBootSec=15min\n");
  tree.WriteFile("usr/lib/systemd/system/old.timer", "[Timer]\nOnCalendar=monthly\n");
  auto files = Host::Open(tree.path());
  ASSERT_TRUE(files.ok());
  CannedLiveHost host(**files);
  // Timer properties come before the unit's Id in systemctl show.
  host.outputs["show"] = CommandResult{0,
                                       "NextElapseUSecRealtime=@1714780800\n"
                                       "LastTriggerUSec=@1714694400\n"
                                       "Id=apt-daily.timer\n"
                                       "\n"
                                       "NextElapseUSecRealtime=n/a\n"
                                       "LastTriggerUSec=n/a\n"
                                       "Id=boot.timer\n"
                                       "\n"
                                       "NextElapseUSecRealtime=Sat 2024-06-01 00:00:00 UTC\n"
                                       "LastTriggerUSec=\n"
                                       "Id=old.timer\n",
                                       "",
                                       {}};
  auto result =
      QueryHost(host, "SELECT id, next_elapse, last_trigger FROM systemd_timers ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), (Rows{"apt-daily.timer|1714780800|1714694400",
                                       "boot.timer|NULL|NULL", "old.timer|1717200000|NULL"}));
  ASSERT_EQ(host.calls.size(), 1u);
  EXPECT_EQ(host.calls[0], (Rows{"systemctl", "show", "--timestamp=unix", "--no-pager",
                                 "--property=Id,NextElapseUSecRealtime,LastTriggerUSec", "--",
                                 "apt-daily.timer", "boot.timer", "old.timer"}));

  // Without the live columns, systemctl is not asked.
  host.calls.clear();
  auto files_only = QueryHost(host, "SELECT count(*) FROM systemd_timers WHERE unit IS NOT NULL");
  ASSERT_TRUE(files_only.ok());
  EXPECT_EQ(RowsAsText(*files_only), Rows{"3"});
  EXPECT_TRUE(host.calls.empty());
}

}  // namespace
}  // namespace vigil::tables
