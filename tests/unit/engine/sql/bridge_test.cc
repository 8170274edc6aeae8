// The SQLite bridge, observed through a table that records what each scan was given.
#include "engine/sql/bridge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"

namespace vigil {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

struct Recording {
  std::vector<std::string> constraints;  // QueryContext::Describe() of each generate()
  std::vector<uint64_t> used;            // the used-column mask of each generate()
};

// id INTEGER (index), name TEXT (index), payload TEXT, secret TEXT HIDDEN: ten rows, id 1..10.
class RecordingTable final : public Table {
 public:
  enum Col { kId, kName, kPayload, kSecret, kColumnCount };

  explicit RecordingTable(Recording& log) : log_(log) {}
  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    log_.constraints.push_back(ctx.Describe());
    log_.used.push_back(ctx.used_columns());
    std::vector<Row> rows;
    for (int i = 1; i <= 10; ++i) {
      Row row(kColumnCount);
      row[kId] = i;
      row[kName] = "n" + std::to_string(i);
      if (ctx.IsUsed(kPayload)) row[kPayload] = std::string(3, static_cast<char>('a' + i - 1));
      row[kSecret] = "s" + std::to_string(i);
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  Recording& log_;
  const Schema schema_{"recorder",
                       "Records what it is asked",
                       {{"id", ColumnType::kInteger, "Row number", kIndex},
                        {"name", ColumnType::kText, "Name", kIndex},
                        {"payload", ColumnType::kText, "Filled only when used"},
                        {"secret", ColumnType::kText, "Hidden column", kHidden}}};
};

// `path` required: lists nothing without it, returns one row per path asked for.
class NeedsPathTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    for (const std::string& p : ctx.EqualsText("path").value_or(std::vector<std::string>{})) {
      rows.push_back({p, static_cast<int64_t>(p.size())});
    }
    return rows;
  }

 private:
  const Schema schema_{"needs_path",
                       "Needs a path",
                       {{"path", ColumnType::kText, "The path", kRequired | kIndex},
                        {"size", ColumnType::kInteger, "Its length"}}};
};

class FailingTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext&) const override {
    return Status::IoError("read /proc/broken: Input/output error");
  }

 private:
  const Schema schema_{"broken", "Always fails", {{"x", ColumnType::kInteger, "Nothing"}}};
};

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Add(std::make_unique<RecordingTable>(log_)).ok());
    ASSERT_TRUE(registry_.Add(std::make_unique<NeedsPathTable>()).ok());
    ASSERT_TRUE(registry_.Add(std::make_unique<FailingTable>()).ok());
    ASSERT_TRUE(RegisterIntrospectionTables(registry_).ok());
    host_ = std::move(Host::Open("/")).value();
    db_ = std::move(Database::Open(registry_, *host_)).value();
  }

  QueryResult Run(const std::string& sql) {
    auto r = db_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : QueryResult{};
  }

  Recording log_;
  TableRegistry registry_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<Database> db_;
};

TEST_F(BridgeTest, EponymousTablesNeedNoCreate) {
  QueryResult r = Run("SELECT count(*) FROM recorder");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0].integer(), 10);
}

TEST_F(BridgeTest, PushesEqualityAndRangeOnIndexColumns) {
  Run("SELECT * FROM recorder WHERE id = 3");
  ASSERT_EQ(log_.constraints.size(), 1u);
  EXPECT_EQ(log_.constraints[0], "id = 3");
  // SQLite adds the range it derives from a LIKE or GLOB prefix; the pattern itself comes too.
  Run("SELECT * FROM recorder WHERE name LIKE 'n1%' AND id > 2");
  EXPECT_THAT(log_.constraints.back(), StartsWith("id > 2 AND "));
  EXPECT_THAT(log_.constraints.back(), EndsWith("name LIKE 'n1%'"));
  Run("SELECT * FROM recorder WHERE name GLOB 'n[12]' AND id <= 9");
  EXPECT_THAT(log_.constraints.back(), StartsWith("id <= 9 AND "));
  EXPECT_THAT(log_.constraints.back(), EndsWith("name GLOB 'n[12]'"));
}

