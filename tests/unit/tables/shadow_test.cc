#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tables/builtin.h"
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

constexpr std::string_view kColumns =
    "username, password_status, hash_alg, hash_scheme, last_change, min, max, warning, "
    "inactive, expire, flag";

// The fixture's /etc/shadow holds one account of each kind, a malformed line (16) and a line
// with a word where a number belongs (17).
TEST(ShadowTable, EveryKindOfPasswordField) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT " + std::string(kColumns) + " FROM shadow");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                "root|active|6|sha512|19750|0|99999|7|NULL|NULL|NULL",
                "daemon|locked|NULL|NULL|19750|0|99999|7|NULL|NULL|NULL",
                "bin|locked|NULL|NULL|19750|0|99999|7|NULL|NULL|NULL",
                "sys|locked|NULL|NULL|19750|0|99999|7|NULL|NULL|NULL",
                "sync|locked|NULL|NULL|19750|0|99999|7|NULL|NULL|NULL",
                "www-data|locked|NULL|NULL|19750|0|99999|7|NULL|NULL|NULL",
                "nobody|locked|NULL|NULL|19750|0|99999|7|NULL|NULL|NULL",
                "_chrony|locked|NULL|NULL|19751|NULL|NULL|NULL|NULL|NULL|NULL",
                "sshd|locked|NULL|NULL|19751|NULL|NULL|NULL|NULL|NULL|NULL",
                "historian|active|y|yescrypt|19800|1|90|14|30|20500|NULL",
                "operator|empty|NULL|NULL|19802|0|99999|7|NULL|NULL|NULL",
                "legacy|active|1|md5|18000|0|99999|7|NULL|NULL|NULL",
                "oldunix|active|NULL|des|15000|NULL|NULL|NULL|NULL|NULL|NULL",
                // Locked with `usermod -L`: the hash behind the '!' still names its method.
                "locked|locked|6|sha512|19790|0|99999|7|NULL|19795|NULL",
                "newacct|not_set|NULL|NULL|19810|0|99999|7|NULL|NULL|NULL",
                // The old two-field form: no ageing at all.
                "ancient|locked|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL",
            }));
  EXPECT_EQ(result->warnings,
            (Rows{"shadow: /etc/shadow:16: malformed line, 1 fields (expected 9 with a name)",
                  "shadow: /etc/shadow:17: field min is not a number"}));
}

TEST(ShadowTable, NeverReturnsTheHash) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM shadow");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows.size(), 16u);
  for (const Row& row : result->rows) {
    for (const Value& cell : row) {
      const std::string text = cell.ToString();
      EXPECT_EQ(text.find('$'), std::string::npos) << text;
      EXPECT_EQ(text.find("Kp0rT7xQ"), std::string::npos) << text;   // the root hash's salt
      EXPECT_EQ(text.find("abJnggxhB"), std::string::npos) << text;  // the DES hash
    }
  }
  for (const std::string& warning : result->warnings) {
    EXPECT_EQ(warning.find('$'), std::string::npos) << warning;
  }
}

TEST(ShadowTable, UsernameConstraintAndEmptyPasswordCheck) {
  EXPECT_EQ(RowsAsText(*RunSql(FixtureRoot("debian12"),
                               "SELECT password_status, max FROM shadow WHERE username = 'root'")),
            Rows{"active|99999"});
  // The SR 1.1 evidence query: accounts that log in without a password.
  EXPECT_EQ(RowsAsText(*RunSql(FixtureRoot("debian12"),
                               "SELECT username FROM shadow WHERE password_status = 'empty'")),
            Rows{"operator"});
  EXPECT_EQ(RowsAsText(*RunSql(FixtureRoot("debian12"),
                               "SELECT username FROM shadow WHERE hash_scheme IN ('des', 'md5') "
                               "ORDER BY username")),
            (Rows{"legacy", "oldunix"}));
}

TEST(ShadowTable, UnusualHashesAndMissingFile) {
  TempDir root;
  root.WriteFile("etc/shadow",
                 "bcrypt:$2b$12$abcdefghijklmnopqrstuu5Zr1aGyBvzLu3JzH9qzUeGTnQK9q1i:19000::::::\n"
                 "gost:$gy$j9T$salt$hash:19000::::::\n"
                 "future:$99$x$y:19000::::::\n"
                 "weird:LK:19000::::::\n"
                 "star:*LK*$6$abc$def:19000::::::\n");
  EXPECT_EQ(
      RowsAsText(*RunSql(root.path(),
                         "SELECT username, password_status, hash_alg, hash_scheme FROM shadow")),
      (Rows{"bcrypt|active|2b|bcrypt", "gost|active|gy|gost-yescrypt", "future|active|99|unknown",
            "weird|active|NULL|unknown", "star|locked|NULL|NULL"}));
  TempDir empty;
  empty.MakeDir("etc");
  auto result = RunSql(empty.path(), "SELECT * FROM shadow");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rows.size(), 0u);
  EXPECT_EQ(result->warnings, Rows{});
}

// A Host whose /etc/shadow cannot be opened, as for a process that is not root.
class NoShadowPermissionHost final : public Host {
 public:
  explicit NoShadowPermissionHost(std::string root) : Host(std::move(root)) {}
  Result<std::string> ReadFile(std::string_view path,
                               size_t max_bytes = kDefaultMaxRead) const override {
    if (path == "/etc/shadow")
      return Status::PermissionDenied("open /etc/shadow: Permission denied");
    return Host::ReadFile(path, max_bytes);
  }
};

TEST(ShadowTable, UnreadableShadowIsAWarningAndNoRows) {
  NoShadowPermissionHost host(FixtureRoot("debian12"));
  TableRegistry registry;
  ASSERT_TRUE(RegisterBuiltinTables(registry).ok());
  auto db = Database::Open(registry, host);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto result = (*db)->Query("SELECT username FROM shadow");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows.size(), 0u);
  EXPECT_EQ(result->warnings, Rows{"shadow: open /etc/shadow: Permission denied"});
}

// What `getent shadow` lists on this machine, reduced to the columns the table reports.
TEST(ShadowTable, MatchesGetentShadowOnThisMachine) {
  if (::geteuid() != 0) {
    auto result = RunSql("/", "SELECT * FROM shadow");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->rows.size(), 0u);
    EXPECT_EQ(result->warnings.size(), 1u);
    return;
  }
  if (!HaveCommand("getent")) GTEST_SKIP() << "getent is not installed";
  Rows expected;
  std::istringstream lines(CommandOutput("getent shadow"));
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, ':');) f.push_back(field);
    f.resize(9);  // getline drops trailing empty fields
    const std::string& password = f[1];
    std::string status = password.empty()                           ? "empty"
                         : password == "!!"                         ? "not_set"
                         : password[0] == '!' || password[0] == '*' ? "locked"
                                                                    : "active";
    std::string row = f[0] + "|" + status;
    for (int i = 2; i < 9; ++i) row += "|" + (f[i].empty() ? std::string("NULL") : f[i]);
    expected.push_back(row);
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(RowsAsText(*RunSql("/",
                               "SELECT username, password_status, last_change, min, max, "
                               "warning, inactive, expire, flag FROM shadow")),
            expected);
}

}  // namespace
}  // namespace vigil::tables
