#include <gtest/gtest.h>

#include <algorithm>
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

// The fixture has /etc/apt/sources.list (one-line entries, a cdrom entry, comments, three
// malformed lines) and in sources.list.d: backports.sources, historian.list (options, a flat
// repository), scada-vendor.sources (two URIs x two suites, an inline key, a disabled stanza,
// a stanza without Suites) and historian.list.save, which apt ignores.
TEST(AptSourcesTable, OneRowPerTypeUriAndSuite) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT file, line, type, name, base_uri, suite, entry_components FROM apt_sources"),
      (Rows{
          "/etc/apt/sources.list|4|deb|[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD "
          "Binary-1 with firmware 20240210-11:28] bookworm|cdrom:[Debian GNU/Linux 12.5.0 "
          "_Bookworm_ - Official amd64 DVD Binary-1 with firmware 20240210-11:28]|bookworm|"
          "contrib main",
          "/etc/apt/sources.list|6|deb|deb.debian.org/debian bookworm|"
          "http://deb.debian.org/debian|bookworm|main non-free-firmware",
          "/etc/apt/sources.list|7|deb-src|deb.debian.org/debian bookworm|"
          "http://deb.debian.org/debian|bookworm|main non-free-firmware",
          "/etc/apt/sources.list|9|deb|security.debian.org/debian-security bookworm-security|"
          "http://security.debian.org/debian-security|bookworm-security|main non-free-firmware",
          "/etc/apt/sources.list|10|deb|deb.debian.org/debian bookworm-updates|"
          "http://deb.debian.org/debian|bookworm-updates|main non-free-firmware",
          "/etc/apt/sources.list.d/backports.sources|2|deb|deb.debian.org/debian "
          "bookworm-backports|http://deb.debian.org/debian|bookworm-backports|main",
          "/etc/apt/sources.list.d/backports.sources|2|deb-src|deb.debian.org/debian "
          "bookworm-backports|http://deb.debian.org/debian|bookworm-backports|main",
          "/etc/apt/sources.list.d/historian.list|2|deb|repo.plant.example/historian ./|"
          "http://repo.plant.example/historian|./|",
          "/etc/apt/sources.list.d/scada-vendor.sources|2|deb|mirror1.scada.example/apt stable|"
          "https://mirror1.scada.example/apt|stable|main contrib",
          "/etc/apt/sources.list.d/scada-vendor.sources|2|deb|mirror1.scada.example/apt testing|"
          "https://mirror1.scada.example/apt|testing|main contrib",
          // The password in the URI is masked.
          "/etc/apt/sources.list.d/scada-vendor.sources|2|deb|"
          "plant:***@mirror2.scada.example/apt stable|"
          "https://plant:***@mirror2.scada.example/apt|stable|main contrib",
          "/etc/apt/sources.list.d/scada-vendor.sources|2|deb|"
          "plant:***@mirror2.scada.example/apt testing|"
          "https://plant:***@mirror2.scada.example/apt|testing|main contrib",
          "/etc/apt/sources.list.d/scada-vendor.sources|15|deb|legacy.scada.example/apt buster|"
          "http://legacy.scada.example/apt|buster|main",
      }));
}

TEST(AptSourcesTable, ReleaseColumnsComeFromTheDownloadedReleaseFile) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name, release, version, maintainer, components, architectures "
                  "FROM apt_sources WHERE type = 'deb' AND (file LIKE '%.list' OR name LIKE "
                  "'%backports')"),
            (Rows{
                // Never downloaded: NULL.
                "[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1 with "
                "firmware 20240210-11:28] bookworm|NULL|NULL|NULL|NULL|NULL",
                "deb.debian.org/debian bookworm|bookworm|12.5|Debian|"
                "main contrib non-free-firmware non-free|"
                "all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x",
                "security.debian.org/debian-security bookworm-security|bookworm-security|12|"
                "Debian|updates/main updates/contrib updates/non-free-firmware updates/non-free|"
                "amd64 arm64 armhf i386 ppc64el",
                // A Release file without Version.
                "deb.debian.org/debian bookworm-updates|bookworm-updates||Debian|"
                "main contrib non-free-firmware non-free|"
                "all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x",
                "deb.debian.org/debian bookworm-backports|bookworm-backports||Debian Backports|"
                "main contrib non-free-firmware non-free|"
                "all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x",
                // A flat repository's unsigned Release file.
                "repo.plant.example/historian ./|plant-historian||Plant IT||amd64",
            }));
}

