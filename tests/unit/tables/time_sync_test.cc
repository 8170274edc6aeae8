#include <gtest/gtest.h>
#include <sys/timex.h>

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

constexpr std::string_view kColumns =
    "SELECT service, unit, service_enabled, service_running, sources, source_count, "
    "config_file, installed_services, synchronized, offset_seconds, max_error_seconds "
    "FROM time_sync";

const std::string kLib = "usr/lib/systemd/system/";

TEST(TimeSyncTable, FixtureRunsChrony) {
  // The fixture's chrony.conf: two servers and a pool; its refclock is not a network source,
  // its confdir and sourcedir do not exist.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT service, unit, service_enabled, sources, source_count, config_file, "
                  "installed_services, synchronized, offset_seconds, max_error_seconds "
                  "FROM time_sync"),
            Rows{"chrony|chrony.service|1|10.20.0.1,10.20.0.2,2.debian.pool.ntp.org|3|"
                 "/etc/chrony/chrony.conf|chrony|NULL|NULL|NULL"});
}

TEST(TimeSyncTable, ChronyIncludesConfdirsAndSourcedirs) {
  TempDir root;
  root.WriteFile("etc/chrony/chrony.conf",
                 "! old-style comment\n"
                 "; another\n"
                 "% and another\n"
                 "server ntp1.plant.example iburst\n"
                 "  pool pool.ntp.org iburst\n"
                 "include /etc/chrony/extra/*.conf\n"
                 "confdir /etc/chrony/conf.d /usr/lib/chrony/conf.d\n"
                 "sourcedir /etc/chrony/sources.d\n"
                 "SERVER ntp1.plant.example\n");
  root.WriteFile("etc/chrony/extra/a.conf", "peer 10.0.0.5\n");
  root.WriteFile("etc/chrony/conf.d/10-site.conf", "server 10.0.0.1 prefer\n");
  root.WriteFile("usr/lib/chrony/conf.d/10-site.conf", "server hidden.example\n");
  root.WriteFile("usr/lib/chrony/conf.d/20-vendor.conf", "pool vendor.pool.example\n");
  root.WriteFile("etc/chrony/sources.d/dhcp.sources", "server 192.168.1.1 iburst\n");
  root.WriteFile("etc/chrony/sources.d/ignored.conf", "server ignored.example\n");
  root.WriteFile(kLib + "chrony.service", "[Install]\nWantedBy=multi-user.target\n");
  root.WriteFile("proc/100/comm", "chronyd\n");
  root.WriteFile("proc/200/comm", "bash\n");
  EXPECT_EQ(Query(root.path(), kColumns),
            Rows{"chrony|chrony.service|0|1|ntp1.plant.example,pool.ntp.org,10.0.0.5,10.0.0.1,"
                 "vendor.pool.example,192.168.1.1|6|/etc/chrony/chrony.conf|chrony|NULL|NULL|"
                 "NULL"});
}

TEST(TimeSyncTable, ChronyOnRhelLayoutAndIncludeLoop) {
  TempDir root;
  root.WriteFile("etc/chrony.conf", "server a.example\ninclude /etc/chrony.conf\n");
  root.WriteFile(kLib + "chronyd.service", "[Install]\nWantedBy=multi-user.target\n");
  root.Symlink("/usr/lib/systemd/system/chronyd.service",
               "etc/systemd/system/multi-user.target.wants/chronyd.service");
  root.WriteFile("proc/1/comm", "systemd\n");
  auto result = RunSql(root.path(), kColumns);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{"chrony|chronyd.service|1|0|a.example|1|/etc/chrony.conf|"
                                      "chrony|NULL|NULL|NULL"});
  EXPECT_EQ(result->warnings,
            Rows{"time_sync: /etc/chrony.conf: includes nested more than 8 deep"});
}

class TimesyncdTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.WriteFile(kLib + "systemd-timesyncd.service",
                    "[Install]\nWantedBy=sysinit.target\nAlias=dbus-org.freedesktop.timesync1."
                    "service\n");
    root_.Symlink("/usr/lib/systemd/system/systemd-timesyncd.service",
                  "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service");
    root_.WriteFile("proc/1/comm", "systemd\n");
    root_.WriteFile("proc/321/stat", "321 (systemd-timesyn) S 1 321 321 0 -1 4194560\n");
  }
  TempDir root_;
};

TEST_F(TimesyncdTree, DropinsResetAndExtendNtp) {
  root_.WriteFile("etc/systemd/timesyncd.conf",
                  "[Time]\nNTP=a.example b.example\nFallbackNTP=fb.example\n");
  root_.WriteFile("etc/systemd/timesyncd.conf.d/50-site.conf",
                  "[Time]\nNTP=\nNTP=ntp.plant.example\n");
  root_.WriteFile("usr/lib/systemd/timesyncd.conf.d/50-site.conf", "[Time]\nNTP=hidden.example\n");
  root_.WriteFile("run/systemd/timesyncd.conf.d/60-more.conf", "[Time]\nNTP=ntp2.plant.example\n");
  EXPECT_EQ(Query(root_.path(), kColumns),
            Rows{"systemd-timesyncd|systemd-timesyncd.service|1|1|ntp.plant.example,"
                 "ntp2.plant.example|2|/etc/systemd/timesyncd.conf|systemd-timesyncd|NULL|NULL|"
                 "NULL"});
}

