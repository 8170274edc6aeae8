#include <gtest/gtest.h>
#include <unistd.h>

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

// "name|state" for every unit file systemctl lists, sorted. `root` "" asks about this machine.
Rows SystemctlUnitFiles(const std::string& root, const std::string& suffix = "") {
  std::string command = "systemctl list-unit-files --no-legend --no-pager";
  if (!root.empty()) command += " --root='" + root + "'";
  std::istringstream out(CommandOutput(command));
  Rows rows;
  for (std::string line; std::getline(out, line);) {
    std::istringstream words(line);
    std::string name, state;
    if (!(words >> name >> state)) continue;
    if (suffix.empty() || name.ends_with(suffix)) rows.push_back(name + "|" + state);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

const Rows kFixtureStates = {
    "apt-daily.service|static",
    "apt-daily.timer|enabled",
    "autovt@.service|alias",     // a relative link to getty@.service
    "backup.timer|disabled",     // a local unit with WantedBy=, not linked
    "bluetooth.service|masked",  // /etc link to /dev/null hides the vendor file
    "chrony.service|enabled",
    "chronyd.service|alias",  // Alias= link made by enable
    "clamav-daemon.service|disabled",
    "clamav-freshclam.service|enabled",
    "dailyaidecheck.service|static",
    "dailyaidecheck.timer|enabled",
    "fstrim.timer|enabled",
    "getty@.service|enabled",  // through its instance getty@tty1.service
    "historian-backup.service|static",
    "man-db.timer|masked",
    "nftables.service|enabled",
    "ssh.service|enabled",
    "sshd.service|alias",
    "systemd-journald.service|static",
    "systemd-tmpfiles-clean.timer|static",
    "uuidd.service|indirect",  // only Also=
    "uuidd.socket|disabled",
    "vendor-agent.service|linked",  // /etc link to a file outside the search path
    "x11-common.service|masked",    // vendor link to /dev/null
};

TEST(SystemdUnitsTable, FixtureUnitFileStates) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT id, unit_file_state FROM systemd_units ORDER BY id"),
      kFixtureStates);
}

TEST(SystemdUnitsTable, FixtureStatesMatchSystemctl) {
  if (!HaveCommand("systemctl")) GTEST_SKIP() << "systemctl is not installed";
  EXPECT_EQ(SystemctlUnitFiles(FixtureRoot("debian12")), kFixtureStates);
}

TEST(SystemdUnitsTable, DescriptionUserAndFragmentFollowLinksAndDropins) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT id, description, fragment_path, user, source_path FROM systemd_units "
                  "WHERE id IN ('sshd.service', 'bluetooth.service', 'dailyaidecheck.service', "
                  "'historian-backup.service', 'vendor-agent.service', 'autovt@.service', "
                  "'no-such.service') ORDER BY id"),
            (Rows{
                "autovt@.service|Getty on %I|/usr/lib/systemd/system/getty@.service||",
                "bluetooth.service|NULL||NULL|NULL",
                // The /etc drop-in overrides Description= and User= of the vendor file.
                "dailyaidecheck.service|Daily AIDE check (site policy)|"
                "/usr/lib/systemd/system/dailyaidecheck.service|root|",
                "historian-backup.service|Historian database backup|"
                "/etc/systemd/system/historian-backup.service|backup|",
                "sshd.service|OpenBSD Secure Shell server|/usr/lib/systemd/system/ssh.service||",
                "vendor-agent.service|Vendor monitoring agent|"
                "/opt/vendor/lib/vendor-agent.service||",
            }));
}

TEST(SystemdUnitsTable, LiveColumnsAreNullWithoutARunningSystemd) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT load_state, active_state, sub_state, following, object_path, job_id, "
                  "job_type, job_path FROM systemd_units WHERE id = 'ssh.service'"),
            Rows{"NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL"});
}

TEST(SystemdUnitsTable, IdConstraintAndLike) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT id FROM systemd_units WHERE id LIKE '%.timer' ORDER BY id"),
            (Rows{"apt-daily.timer", "backup.timer", "dailyaidecheck.timer", "fstrim.timer",
                  "man-db.timer", "systemd-tmpfiles-clean.timer"}));
  // Instances have no unit file of their own: listed only by a running manager.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT id FROM systemd_units WHERE id = 'getty@tty1.service'"),
            Rows{});
}