TEST_F(BridgeTest, DoesNotPushConstraintsOnPlainColumns) {
  QueryResult r = Run("SELECT id FROM recorder WHERE payload = 'ccc'");
  EXPECT_EQ(log_.constraints.back(), "");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0].integer(), 3);  // SQLite still applies it
}

TEST_F(BridgeTest, TakesWholeInListsInOneCall) {
  QueryResult r = Run("SELECT id FROM recorder WHERE id IN (2, 4, 6) ORDER BY id");
  ASSERT_EQ(log_.constraints.size(), 1u) << "one generate() for the whole IN list";
  EXPECT_EQ(log_.constraints[0], "id IN (2, 4, 6)");
  EXPECT_EQ(r.rows.size(), 3u);
}

TEST_F(BridgeTest, PassesUsedColumns) {
  Run("SELECT id FROM recorder");
  EXPECT_EQ(log_.used.back(), 1u << RecordingTable::kId);
  Run("SELECT name, payload FROM recorder");
  EXPECT_EQ(log_.used.back(), (1u << RecordingTable::kName) | (1u << RecordingTable::kPayload));
}

TEST_F(BridgeTest, HiddenColumnsOnlyByName) {
  QueryResult star = Run("SELECT * FROM recorder WHERE id = 1");
  EXPECT_EQ(star.columns, (std::vector<std::string>{"id", "name", "payload"}));
  QueryResult named = Run("SELECT secret FROM recorder WHERE id = 1");
  ASSERT_EQ(named.rows.size(), 1u);
  EXPECT_EQ(named.rows[0][0].text(), "s1");
}

TEST_F(BridgeTest, SelfJoinGeneratesOncePerStatement) {
  size_t before = db_->generate_calls();
  QueryResult r = Run("SELECT a.id, b.id FROM recorder a, recorder b WHERE a.payload = b.payload");
  EXPECT_EQ(r.rows.size(), 10u);
  EXPECT_EQ(db_->generate_calls() - before, 1u);
  // A join probing with different values caches each distinct value once.
  before = db_->generate_calls();
  r = Run("SELECT a.id FROM recorder a JOIN recorder b ON b.id = a.id % 3 + 1");
  EXPECT_EQ(r.rows.size(), 10u);
  EXPECT_EQ(db_->generate_calls() - before, 4u);  // the full scan + ids 1, 2, 3
  // The cache does not outlive the statement.
  before = db_->generate_calls();
  Run("SELECT count(*) FROM recorder");
  Run("SELECT count(*) FROM recorder");
  EXPECT_EQ(db_->generate_calls() - before, 2u);
}

TEST_F(BridgeTest, HeldRowsServeLaterStatementsNeedingNoMoreColumns) {
  db_->HoldRows(true);
  size_t before = db_->generate_calls();
  QueryResult wide = Run("SELECT id, payload FROM recorder");
  QueryResult narrow = Run("SELECT id FROM recorder WHERE payload = 'ccc'");
  EXPECT_EQ(db_->generate_calls() - before, 1u);  // id+payload rows cover id
  ASSERT_EQ(narrow.rows.size(), 1u);
  EXPECT_EQ(narrow.rows[0][0].integer(), 3);
  // Other constraint values, and columns the cached rows lack, generate again.
  Run("SELECT id FROM recorder WHERE id = 4");
  EXPECT_EQ(db_->generate_calls() - before, 2u);
  Run("SELECT id FROM recorder WHERE id = 4");
  EXPECT_EQ(db_->generate_calls() - before, 2u);
  db_->HoldRows(false);
  Run("SELECT id, payload FROM recorder");
  EXPECT_EQ(db_->generate_calls() - before, 3u);  // released: read again

  // Narrow rows do not serve a wider question.
  db_->HoldRows(true);
  Run("SELECT id FROM recorder");
  QueryResult payload = Run("SELECT payload FROM recorder WHERE id = 2");
  EXPECT_EQ(db_->generate_calls() - before, 5u);
  ASSERT_EQ(payload.rows.size(), 1u);
  EXPECT_EQ(payload.rows[0][0].text(), "bbb");
  db_->HoldRows(false);
}

