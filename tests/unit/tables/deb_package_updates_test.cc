#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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

constexpr std::string_view kLists = "/var/lib/apt/lists/";

// The fixture's lists: bookworm main, bookworm-security (amd64 and i386), bookworm-backports
// (NotAutomatic), a flat repository of the plant's own packages and a compressed
// bookworm-updates list.
TEST(DebPackageUpdatesTable, NewerVersionsFromTheLocalLists) {
  const std::string main =
      std::string(kLists) + "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages";
  const std::string security =
      std::string(kLists) +
      "security.debian.org_debian-security_dists_bookworm-security_main_binary-";
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM deb_package_updates");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                "libc6|amd64|2.36-9+deb12u4|2.36-9+deb12u7|bookworm|0|" + main,
                // Multi-arch: the i386 package takes the i386 list's version.
                "libc6|i386|2.36-9+deb12u4|2.36-9+deb12u8|bookworm-security|1|" + security +
                    "i386_Packages",
                // main and security offer the same version: security is named.
                "openssl|amd64|3.0.11-1~deb12u2|3.0.15-1~deb12u1|bookworm-security|1|" + security +
                    "amd64_Packages",
                "libssl3|amd64|3.0.11-1~deb12u2|3.0.15-1~deb12u1|bookworm-security|1|" + security +
                    "amd64_Packages",
                // security's deb12u4 beats main's deb12u3; backports' 9.7 is NotAutomatic.
                "openssh-server|amd64|1:9.2p1-2+deb12u2|1:9.2p1-2+deb12u4|bookworm-security|1|" +
                    security + "amd64_Packages",
                "bash|amd64|5.2.15-2+b2|5.2.15-2+b7|bookworm|0|" + main,
                // A flat repository: the archive is its Release file's Suite.
                "historian-agent|amd64|3.1.0|3.2.0|plant-historian|0|" + std::string(kLists) +
                    "repo.plant.example_historian_._Packages",
            }));
  EXPECT_EQ(result->warnings,
            (Rows{
                "deb_package_updates: /var/lib/dpkg/status:232: stanza without a Package field",
                "deb_package_updates: /var/lib/dpkg/status:241: not a 'Field: value' line",
                "deb_package_updates: /var/lib/apt/lists/"
                "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages.xz: "
                "compressed package list not read",
                "deb_package_updates: /var/lib/apt/lists/"
                "repo.plant.example_historian_._Packages:16: not a 'Field: value' line",
            }));
}

TEST(DebPackageUpdatesTable, NameConstraintAndSecurityFilter) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT name, candidate_version FROM deb_package_updates "
                  "WHERE name IN ('bash', 'sudo', 'vim-tiny', 'tzdata')"),
            Rows{"bash|5.2.15-2+b7"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT DISTINCT name FROM deb_package_updates WHERE security = 1 "
                  "ORDER BY name"),
            (Rows{"libc6", "libssl3", "openssh-server", "openssl"}));
}

TEST(DebPackageUpdatesTable, NoListsOrNoStatusMeansNoRows) {
  TempDir root;
  root.WriteFile("var/lib/dpkg/status",
                 "Package: bash\nStatus: install ok installed\nArchitecture: amd64\n"
                 "Version: 5.2.15-2+b2\n");
  auto result = RunSql(root.path(), "SELECT * FROM deb_package_updates");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->rows.empty());
  EXPECT_TRUE(result->warnings.empty());

  TempDir empty;
  EXPECT_EQ(Query(empty.path(), "SELECT count(*) FROM deb_package_updates"), Rows{"0"});
}

TEST(DebPackageUpdatesTable, ListsSplitAcrossReadChunks) {
  // Stanzas longer than the host's 64 KiB read size, so fields straddle chunk borders.
  TempDir root;
  root.WriteFile("var/lib/dpkg/status",
                 "Package: big\nStatus: install ok installed\nArchitecture: amd64\n"
                 "Version: 1.0-1\n\n"
                 "Package: small\nStatus: install ok installed\nArchitecture: amd64\n"
                 "Version: 2.0-1\n");
  std::string packages;
  for (int i = 0; i < 200; ++i) {
    packages += "Package: other" + std::to_string(i) + "\nVersion: 9\nArchitecture: amd64\n";
    packages += "Description: filler\n" + std::string(2000, ' ') + "x\n\n";
  }
  packages += "Package: big\nVersion: 1.0-2\nArchitecture: amd64\n\n";
  packages += "Package: small\nArchitecture: amd64\nVersion: 2.0-1~bpo1\n\n";
  packages += "Package: small\nArchitecture: arm64\nVersion: 3.0-1\n";
  root.WriteFile("var/lib/apt/lists/mirror.example_debian_dists_stable_main_binary-amd64_Packages",
                 packages);
  EXPECT_EQ(Query(root.path(),
                  "SELECT name, candidate_version, archive, security FROM "
                  "deb_package_updates"),
            Rows{"big|1.0-2|stable|0"});
}

// At this machine's scale: every installed package offered at a higher epoch in one list.
TEST(DebPackageUpdatesTable, EveryInstalledPackageOfThisMachine) {
  if (!HaveCommand("dpkg-query")) GTEST_SKIP() << "dpkg-query is not installed";
  TempDir root;
  root.WriteFile("var/lib/dpkg/status", CommandOutput("cat /var/lib/dpkg/status"));
  root.WriteFile(
      "var/lib/apt/lists/mirror.example_debian_dists_bookworm-security_main_binary-amd64_Packages",
      CommandOutput("dpkg-query -W -f='Package: ${Package}\\nVersion: 99:${Version}\\n"
                    "Architecture: ${Architecture}\\n\\n'"));
  Rows expected = Lines(CommandOutput(
      "dpkg-query -W -f='${db:Status-Status} ${Package}|${Architecture}|99:${Version}\\n' | "
      "grep -v -e '^config-files ' -e '^not-installed ' | cut -d' ' -f2- | LC_ALL=C sort"));
  Rows actual = Query(root.path(),
                      "SELECT name, arch, candidate_version FROM deb_package_updates "
                      "WHERE security = 1 AND archive = 'bookworm-security'");
  std::sort(actual.begin(), actual.end());
  ASSERT_GT(expected.size(), 50u);
  EXPECT_EQ(actual, expected);
}

// This machine's own lists: each compressed one is named in a warning, and every row comes
// from a plain list.
TEST(DebPackageUpdatesTable, CompressedListsOfThisMachineAreNamed) {
  std::error_code ec;
  if (!std::filesystem::is_directory("/var/lib/apt/lists", ec)) {
    GTEST_SKIP() << "no /var/lib/apt/lists on this machine";
  }
  Rows compressed;
  for (const auto& entry : std::filesystem::directory_iterator("/var/lib/apt/lists")) {
    std::string name = entry.path().filename().string();
    size_t at = name.rfind("_Packages.");
    if (at != std::string::npos && name.find('_', at + 1) == std::string::npos) {
      compressed.push_back("deb_package_updates: " + entry.path().string() +
                           ": compressed package list not read");
    }
  }
  std::sort(compressed.begin(), compressed.end());
  auto result = RunSql("/", "SELECT list_file FROM deb_package_updates");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  Rows warnings;
  for (const std::string& w : result->warnings) {
    if (w.ends_with(": compressed package list not read")) warnings.push_back(w);
  }
  EXPECT_EQ(warnings, compressed);
  for (const std::string& file : RowsAsText(*result)) {
    EXPECT_TRUE(file.ends_with("_Packages")) << file;
  }
}

}  // namespace
}  // namespace vigil::tables
