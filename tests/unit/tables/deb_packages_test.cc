#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
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
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

Rows Lines(const std::string& text) {
  Rows lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The fixture's status file holds 15 stanzas: 13 packages dpkg still records, one purged
// package (not-installed, never listed) and one stanza that lost its Package field.
TEST(DebPackagesTable, ListsEveryRecordedPackageInFileOrder) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name, version, arch, revision, status FROM deb_packages"),
            (Rows{
                // A native package: no revision.
                "base-files|12.4+deb12u5|amd64||install ok installed",
                "libc6|2.36-9+deb12u4|amd64|9+deb12u4|install ok installed",
                "libc6|2.36-9+deb12u4|i386|9+deb12u4|install ok installed",
                "openssl|3.0.11-1~deb12u2|amd64|1~deb12u2|install ok installed",
                "libssl3|3.0.11-1~deb12u2|amd64|1~deb12u2|install ok installed",
                "openssh-server|1:9.2p1-2+deb12u2|amd64|2+deb12u2|install ok installed",
                "sudo|1.9.13p3-1+deb12u1|amd64|1+deb12u1|install ok installed",
                "bash|5.2.15-2+b2|amd64|2+b2|install ok installed",
                "tzdata|2024a-0+deb12u1|all|0+deb12u1|install ok installed",
                "vim-tiny|2:9.0.1378-2|amd64|2|deinstall ok config-files",
                "nftables|1.0.6-2+deb12u2|amd64|2+deb12u2|install ok unpacked",
                "linux-image-6.1.0-18-amd64|6.1.76-1|amd64|1|install ok installed",
                "historian-agent|3.1.0|amd64||install ok installed",
            }));
}

TEST(DebPackagesTable, FieldsAsWrittenAndSourcePackage) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT name, source, size, maintainer, section, priority, admindir, source_name, "
            "source_version FROM deb_packages WHERE name IN ('bash', 'libssl3', 'sudo', "
            "'linux-image-6.1.0-18-amd64', 'historian-agent') ORDER BY name"),
      (Rows{
          // A binNMU: the source version is the one in parentheses.
          "bash|bash (5.2.15-2)|7164|Matthias Klose <doko@debian.org>|shells|required|"
          "/var/lib/dpkg|bash|5.2.15-2",
          // No Priority, Section or Installed-Size: empty text, NULL size.
          "historian-agent||NULL|Plant IT <it@plant.example>|||/var/lib/dpkg|historian-agent|"
          "3.1.0",
          "libssl3|openssl|6142|Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>|"
          "libs|optional|/var/lib/dpkg|openssl|3.0.11-1~deb12u2",
          "linux-image-6.1.0-18-amd64|linux-signed-amd64 (6.1.76+1)|398577|"
          "Debian Kernel Team <debian-kernel@lists.debian.org>|kernel|optional|/var/lib/dpkg|"
          "linux-signed-amd64|6.1.76+1",
          // No Source field: the package is its own source.
          "sudo||6199|Sudo Maintainers <sudo@packages.debian.org>|admin|optional|"
          "/var/lib/dpkg|sudo|1.9.13p3-1+deb12u1",
      }));
}

TEST(DebPackagesTable, WarnsAboutMalformedStanzasAndKeepsTheRest) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT count(*) FROM deb_packages");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{"13"});
  EXPECT_EQ(result->warnings,
            (Rows{
                "deb_packages: /var/lib/dpkg/status:232: stanza without a Package field",
                "deb_packages: /var/lib/dpkg/status:241: not a 'Field: value' line",
            }));
}

TEST(DebPackagesTable, ConfigFilesAndNotInstalledStates) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name FROM deb_packages WHERE status != 'install ok installed' "
                  "ORDER BY name"),
            (Rows{"nftables", "vim-tiny"}));
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT count(*) FROM deb_packages WHERE name = 'telnet'"),
      Rows{"0"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT arch, size FROM deb_packages WHERE name = 'libc6' ORDER BY arch"),
            (Rows{"amd64|12989", "i386|12281"}));
}

TEST(DebPackagesTable, AdmindirConstraintReadsAnotherDatabase) {
  TempDir root;
  root.WriteFile("srv/chroot/var/lib/dpkg/status",
                 "Package: busybox\r\nStatus: install ok installed\r\nArchitecture: armhf\r\n"
                 "Version: 1:1.35.0-4+b3\r\n\r\n"
                 "Package: dropbear\nStatus: install ok half-configured\nArchitecture: armhf\n"
                 "Version: 2022.83-1+deb12u1");  // no final newline
  EXPECT_EQ(Query(root.path(),
                  "SELECT name, version, arch, status, admindir FROM deb_packages "
                  "WHERE admindir = '/srv/chroot/var/lib/dpkg/'"),
            (Rows{
                "busybox|1:1.35.0-4+b3|armhf|install ok installed|/srv/chroot/var/lib/dpkg/",
                "dropbear|2022.83-1+deb12u1|armhf|install ok half-configured|"
                "/srv/chroot/var/lib/dpkg/",
            }));
  // The default admin directory does not exist in this root: no rows, no warning.
  auto result = RunSql(root.path(), "SELECT * FROM deb_packages");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->rows.empty());
  EXPECT_TRUE(result->warnings.empty());
}

TEST(DebPackagesTable, UnreadableStatusIsAWarning) {
  TempDir root;
  root.MakeDir("var/lib/dpkg/status");  // a directory where the file should be
  auto result = RunSql(root.path(), "SELECT name FROM deb_packages");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->rows.empty());
  EXPECT_EQ(result->warnings, Rows{"deb_packages: /var/lib/dpkg/status is a directory"});
}

// Every package dpkg-query lists on this machine, with the same fields.
TEST(DebPackagesTable, MatchesDpkgQueryOnThisMachine) {
  if (!HaveCommand("dpkg-query")) GTEST_SKIP() << "dpkg-query is not installed";
  Rows expected = Lines(CommandOutput(
      "dpkg-query -W -f='${Package}|${Version}|${Architecture}|${Status}|${source:Package}|"
      "${source:Version}|${Installed-Size}|${Section}|${Priority}\\n' | LC_ALL=C sort"));
  Rows actual = Query("/",
                      "SELECT name, version, arch, status, source_name, source_version, "
                      "coalesce(size, ''), section, priority FROM deb_packages");
  std::sort(actual.begin(), actual.end());
  ASSERT_GT(expected.size(), 50u);
  EXPECT_EQ(actual, expected);
}

TEST(DebPackagesTable, NameConstraintOnThisMachine) {
  if (!HaveCommand("dpkg-query")) GTEST_SKIP() << "dpkg-query is not installed";
  EXPECT_EQ(Query("/", "SELECT name || ' ' || version FROM deb_packages WHERE name = 'dpkg'"),
            Lines(CommandOutput("dpkg-query -W -f='${Package} ${Version}\\n' dpkg")));
}

}  // namespace
}  // namespace vigil::tables