// Runtime, generator and transient directories, empty files, drop-in priorities, Alias=
// enablement, instances and broken lines, compared with systemctl on the same tree.
class SystemdUnitsTree : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string etc = "etc/systemd/system/", run = "run/systemd/system/",
                      lib = "usr/lib/systemd/system/";
    root_.WriteFile(etc + "a.service",
                    "[Unit]\nDescription=A\n[Service]\nExecStart=/bin/true\n"
                    "[Install]\nWantedBy=multi-user.target\n");
    root_.Symlink("/etc/systemd/system/a.service", run + "multi-user.target.wants/a.service");
    root_.WriteFile(lib + "b.service", "[Unit]\nDescription=B\n[Install]\nWantedBy=x.target\n");
    root_.Symlink("/dev/null", run + "b.service");
    root_.WriteFile("run/systemd/generator/srv-data.mount",
                    "[Unit]\nSourcePath=/etc/fstab\nDescription=/srv/data\n"
                    "[Mount]\nWhat=/dev/sdb1\nWhere=/srv/data\n");
    root_.WriteFile("run/systemd/transient/run-u5.service",
                    "[Unit]\nDescription=/bin/sleep 60\n[Service]\nExecStart=/bin/sleep 60\n");
    root_.WriteFile(lib + "empty.service", "");
    root_.WriteFile(lib + "c.service", "[Unit]\nDescription=C\n[Install]\nAlias=c-alias.service\n");
    root_.Symlink("/usr/lib/systemd/system/c.service", etc + "c-alias.service");
    root_.WriteFile(lib + "broken.service",
                    "[Unit]\nDescription=Broken\nthis is not an assignment\n[Service\n"
                    "  ; a comment\nUser=svc\n");
    root_.WriteFile(lib + "d.service", "[Unit]\nDescription=vendor\n[Service]\nUser=vendor\n");
    root_.WriteFile(lib + "d.service.d/10-a.conf", "[Unit]\nDescription=vendor drop-in\n");
    root_.WriteFile(etc + "d.service.d/10-a.conf", "[Unit]\nDescription=admin drop-in\n");
    root_.WriteFile(run + "d.service.d/20-b.conf", "[Service]\nUser=runtime\n");
    root_.WriteFile(lib + "d.service.d/30-off.conf", "[Service]\nUser=hidden\n");
    root_.Symlink("/dev/null", etc + "d.service.d/30-off.conf");
    root_.WriteFile(lib + "worker@.service",
                    "[Unit]\nDescription=Worker %i\n[Install]\nWantedBy=multi-user.target\n");
    root_.Symlink("/usr/lib/systemd/system/worker@.service",
                  etc + "multi-user.target.wants/worker@1.service");
    root_.WriteFile("lib/systemd/system/legacy.service", "[Unit]\nDescription=Legacy\n");
    root_.WriteFile(lib + "e.service", "[Unit]\nDescription=E\n[Install]\nWantedBy=\n");
    root_.WriteFile(lib + "f.service", "[Unit]\nDescription=F\n[Install]\nRequiredBy=x.target\n");
    root_.Symlink("/usr/lib/systemd/system/f.service", etc + "x.target.requires/f.service");
    root_.WriteFile(lib + "g.service", "[Unit]\nDescription=G\\\n  continued\n");
    // A wants link under another name does not enable; an alias link not named in Alias=
    // makes its target indirect.
    root_.WriteFile(lib + "y.service", "[Install]\nWantedBy=multi-user.target\n");
    root_.Symlink("/usr/lib/systemd/system/y.service",
                  etc + "multi-user.target.wants/y-other.service");
    root_.WriteFile(lib + "q.service", "[Install]\nWantedBy=multi-user.target\n");
    root_.Symlink("/usr/lib/systemd/system/q.service", etc + "q-alias.service");
    // [Install] may come from a drop-in.
    root_.WriteFile(lib + "s.service", "[Unit]\nDescription=S\n");
    root_.WriteFile(lib + "s.service.d/install.conf", "[Install]\nWantedBy=multi-user.target\n");
    // Inside the root, /dev/null must exist for systemctl --root as it does on a live system.
    root_.WriteFile("dev/null", "");
  }

  TempDir root_;
};

TEST_F(SystemdUnitsTree, States) {
  EXPECT_EQ(Query(root_.path(), "SELECT id, unit_file_state FROM systemd_units ORDER BY id"),
            (Rows{
                "a.service|enabled-runtime",
                "b.service|masked-runtime",
                "broken.service|bad",  // a malformed section header
                "c-alias.service|alias",
                "c.service|enabled",  // its Alias= link exists
                "d.service|static",
                "e.service|static",  // WantedBy= emptied: no install rules
                "empty.service|masked",
                "f.service|enabled",
                "g.service|static",
                "legacy.service|static",
                "q-alias.service|alias",
                "q.service|indirect",
                "run-u5.service|transient",
                "s.service|disabled",
                "srv-data.mount|generated",
                "worker@.service|indirect",  // an instance other than DefaultInstance=
                "y.service|disabled",
            }));
}

