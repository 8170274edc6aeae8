// The read-only, bounded SQL surface: what is denied, and how time and size are limited.
#include "engine/sql/database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "engine/host.h"
#include "engine/registry.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterIntrospectionTables(registry_).ok());
    host_ = std::move(Host::Open("/")).value();
    db_ = std::move(Database::Open(registry_, *host_)).value();
  }

  Status Denied(const std::string& sql) {
    auto r = db_->Query(sql);
    EXPECT_FALSE(r.ok()) << sql << " should have been refused";
    return r.ok() ? Status::Ok() : r.status();
  }

  TableRegistry registry_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseTest, AttachIsDeniedAndCreatesNoFile) {
  testing::TempDir dir;
  std::string target = dir.path() + "/x.db";
  Status s = Denied("ATTACH DATABASE '" + target + "' AS x");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("ATTACH is not allowed"), std::string::npos) << s.message();
  EXPECT_NE(::access(target.c_str(), F_OK), 0) << "ATTACH created " << target;
  EXPECT_EQ(Denied("DETACH DATABASE main").code(), StatusCode::kPermissionDenied);
}

TEST_F(DatabaseTest, EveryWriteKindIsDenied) {
  const char* statements[] = {
      "CREATE TABLE t(x)",
      "CREATE TEMP TABLE t(x)",
      "CREATE VIEW v AS SELECT 1",
      "CREATE TEMP VIEW v AS SELECT 1",
      "CREATE INDEX i ON vigil_tables(name)",
      "CREATE TRIGGER tr AFTER INSERT ON vigil_tables BEGIN SELECT 1; END",
      "CREATE VIRTUAL TABLE v USING vigil_tables",
      "DROP TABLE vigil_tables",
      "INSERT INTO vigil_tables(name) VALUES ('x')",
      "UPDATE vigil_tables SET name = 'x'",
      "DELETE FROM vigil_tables",
      "REPLACE INTO vigil_tables(name) VALUES ('x')",
      "ALTER TABLE vigil_tables RENAME TO y",
      "BEGIN",
      "SAVEPOINT s",
      "ANALYZE",
      "REINDEX",
      "VACUUM",
  };
  for (const char* sql : statements) {
    Status s = Denied(sql);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << sql << ": " << s.ToString();
    EXPECT_NE(s.message().find("not allowed"), std::string::npos) << sql << ": " << s.message();
  }
}

TEST_F(DatabaseTest, VacuumIntoWritesNothing) {
  testing::TempDir dir;
  std::string target = dir.path() + "/copy.db";
  EXPECT_FALSE(db_->Query("VACUUM INTO '" + target + "'").ok());
  EXPECT_NE(::access(target.c_str(), F_OK), 0);
}

TEST_F(DatabaseTest, LoadExtensionIsDenied) {
  Status s = Denied("SELECT load_extension('/tmp/evil.so')");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("load_extension"), std::string::npos) << s.message();
}

TEST_F(DatabaseTest, OnlyIntrospectionPragmasAreAllowed) {
  for (const char* sql : {"PRAGMA writable_schema = 1", "PRAGMA journal_mode = WAL",
                          "PRAGMA user_version", "PRAGMA cache_size", "PRAGMA database_list",
                          "SELECT * FROM pragma_database_list"}) {
    Status s = Denied(sql);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << sql << ": " << s.ToString();
  }
  auto info = db_->Query("PRAGMA table_info(vigil_tables)");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows.size(), 4u);
  auto xinfo = db_->Query("SELECT name FROM pragma_table_xinfo('vigil_columns')");
  ASSERT_TRUE(xinfo.ok()) << xinfo.status().ToString();
  EXPECT_EQ(xinfo->rows.size(), 6u);
  auto functions = db_->Query("SELECT count(*) FROM pragma_function_list WHERE name = 'sha256'");
  ASSERT_TRUE(functions.ok()) << functions.status().ToString();
  EXPECT_GE(functions->rows[0][0].integer(), 1);
}

TEST_F(DatabaseTest, TimeoutStopsAnEndlessRecursiveQuery) {
  QueryOptions options;
  options.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = db_->Query(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n",
      options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("time limit of 300 ms"), std::string::npos)
      << r.status().message();
  // Generous: the machine is shared, but an unbounded query would never return.
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  // The connection is usable afterwards with a fresh time limit.
  auto next = db_->Query("SELECT 1");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
}

TEST_F(DatabaseTest, LimitsBoundLengthAndDepth) {
  std::string deep = "SELECT 1";
  for (int i = 0; i < 500; ++i) deep += " + 1";  // a left-deep tree 500 levels deep
  Status s = Denied(deep);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("too large"), std::string::npos) << s.message();

  Status big = Denied("SELECT length(zeroblob(100000000))");
  EXPECT_EQ(big.code(), StatusCode::kResourceExhausted) << big.ToString();

  std::string long_sql = "SELECT '" + std::string(2 << 20, 'x') + "'";
  EXPECT_FALSE(db_->Query(long_sql).ok());
}

TEST_F(DatabaseTest, MaxRowsCapsReturnedRowsButCountsAll) {
  QueryOptions options;
  options.max_rows = 3;
  auto r = db_->Query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) "
                      "SELECT i FROM n",
                      options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->rows_total, 50u);
}

TEST_F(DatabaseTest, OneStatementAtATime) {
  Status s = Denied("SELECT 1; SELECT 2");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("one statement"), std::string::npos);
  EXPECT_TRUE(db_->Query("SELECT 1; -- trailing comment\n").ok());
  EXPECT_EQ(Denied("   ").code(), StatusCode::kInvalidArgument);
}

TEST_F(DatabaseTest, SyntaxErrorsSayWhere) {
  Status s = Denied("SELEC name FROM vigil_tables");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s.message();
  Status unknown = Denied("SELECT nope FROM vigil_tables");
  EXPECT_NE(unknown.message().find("no such column: nope"), std::string::npos);
  Status table = Denied("SELECT * FROM no_such_table");
  EXPECT_NE(table.message().find("no such table: no_such_table"), std::string::npos);
}

TEST_F(DatabaseTest, ParametersAreBoundNotPasted) {
  QueryOptions options;
  options.parameters = {Value("vigil_tables' OR '1'='1"), Value(2)};
  auto r = db_->Query("SELECT count(*), ?2 FROM vigil_tables WHERE name = ?1", options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0][0].integer(), 0);
  EXPECT_EQ(r->rows[0][1].integer(), 2);
}

TEST_F(DatabaseTest, ReadsTypedValues) {
  auto r = db_->Query("SELECT 1, 2.5, 'x', NULL");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns.size(), 4u);
  EXPECT_EQ(r->rows[0][0], Value(1));
  EXPECT_EQ(r->rows[0][1], Value(2.5));
  EXPECT_EQ(r->rows[0][2], Value("x"));
  EXPECT_TRUE(r->rows[0][3].is_null());
}

TEST(StatementTest, Completeness) {
  EXPECT_FALSE(IsCompleteStatement("SELECT 1"));
  EXPECT_TRUE(IsCompleteStatement("SELECT 1;"));
  EXPECT_FALSE(IsCompleteStatement("SELECT ';"));
}

}  // namespace
}  // namespace vigil
