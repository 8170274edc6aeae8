// The daemon's shared engine: exclusive use, a bounded wait while a cycle holds it, and tables
// added and removed while it runs.
#include "agent/shared_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tables/builtin.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ConstantTable final : public Table {
 public:
  explicit ConstantTable(std::string name)
      : schema_{std::move(name), "One constant row.", {{"n", ColumnType::kInteger, "A number"}}} {}
  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext&) const override {
    return std::vector<Row>{{Value(7)}};
  }

 private:
  const Schema schema_;
};

std::unique_ptr<SharedEngine> OpenEngine() {
  auto host = Host::Open(testing::FixtureRoot("debian12"));
  EXPECT_TRUE(host.ok());
  auto registry = std::make_unique<TableRegistry>();
  EXPECT_TRUE(tables::RegisterBuiltinTables(*registry).ok());
  auto engine = SharedEngine::Open(std::move(host).value(), std::move(registry));
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return std::move(engine).value();
}

Result<QueryResult> Query(SharedEngine& engine, const std::string& sql) {
  return engine.Use([&](Database& db) { return db.Query(sql); });
}

TEST(SharedEngineTest, AddedTableIsQueryableAndRemovedTableIsGone) {
  auto engine = OpenEngine();
  std::vector<std::unique_ptr<Table>> tables;
  tables.push_back(std::make_unique<ConstantTable>("constant_a"));
  tables.push_back(std::make_unique<ConstantTable>("constant_b"));
  ASSERT_TRUE(engine->AddTables(std::move(tables)).ok());
  auto rows = Query(*engine, "SELECT a.n + b.n FROM constant_a a, constant_b b");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(rows->rows, (std::vector<Row>{{Value(14)}}));

  ASSERT_TRUE(engine->RemoveTables({"constant_a", "constant_b"}).ok());
  EXPECT_THAT(Query(*engine, "SELECT * FROM constant_a").status().message(),
              HasSubstr("no such table"));
  EXPECT_EQ(engine->RemoveTables({"constant_a"}).code(), StatusCode::kNotFound);
  EXPECT_TRUE(Query(*engine, "SELECT count(*) FROM users").ok());
}

TEST(SharedEngineTest, AddingAnExistingNameChangesNothing) {
  auto engine = OpenEngine();
  std::vector<std::unique_ptr<Table>> tables;
  tables.push_back(std::make_unique<ConstantTable>("constant_a"));
  tables.push_back(std::make_unique<ConstantTable>("users"));
  Status s = engine->AddTables(std::move(tables));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("users"));
  EXPECT_FALSE(engine->HasTable("constant_a"));
}

TEST(SharedEngineTest, UseWithinGivesUpWhileTheEngineIsBusy) {
  auto engine = OpenEngine();
  std::promise<void> holding;
  std::promise<void> release;
  std::thread cycle([&] {
    engine->Use([&](Database&) {
      holding.set_value();
      release.get_future().wait();
      return 0;
    });
  });
  holding.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  auto busy = engine->UseWithin(50ms, [](Database& db) { return db.Query("SELECT 1"); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(busy.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(busy.status().message(), HasSubstr("the daemon is busy; try again"));
  release.set_value();
  cycle.join();
  auto free = engine->UseWithin(50ms, [](Database& db) { return db.Query("SELECT 1"); });
  EXPECT_TRUE(free.ok());
}

}  // namespace
}  // namespace vigil::agent