TEST_F(SystemdUnitsTree, StatesMatchSystemctl) {
  if (!HaveCommand("systemctl")) GTEST_SKIP() << "systemctl is not installed";
  EXPECT_EQ(Query(root_.path(), "SELECT id, unit_file_state FROM systemd_units ORDER BY id"),
            SystemctlUnitFiles(root_.path()));
}

TEST_F(SystemdUnitsTree, DropinsByPriorityAndName) {
  auto result = RunSql(root_.path(),
                       "SELECT id, description, user, source_path, fragment_path FROM "
                       "systemd_units WHERE id IN ('d.service', 'srv-data.mount', "
                       "'broken.service', 'g.service', 'legacy.service') ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                // User= follows a malformed header: it is not taken as [Service]'s.
                "broken.service|Broken|||/usr/lib/systemd/system/broken.service",
                // /etc's 10-a.conf hides the vendor one; 30-off.conf is masked.
                "d.service|admin drop-in|runtime||/usr/lib/systemd/system/d.service",
                "g.service|G continued|||/usr/lib/systemd/system/g.service",
                "legacy.service|Legacy|||/lib/systemd/system/legacy.service",
                "srv-data.mount|/srv/data||/etc/fstab|/run/systemd/generator/srv-data.mount",
            }));
  EXPECT_EQ(result->warnings,
            (Rows{
                "systemd_units: /usr/lib/systemd/system/broken.service:3: not a [Section] or "
                "Key=Value line",
                "systemd_units: /usr/lib/systemd/system/broken.service:4: malformed section "
                "header",
            }));
}

TEST(SystemdUnitsTable, DanglingLinkIsBad) {
  TempDir root;
  root.Symlink("/opt/gone/gone.service", "etc/systemd/system/gone.service");
  EXPECT_EQ(Query(root.path(),
                  "SELECT id, unit_file_state, fragment_path, description FROM systemd_units"),
            Rows{"gone.service|bad|NULL|NULL"});
}

TEST(SystemdUnitsTable, MachineStatesMatchSystemctl) {
  if (!HaveCommand("systemctl")) GTEST_SKIP() << "systemctl is not installed";
  Rows expected = SystemctlUnitFiles("");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Query("/",
                  "SELECT id, unit_file_state FROM systemd_units WHERE unit_file_state "
                  "IS NOT NULL ORDER BY id"),
            expected);
}

TEST(SystemdUnitsTable, MachineLiveStateMatchesSystemctl) {
  if (::access("/run/systemd/system", F_OK) != 0 || !HaveCommand("systemctl")) {
    GTEST_SKIP() << "systemd is not running on this machine (no /run/systemd/system): the live "
                    "path is covered by CannedLiveState";
  }
  std::istringstream out(
      CommandOutput("systemctl list-units --all --plain --full --no-legend --no-pager"));
  Rows expected;
  for (std::string line; std::getline(out, line);) {
    std::istringstream words(line);
    std::string unit, load, active, sub;
    if (words >> unit >> load >> active >> sub) {
      expected.push_back(unit + "|" + load + "|" + active + "|" + sub);
    }
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Query("/",
                  "SELECT id, load_state, active_state, sub_state FROM systemd_units "
                  "WHERE load_state IS NOT NULL ORDER BY id"),
            expected);
}

