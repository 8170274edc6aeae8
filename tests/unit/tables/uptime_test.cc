#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

// /proc/uptime of the fixture: "1234567.89 4567890.12" = 14 days, 6:56:07.
TEST(UptimeTable, SplitsTheFixtureUptime) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT days, hours, minutes, seconds, total_seconds FROM uptime"),
            Rows{"14|6|56|7|1234567"});
}

TEST(UptimeTable, ShortUptimeAndNoFraction) {
  TempDir root;
  root.WriteFile("proc/uptime", "59 10\n");
  EXPECT_EQ(Query(root.path(), "SELECT days, hours, minutes, seconds, total_seconds FROM uptime"),
            Rows{"0|0|0|59|59"});
}

TEST(UptimeTable, MalformedFileIsAWarningAndNoRow) {
  TempDir root;
  root.WriteFile("proc/uptime", "-5.00 1.00\n");
  auto result = RunSql(root.path(), "SELECT * FROM uptime");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{});
  EXPECT_EQ(result->warnings,
            Rows{"uptime: /proc/uptime:1: expected seconds since boot (\"12345.67 ...\")"});
}

TEST(UptimeTable, MissingFileIsNoRowAndNoWarning) {
  TempDir root;
  root.MakeDir("proc");
  auto result = RunSql(root.path(), "SELECT * FROM uptime");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{});
  EXPECT_EQ(result->warnings, Rows{});
}

// This machine's uptime lies between two readings of /proc/uptime taken around the query.
TEST(UptimeTable, MatchesProcUptimeOnThisMachine) {
  auto seconds = [] { return std::stoll(CommandOutput("cut -d. -f1 /proc/uptime")); };
  const int64_t before = seconds();
  auto result = RunSql("/",
                       "SELECT total_seconds, days * 86400 + hours * 3600 + minutes * 60 + "
                       "seconds, hours < 24 AND minutes < 60 AND seconds < 60 FROM uptime");
  const int64_t after = seconds();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows.size(), 1u);
  const int64_t total = result->rows[0][0].integer();
  EXPECT_GE(total, before);
  EXPECT_LE(total, after);
  EXPECT_EQ(result->rows[0][1].integer(), total);
  EXPECT_EQ(result->rows[0][2].integer(), 1);
}

}  // namespace
}  // namespace vigil::tables