TEST(AptSourcesTable, OptionsSignaturesAndEnabled) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name, entry_architectures, signed_by, trusted, enabled FROM apt_sources "
                  "WHERE type = 'deb' AND file != '/etc/apt/sources.list' ORDER BY name"),
            (Rows{
                "deb.debian.org/debian bookworm-backports|NULL|"
                "/usr/share/keyrings/debian-archive-keyring.gpg|0|1",
                // Enabled: no, and a Signed-By list of fingerprints over two lines.
                "legacy.scada.example/apt buster|NULL|0123456789ABCDEF0123456789ABCDEF01234567 "
                "FEDCBA9876543210FEDCBA9876543210FEDCBA98|0|0",
                "mirror1.scada.example/apt stable|amd64 arm64|inline|0|1",
                "mirror1.scada.example/apt testing|amd64 arm64|inline|0|1",
                "plant:***@mirror2.scada.example/apt stable|amd64 arm64|inline|0|1",
                "plant:***@mirror2.scada.example/apt testing|amd64 arm64|inline|0|1",
                // [ arch=amd64,i386 trusted=yes ]
                "repo.plant.example/historian ./|amd64 i386|NULL|1|1",
            }));
}

TEST(AptSourcesTable, MalformedEntriesAreWarnings) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT count(*) FROM apt_sources");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{"13"});
  EXPECT_EQ(result->warnings,
            (Rows{
                "apt_sources: /etc/apt/sources.list:12: unknown type 'deb-foo', expected deb or "
                "deb-src",
                "apt_sources: /etc/apt/sources.list:13: expected 'deb [options] URI SUITE "
                "[COMPONENT...]'",
                "apt_sources: /etc/apt/sources.list:14: unclosed '['",
                "apt_sources: /etc/apt/sources.list.d/scada-vendor.sources:23: stanza without "
                "Suites",
            }));
}

TEST(AptSourcesTable, Deb822OnlyHostAndMissingFiles) {
  TempDir root;
  root.WriteFile("etc/apt/sources.list.d/debian.sources",
                 "Types: deb\n"
                 "URIs: http://deb.debian.org/debian\n"
                 "Suites: trixie trixie-updates\n"
                 "Components: main\n"
                 "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
                 "\n\n# a comment between stanzas\n\n"
                 "Types: deb\n"
                 "URIs: http://deb.debian.org/debian-security\n"
                 "Suites: trixie-security\n"
                 "Components: main\n"
                 "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
  auto result = RunSql(root.path(), "SELECT name, line, release FROM apt_sources");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), (Rows{"deb.debian.org/debian trixie|1|NULL",
                                       "deb.debian.org/debian trixie-updates|1|NULL",
                                       "deb.debian.org/debian-security trixie-security|10|NULL"}));
  // No /etc/apt/sources.list and no lists directory: nothing to warn about.
  EXPECT_TRUE(result->warnings.empty());
}

// apt's list file names drop the scheme and user, quote characters such as '~' and keep the
// port.
TEST(AptSourcesTable, FindsReleaseFilesUnderAptsQuotedNames) {
  TempDir root;
  root.WriteFile("etc/apt/sources.list",
                 "deb http://mirror:pw@mirror.example:8080/~debian/ stable main\n");
  root.WriteFile("var/lib/apt/lists/mirror.example:8080_%7edebian_dists_stable_Release",
                 "Origin: Mirror\nCodename: bookworm\nVersion: 12.9\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT name, base_uri, release, version, maintainer FROM "
                  "apt_sources"),
            Rows{"mirror:***@mirror.example:8080/~debian stable|"
                 "http://mirror:***@mirror.example:8080/~debian|bookworm|12.9|Mirror"});
}

// This machine: the enabled binary repositories are the ones apt itself builds index targets
// for.
TEST(AptSourcesTable, MatchesAptIndexTargetsOnThisMachine) {
  if (!HaveCommand("apt-get")) GTEST_SKIP() << "apt-get is not installed";
  std::string out = CommandOutput(
      "apt-get indextargets --no-release-info --format '$(REPO_URI)|$(RELEASE)' "
      "'Created-By: Packages' | sed 's#/|#|#' | LC_ALL=C sort -u");
  Rows expected;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) expected.push_back(line);
  Rows actual = Query("/",
                      "SELECT DISTINCT base_uri || '|' || suite FROM apt_sources "
                      "WHERE type = 'deb' AND enabled = 1");
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace vigil::tables
