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

Rows Query(std::string_view root, std::string_view sql, Rows* warnings = nullptr) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (!result.ok()) return {};
  if (warnings != nullptr) *warnings = result->warnings;
  return RowsAsText(*result);
}

// limits.conf first, then limits.d/*.conf by name (README is not read); types and items are
// lowercased as pam_limits does, and bad lines are skipped with a warning.
TEST(LimitsTable, ReadsLimitsConfThenLimitsD) {
  Rows warnings;
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT domain, type, item, value, file, line FROM limits", &warnings),
            (Rows{
                "*|soft|core|0|/etc/security/limits.conf|6",
                "*|hard|core|0|/etc/security/limits.conf|7",
                "@operators|hard|nproc|200|/etc/security/limits.conf|8",
                "root|-|nofile|65536|/etc/security/limits.conf|9",
                // A comment after the value is dropped.
                "historian|soft|nofile|4096|/etc/security/limits.conf|10",
                "ftp|hard|nproc|0|/etc/security/limits.conf|11",
                "@student|hard|maxlogins|4|/etc/security/limits.conf|13",
                "historian|hard|nofile|8192|/etc/security/limits.d/10-historian.conf|2",
                "historian|soft|nofile|8192|/etc/security/limits.d/10-historian.conf|3",
                "*|soft|nproc|4096|/etc/security/limits.d/90-nproc.conf|1",
                "root|soft|nproc|unlimited|/etc/security/limits.d/90-nproc.conf|2",
            }));
  EXPECT_EQ(warnings,
            (Rows{
                "limits: /etc/security/limits.conf:12: expected 'domain type item value', found "
                "2 fields",
                "limits: /etc/security/limits.d/90-nproc.conf:3: unknown limit item 'warp'",
                "limits: /etc/security/limits.d/90-nproc.conf:4: unknown limit type 'medium'",
            }));
}

TEST(LimitsTable, AnswersTheCoreDumpCheck) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT value FROM limits WHERE domain = '*' AND item = 'core' "
                  "AND type IN ('hard', '-')"),
            Rows{"0"});
}

TEST(LimitsTable, LimitsDAloneAndNoFiles) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM limits"), Rows{});
  root.WriteFile("etc/security/limits.d/b.conf", "@adm hard maxsyslogins 2\n");
  root.WriteFile("etc/security/limits.d/a.conf", "1000: soft nice -5\n");
  root.WriteFile("etc/security/limits.d/.hidden.conf", "* hard core 1\n");
  EXPECT_EQ(Query(root.path(), "SELECT domain, type, item, value, file, line FROM limits"),
            (Rows{
                "1000:|soft|nice|-5|/etc/security/limits.d/a.conf|1",
                "@adm|hard|maxsyslogins|2|/etc/security/limits.d/b.conf|1",
            }));
}

}  // namespace
}  // namespace vigil::tables
