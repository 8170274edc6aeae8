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
  if (warnings != nullptr) {
    *warnings = result->warnings;
  } else {
    EXPECT_EQ(result->warnings, Rows{}) << sql;
  }
  return RowsAsText(*result);
}

TEST(AuditConfigTable, ReportsTheEffectiveValueOfEachKey) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT key, value, file, line FROM audit_config ORDER BY line"),
            (Rows{
                "local_events|yes|/etc/audit/auditd.conf|5",
                "write_logs|yes|/etc/audit/auditd.conf|6",
                "log_file|/var/log/audit/audit.log|/etc/audit/auditd.conf|7",
                "log_group|adm|/etc/audit/auditd.conf|8",
                "log_format|ENRICHED|/etc/audit/auditd.conf|9",
                "flush|INCREMENTAL_ASYNC|/etc/audit/auditd.conf|10",
                "freq|50|/etc/audit/auditd.conf|11",
                "num_logs|5|/etc/audit/auditd.conf|13",
                "max_log_file_action|ROTATE|/etc/audit/auditd.conf|14",
                "space_left|75|/etc/audit/auditd.conf|15",
                "space_left_action|SYSLOG|/etc/audit/auditd.conf|16",
                "admin_space_left|50|/etc/audit/auditd.conf|17",
                "admin_space_left_action|SUSPEND|/etc/audit/auditd.conf|18",
                "disk_full_action|SUSPEND|/etc/audit/auditd.conf|19",
                "disk_error_action|SUSPEND|/etc/audit/auditd.conf|20",
                // "max_log_file = 8" on line 12 is overridden by "Max_Log_File = 32".
                "max_log_file|32|/etc/audit/auditd.conf|22",
            }));
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT value FROM audit_config WHERE key = 'max_log_file'"),
      Rows{"32"});
}

TEST(AuditConfigTable, MalformedLinesAreWarnings) {
  TempDir root;
  root.WriteFile("etc/audit/auditd.conf",
                 "  # indented comment\n"
                 "num_logs = 4\n"
                 "no equals sign here\n"
                 "= value without key\n"
                 "NAME_FORMAT =  user \n");
  Rows warnings;
  EXPECT_EQ(
      Query(root.path(), "SELECT key, value, line FROM audit_config ORDER BY line", &warnings),
      (Rows{"num_logs|4|2", "name_format|user|5"}));
  EXPECT_EQ(warnings, (Rows{
                          "audit_config: /etc/audit/auditd.conf:3: expected 'key = value'",
                          "audit_config: /etc/audit/auditd.conf:4: expected 'key = value'",
                      }));
}

TEST(AuditConfigTable, MissingFileMeansNoRowsAndNoWarning) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM audit_config"), Rows{});
}

}  // namespace
}  // namespace vigil::tables