// The live path, with systemctl's output canned: columns padded to a common width, and a JOB
// column because some unit has a job.
TEST(SystemdUnitsTable, CannedLiveState) {
  TempDir tree;
  const std::string lib = "usr/lib/systemd/system/", etc = "etc/systemd/system/";
  tree.MakeDir("run/systemd/system");
  tree.WriteFile(lib + "ssh.service",
                 "[Unit]\nDescription=OpenBSD Secure Shell server\n"
                 "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n");
  tree.Symlink("/usr/lib/systemd/system/ssh.service", etc + "sshd.service");
  tree.Symlink("/usr/lib/systemd/system/ssh.service", etc + "multi-user.target.wants/ssh.service");
  tree.WriteFile(lib + "apt-daily.service", "[Unit]\nDescription=Daily apt download activities\n");
  tree.WriteFile(lib + "bluetooth.service", "[Unit]\nDescription=Bluetooth service\n");
  tree.Symlink("/dev/null", etc + "bluetooth.service");
  tree.WriteFile(lib + "getty@.service",
                 "[Unit]\nDescription=Getty on %I\n[Install]\nWantedBy=getty.target\n");
  tree.Symlink("/usr/lib/systemd/system/getty@.service",
               etc + "getty.target.wants/getty@tty1.service");
  tree.WriteFile(lib + "idle.service", "[Unit]\nDescription=Not loaded\n");
  auto files = Host::Open(tree.path());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  CannedLiveHost host(**files);
  host.outputs["list-units"] = CommandResult{
      0,
      "UNIT               LOAD   ACTIVE   SUB     JOB    DESCRIPTION\n"
      "apt-daily.service  loaded inactive dead    start  Daily apt download activities\n"
      "bluetooth.service  masked inactive dead           bluetooth.service\n"
      "dev-sda1.device    loaded active   plugged        QEMU_HARDDISK 1\n"
      "getty@tty1.service loaded active   running        Getty on tty1\n"
      "ssh.service        loaded active   running reload OpenBSD Secure Shell server\n"
      "\n"
      "LOAD   = Reflects whether the unit definition was properly loaded.\n"
      "5 loaded units listed.\n",
      "",
      {}};
  host.outputs["list-jobs"] = CommandResult{
      0, "15 apt-daily.service start  waiting\n12 ssh.service       reload running\n", "", {}};

  auto result = QueryHost(host,
                          "SELECT id, description, load_state, active_state, sub_state, "
                          "object_path, job_id, job_type, job_path, fragment_path, "
                          "unit_file_state FROM systemd_units ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                "apt-daily.service|Daily apt download activities|loaded|inactive|dead|"
                "/org/freedesktop/systemd1/unit/apt_2ddaily_2eservice|15|start|"
                "/org/freedesktop/systemd1/job/15|/usr/lib/systemd/system/apt-daily.service|"
                "static",
                "bluetooth.service|bluetooth.service|masked|inactive|dead|"
                "/org/freedesktop/systemd1/unit/bluetooth_2eservice|NULL|NULL|NULL||masked",
                "dev-sda1.device|QEMU_HARDDISK 1|loaded|active|plugged|"
                "/org/freedesktop/systemd1/unit/dev_2dsda1_2edevice|NULL|NULL|NULL|NULL|NULL",
                // No DefaultInstance=: the enabled tty1 instance makes the template indirect.
                "getty@.service|Getty on %I|NULL|NULL|NULL|NULL|NULL|NULL|NULL|"
                "/usr/lib/systemd/system/getty@.service|indirect",
                "getty@tty1.service|Getty on %I|loaded|active|running|"
                "/org/freedesktop/systemd1/unit/getty_40tty1_2eservice|NULL|NULL|NULL|"
                "/usr/lib/systemd/system/getty@.service|enabled",
                "idle.service|Not loaded|NULL|inactive|dead|NULL|NULL|NULL|NULL|"
                "/usr/lib/systemd/system/idle.service|static",
                "ssh.service|OpenBSD Secure Shell server|loaded|active|running|"
                "/org/freedesktop/systemd1/unit/ssh_2eservice|12|reload|"
                "/org/freedesktop/systemd1/job/12|/usr/lib/systemd/system/ssh.service|enabled",
                // An alias shows the state of the unit it names.
                "sshd.service|OpenBSD Secure Shell server|loaded|active|running|"
                "/org/freedesktop/systemd1/unit/ssh_2eservice|12|reload|"
                "/org/freedesktop/systemd1/job/12|/usr/lib/systemd/system/ssh.service|alias",
            }));
  ASSERT_EQ(host.calls.size(), 2u);
  EXPECT_EQ(host.calls[0], (Rows{"systemctl", "list-units", "--all", "--plain", "--full",
                                 "--no-pager", "--no-ask-password"}));
}

TEST(SystemdUnitsTable, CannedLiveStateOnlyWhenUsedAndSystemctlFailureIsAWarning) {
  TempDir tree;
  tree.MakeDir("run/systemd/system");
  tree.WriteFile("usr/lib/systemd/system/x.service", "[Unit]\nDescription=X\n");
  auto files = Host::Open(tree.path());
  ASSERT_TRUE(files.ok());
  CannedLiveHost host(**files);
  auto quiet = QueryHost(host, "SELECT id, unit_file_state FROM systemd_units");
  ASSERT_TRUE(quiet.ok()) << quiet.status().ToString();
  EXPECT_EQ(RowsAsText(*quiet), Rows{"x.service|static"});
  EXPECT_TRUE(host.calls.empty());

  host.outputs["list-units"] = CommandResult{1, "", "Failed to connect to bus\n", {}};
  auto failed =
      QueryHost(host, "SELECT id, active_state FROM systemd_units WHERE id = 'x.service'");
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(RowsAsText(*failed), Rows{"x.service|NULL"});
  EXPECT_EQ(failed->warnings,
            Rows{"systemd_units: systemctl list-units --all --plain --full --no-pager "
                 "--no-ask-password -- x.service: exit status 1: Failed to connect to bus"});
}

}  // namespace
}  // namespace vigil::tables
