#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::FixtureRoot;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (!result.ok()) return {};
  EXPECT_EQ(result->warnings, Rows{}) << sql;
  return RowsAsText(*result);
}

// IEC 62443-3-3 SR 1.12: sshd shows a non-empty notice to every connection.
constexpr std::string_view kSr112Check =
    "SELECT count(*) FROM login_banners WHERE source = 'sshd_banner' AND match = '' "
    "AND has_text = 1";

// The fixture has /etc/issue and /etc/issue.net, no /etc/motd; sshd's global Banner is
// /etc/issue.net and its Match Address block shows /etc/issue instead.
TEST(LoginBannersTable, FixtureBanners) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT source, path, present, bytes, has_text, substr(content, 1, 19), match, "
                  "config_file, config_line FROM login_banners"),
            (Rows{
                "issue|/etc/issue|1|27|1|Debian GNU/Linux 12|NULL|NULL|NULL",
                "issue.net|/etc/issue.net|1|149|1|AUTHORIZED USE ONLY|NULL|NULL|NULL",
                "motd|/etc/motd|0|NULL|NULL|NULL|NULL|NULL|NULL",
                "sshd_banner|/etc/issue.net|1|149|1|AUTHORIZED USE ONLY||/etc/ssh/sshd_config|"
                "53",
                "sshd_banner|/etc/issue|1|27|1|Debian GNU/Linux 12|"
                "Address 10.0.0.0/8,192.168.10.0/24|/etc/ssh/sshd_config|74",
            }));
  EXPECT_EQ(Query(FixtureRoot("debian12"), kSr112Check), Rows{"1"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT content = (SELECT content FROM login_banners WHERE source = "
                  "'issue.net') FROM login_banners WHERE source = 'sshd_banner' AND match = ''"),
            Rows{"1"});
}

TEST(LoginBannersTable, DefaultBannerIsNone) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config", "PermitRootLogin no\n");
  root.WriteFile("etc/motd", "");
  EXPECT_EQ(Query(root.path(),
                  "SELECT source, path, present, bytes, has_text, content, match, config_file "
                  "FROM login_banners WHERE source IN ('motd', 'sshd_banner')"),
            (Rows{"motd|/etc/motd|1|0|0||NULL|NULL", "sshd_banner|NULL|0|NULL|NULL|NULL||NULL"}));
  EXPECT_EQ(Query(root.path(), kSr112Check), Rows{"0"});
}

TEST(LoginBannersTable, BannerPathsAsSshdOpensThem) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config",
                 "Banner etc/banner.txt\n"  // relative: sshd runs in /
                 "Match User vendor\n"
                 "  Banner /etc/ssh\n"  // a directory
                 "Match User ops\n"
                 "  Banner NONE\n");
  root.WriteFile("etc/banner.txt", "   \n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT path, present, bytes, has_text, match, config_line FROM login_banners "
                  "WHERE source = 'sshd_banner'"),
            (Rows{"/etc/banner.txt|1|4|0||1", "/etc/ssh|0|NULL|NULL|User vendor|3",
                  "NULL|0|NULL|NULL|User ops|5"}));
  // A banner of blanks does not pass.
  EXPECT_EQ(Query(root.path(), kSr112Check), Rows{"0"});
}

TEST(LoginBannersTable, WithoutSshdOnlyTheFiles) {
  TempDir root;
  root.WriteFile("etc/issue", "Authorized use only\n");
  EXPECT_EQ(Query(root.path(), "SELECT source, present FROM login_banners"),
            (Rows{"issue|1", "issue.net|0", "motd|0"}));
}

}  // namespace
}  // namespace vigil::tables