TEST_F(TimesyncdTree, FallbackWhenNtpIsEmptyAndNothingWhenNeither) {
  root_.WriteFile("etc/systemd/timesyncd.conf",
                  "[Time]\n#NTP=\nFallbackNTP=fb1.example fb2.example\n");
  EXPECT_EQ(Query(root_.path(), "SELECT sources, source_count FROM time_sync"),
            Rows{"fb1.example,fb2.example|2"});
  root_.WriteFile("etc/systemd/timesyncd.conf", "[Time]\n#NTP=\n#FallbackNTP=\n");
  EXPECT_EQ(Query(root_.path(), "SELECT sources, source_count FROM time_sync"), Rows{"|0"});
}

TEST(TimeSyncTable, NtpsecWithIncludefile) {
  TempDir root;
  root.WriteFile("etc/ntpsec/ntp.conf",
                 "# ntpsec\npool 0.debian.pool.ntp.org iburst\nserver 10.1.1.1\n"
                 "restrict default kod nomodify\nincludefile /etc/ntpsec/site.conf\n");
  root.WriteFile("etc/ntpsec/site.conf", "server 10.1.1.2 prefer\n");
  root.WriteFile(kLib + "ntpsec.service", "[Install]\nWantedBy=multi-user.target\n");
  EXPECT_EQ(Query(root.path(), kColumns),
            Rows{"ntpd|ntpsec.service|0|NULL|0.debian.pool.ntp.org,10.1.1.1,10.1.1.2|3|"
                 "/etc/ntpsec/ntp.conf|ntpd|NULL|NULL|NULL"});
}

TEST(TimeSyncTable, Openntpd) {
  TempDir root;
  root.WriteFile("etc/openntpd/ntpd.conf",
                 "servers pool.ntp.org\nserver \"10.2.2.2\"\nsensor *\nconstraints from "
                 "\"https://www.example.com\"\n");
  root.WriteFile(kLib + "openntpd.service", "[Install]\nWantedBy=multi-user.target\n");
  EXPECT_EQ(Query(root.path(), "SELECT service, unit, sources, config_file FROM time_sync"),
            Rows{"openntpd|openntpd.service|pool.ntp.org,10.2.2.2|/etc/openntpd/ntpd.conf"});
}

TEST(TimeSyncTable, NoClient) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), kColumns), Rows{"none|NULL|NULL|NULL|NULL|0|NULL||NULL|NULL|NULL"});
}

TEST(TimeSyncTable, RunningThenEnabledClientWins) {
  TempDir root;
  root.WriteFile("etc/chrony/chrony.conf", "server c.example\n");
  root.WriteFile(kLib + "chrony.service", "[Install]\nWantedBy=multi-user.target\n");
  root.WriteFile(kLib + "systemd-timesyncd.service", "[Install]\nWantedBy=sysinit.target\n");
  root.Symlink("/usr/lib/systemd/system/systemd-timesyncd.service",
               "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service");
  root.WriteFile("proc/1/comm", "systemd\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT service, service_running, installed_services FROM "
                  "time_sync"),
            Rows{"systemd-timesyncd|0|chrony,systemd-timesyncd"});
  root.WriteFile("proc/77/comm", "chronyd\n");
  EXPECT_EQ(Query(root.path(), "SELECT service, service_enabled, service_running FROM time_sync"),
            Rows{"chrony|0|1"});
  // A masked unit without a configuration file is not an installed client.
  root.Symlink("/dev/null", "etc/systemd/system/ntp.service");
  EXPECT_EQ(Query(root.path(), "SELECT installed_services FROM time_sync"),
            Rows{"chrony,systemd-timesyncd"});
}

TEST(TimeSyncTable, MachineKernelClockMatchesAdjtimex) {
  struct timex tx = {};
  int state = ::adjtimex(&tx);
  ASSERT_GE(state, 0);
  const bool synced = state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  auto result = RunSql("/", "SELECT synchronized, max_error_seconds FROM time_sync");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows.size(), 1u);
  const Row& row = result->rows[0];
  EXPECT_EQ(row[0], Value(synced ? 1 : 0));
  ASSERT_TRUE(row[1].is_real());
  // maxerror grows while the clock is not disciplined; allow for the time between the calls.
  EXPECT_NEAR(row[1].real(), static_cast<double>(tx.maxerror) * 1e-6, 1.0);
}

TEST(TimeSyncTable, MachineServiceEnabledMatchesSystemctl) {
  Rows unit = Query("/", "SELECT unit, service_enabled FROM time_sync");
  ASSERT_EQ(unit.size(), 1u);
  std::string name = unit[0].substr(0, unit[0].find('|'));
  if (name == "NULL" || !HaveCommand("systemctl")) {
    GTEST_SKIP() << "no time synchronization unit on this machine, or no systemctl";
  }
  std::string state = CommandOutput("systemctl is-enabled " + name + " || true");
  bool enabled = state.starts_with("enabled");
  EXPECT_EQ(unit[0], name + "|" + (enabled ? "1" : "0"));
}

}  // namespace
}  // namespace vigil::tables