TEST_F(BridgeTest, HeldRowsAreGeneratedWithEveryColumnPlannedSoWiderStatementsReuseThem) {
  // The pack loader prepares every statement before the evaluation holds rows: the bridge
  // then knows every column the batch will ask of a table and computes them at the first scan.
  ASSERT_TRUE(db_->Check("SELECT id, payload FROM recorder").ok());
  db_->HoldRows(true);
  size_t before = db_->generate_calls();
  Run("SELECT id FROM recorder");
  ASSERT_FALSE(log_.used.empty());
  EXPECT_NE(log_.used.back() & (uint64_t{1} << RecordingTable::kPayload), 0u);
  QueryResult wide = Run("SELECT payload FROM recorder WHERE payload = 'ccc'");
  EXPECT_EQ(db_->generate_calls() - before, 1u);  // the narrow statement's rows serve it
  ASSERT_EQ(wide.rows.size(), 1u);
  EXPECT_EQ(wide.rows[0][0].text(), "ccc");
  db_->HoldRows(false);

  // Released: what was planned is forgotten, and a narrow statement computes its own columns.
  db_->HoldRows(true);
  Run("SELECT id FROM recorder");
  EXPECT_EQ(log_.used.back() & (uint64_t{1} << RecordingTable::kPayload), 0u);
  db_->HoldRows(false);

  // Outside a held batch the planned columns are not added either.
  ASSERT_TRUE(db_->Check("SELECT payload FROM recorder").ok());
  Run("SELECT id FROM recorder");
  EXPECT_EQ(log_.used.back() & (uint64_t{1} << RecordingTable::kPayload), 0u);
}

TEST_F(BridgeTest, RequiredColumnUnboundFailsNamingIt) {
  auto r = db_->Query("SELECT * FROM needs_path");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("needs_path"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("path"), std::string::npos);
  // A range does not name what to list.
  EXPECT_FALSE(db_->Query("SELECT * FROM needs_path WHERE path > '/a'").ok());
  // Check() finds it without running the statement.
  Status checked = db_->Check("SELECT size FROM needs_path WHERE size = 3").status();
  EXPECT_EQ(checked.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(checked.message().find("needs_path"), std::string::npos);
  auto columns = db_->Check("SELECT size, path AS p FROM needs_path WHERE path = '/etc'");
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_EQ(*columns, (std::vector<std::string>{"size", "p"}));
}

TEST_F(BridgeTest, RequiredColumnBoundDirectlyOrThroughAJoin) {
  QueryResult r = Run("SELECT path, size FROM needs_path WHERE path IN ('/a', '/bb')");
  EXPECT_EQ(r.rows.size(), 2u);
  r = Run("SELECT r.id, n.size FROM recorder r JOIN needs_path n ON n.path = r.name "
          "WHERE r.id <= 3 ORDER BY r.id");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0][1].integer(), 2);  // length of "n1"
}

TEST_F(BridgeTest, TableErrorsReachTheCallerWithTheTableName) {
  auto r = db_->Query("SELECT * FROM broken");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(), "table broken: read /proc/broken: Input/output error");
  // The connection stays usable.
  EXPECT_EQ(Run("SELECT count(*) FROM recorder").rows[0][0].integer(), 10);
}

TEST_F(BridgeTest, IntrospectionListsTheRegistry) {
  QueryResult r = Run("SELECT name, columns, required FROM vigil_tables ORDER BY name");
  std::vector<std::string> names;
  for (const Row& row : r.rows) names.push_back(row[0].text());
  EXPECT_EQ(names, (std::vector<std::string>{"broken", "needs_path", "recorder", "vigil_columns",
                                             "vigil_tables"}));
  EXPECT_EQ(r.rows[1][2].text(), "path");
  r = Run("SELECT name, type, flags FROM vigil_columns WHERE table_name = 'recorder' "
          "ORDER BY position");
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[0][1].text(), "INTEGER");
  EXPECT_EQ(r.rows[0][2].text(), "index");
  EXPECT_EQ(r.rows[3][2].text(), "hidden");
}

}  // namespace
}  // namespace vigil
