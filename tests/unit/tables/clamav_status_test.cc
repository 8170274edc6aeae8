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

void Age(const std::string& path, time_t age) {
  struct timeval times[2] = {};
  times[0].tv_sec = times[1].tv_sec = std::time(nullptr) - age;
  ASSERT_EQ(::utimes(path.c_str(), times), 0) << path;
}

TEST(ClamavStatusTable, FixtureSignaturesAndUnits) {
  // freshclam.dat is not a signature database; freshclam is enabled, clamd only installable.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT database_dir, signatures_present, signature_files, freshclam_enabled, "
                  "clamd_enabled FROM clamav_status"),
            Rows{"/var/lib/clamav|1|bytecode.cvd,daily.cld,main.cvd|1|0"});
  struct stat st;
  std::string daily = FixtureRoot("debian12") + "/var/lib/clamav/daily.cld";
  ASSERT_EQ(::stat(daily.c_str(), &st), 0);
  Rows age = Query(FixtureRoot("debian12"), "SELECT signatures_age_seconds FROM clamav_status");
  ASSERT_EQ(age.size(), 1u);
  EXPECT_NEAR(std::stol(age[0]), static_cast<long>(std::time(nullptr) - st.st_mtime), 5);
}

TEST(ClamavStatusTable, NewestDailyDatabaseAndConfiguredDirectory) {
  TempDir root;
  root.WriteFile("etc/clamav/freshclam.conf",
                 "# DatabaseDirectory /wrong\nDatabaseDirectory /var/lib/clamav\n"
                 "DatabaseDirectory \"/srv/clamav\"\n");
  root.WriteFile("srv/clamav/main.cld", "m");
  root.WriteFile("srv/clamav/daily.cvd", "old");
  root.WriteFile("srv/clamav/daily.cld", "new");
  root.MakeDir("srv/clamav/bogus.cvd");  // a directory is not a database
  Age(root.path() + "/srv/clamav/daily.cvd", 90000);
  Age(root.path() + "/srv/clamav/daily.cld", 3600);
  Rows rows = Query(root.path(),
                    "SELECT database_dir, signatures_present, signature_files, "
                    "signatures_age_seconds FROM clamav_status");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].substr(0, rows[0].rfind('|')), "/srv/clamav|1|daily.cld,daily.cvd,main.cld");
  long age = std::stol(rows[0].substr(rows[0].rfind('|') + 1));
  EXPECT_GE(age, 3600);
  EXPECT_LE(age, 3660);
}

TEST(ClamavStatusTable, OnlyMainIsNotEnough) {
  TempDir root;
  root.WriteFile("var/lib/clamav/main.cvd", "m");
  EXPECT_EQ(Query(root.path(), "SELECT * FROM clamav_status"),
            Rows{"0|/var/lib/clamav|0|main.cvd|NULL|NULL|NULL|0|0"});
}

TEST(ClamavStatusTable, InstalledRunningAndEnabled) {
  TempDir root;
  root.WriteFile("var/lib/dpkg/status",
                 "Package: clamav-base\nStatus: install ok installed\n\n"
                 "Package: clamav-daemon\nStatus: install ok installed\n");
  root.WriteFile("proc/10/comm", "clamd\n");
  root.WriteFile("proc/11/comm", "bash\n");
  root.WriteFile("usr/lib/systemd/system/clamav-daemon.service",
                 "[Install]\nWantedBy=multi-user.target\n");
  root.Symlink("/usr/lib/systemd/system/clamav-daemon.service",
               "etc/systemd/system/multi-user.target.wants/clamav-daemon.service");
  root.WriteFile("usr/lib/systemd/system/clamav-freshclam.service",
                 "[Install]\nWantedBy=multi-user.target\n");
  root.Symlink("/dev/null", "etc/systemd/system/clamav-freshclam.service");
  EXPECT_EQ(Query(root.path(),
                  "SELECT installed, freshclam_running, clamd_running, "
                  "freshclam_enabled, clamd_enabled FROM clamav_status"),
            Rows{"1|0|1|0|1"});
}

TEST(ClamavStatusTable, MachineInstalledMatchesDpkg) {
  if (!HaveCommand("dpkg-query")) GTEST_SKIP() << "dpkg-query is not installed";
  std::string status = CommandOutput(
      "dpkg-query -W -f='${Package} ${Status}\\n' clamav clamav-daemon clamav-freshclam "
      "2>/dev/null || true");
  bool installed = status.find("install ok installed") != std::string::npos ||
                   HaveCommand("/usr/bin/clamscan") || HaveCommand("/usr/sbin/clamd") ||
                   HaveCommand("/usr/bin/freshclam");
  EXPECT_EQ(Query("/", "SELECT installed FROM clamav_status"), Rows{installed ? "1" : "0"});
}

}  // namespace
}  // namespace vigil::tables
