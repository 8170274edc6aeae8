// The SQLite bridge against SQLite's own storage: the same 1,000,000 rows scanned through a
// vigil::Table and from a native table on the same connection, an indexed point lookup against
// a full scan, and `SELECT * FROM users` through the whole engine.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/bridge.h"
#include "engine/sql/database.h"
#include "tables/builtin.h"

namespace vigil {
namespace {

constexpr int64_t kRows = 1'000'000;

// id INTEGER (index), name TEXT, score REAL, bucket INTEGER: row i has name "row-<i>",
// score i / 4.0, bucket i % 100. With an `id =` constraint it generates only those rows.
class SyntheticTable final : public Table {
 public:
  enum Col { kId, kName, kScore, kBucket, kColumnCount };
  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    auto emit = [&rows](int64_t i) {
      Row row(kColumnCount);
      row[kId] = i;
      row[kName] = "row-" + std::to_string(i);
      row[kScore] = static_cast<double>(i) / 4.0;
      row[kBucket] = i % 100;
      rows.push_back(std::move(row));
    };
    if (auto ids = ctx.Equals(kId)) {
      for (const Value& v : *ids) {
        if (v.is_integer() && v.integer() >= 0 && v.integer() < kRows) emit(v.integer());
      }
      return rows;
    }
    rows.reserve(kRows);
    for (int64_t i = 0; i < kRows; ++i) emit(i);
    return rows;
  }

 private:
  const Schema schema_{"synthetic",
                       "A million generated rows",
                       {{"id", ColumnType::kInteger, "Row number", kIndex},
                        {"name", ColumnType::kText, "row-<id>"},
                        {"score", ColumnType::kReal, "id / 4"},
                        {"bucket", ColumnType::kInteger, "id % 100"}}};
};

// One connection holding both the bridged table and a native copy of its rows.
struct Fixture {
  Fixture() {
    host = std::move(Host::Open("/")).value();
    if (!registry.Add(std::make_unique<SyntheticTable>()).ok()) std::abort();
    bridge = std::make_unique<Bridge>(registry, *host);
    sqlite3_open(":memory:", &db);
    if (!bridge->Install(db).ok()) std::abort();
    sqlite3_exec(db,
                 "CREATE TABLE native(id INTEGER PRIMARY KEY, name TEXT, score REAL, bucket INTEGER);"
                 "INSERT INTO native SELECT id, name, score, bucket FROM synthetic;",
                 nullptr, nullptr, nullptr);
  }
  ~Fixture() { sqlite3_close(db); }

  // Steps the statement to the end, reading every column as an application would.
  int64_t Drain(const char* sql) {
    bridge->BeginStatement(std::nullopt);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    int64_t rows = 0;
    int64_t checksum = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      ++rows;
      checksum += sqlite3_column_int64(stmt, 0);
      checksum += sqlite3_column_bytes(stmt, 1);
      checksum += static_cast<int64_t>(sqlite3_column_double(stmt, 2));
      checksum += sqlite3_column_int64(stmt, 3);
    }
    sqlite3_finalize(stmt);
    bridge->EndStatement();
    benchmark::DoNotOptimize(checksum);
    return rows;
  }

  std::unique_ptr<Host> host;
  TableRegistry registry;
  std::unique_ptr<Bridge> bridge;
  sqlite3* db = nullptr;
};

Fixture& Shared() {
  static Fixture fixture;
  return fixture;
}

void BM_ScanBridge(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    if (f.Drain("SELECT id, name, score, bucket FROM synthetic") != kRows) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_ScanBridge)->Unit(benchmark::kMillisecond);

void BM_ScanNative(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    if (f.Drain("SELECT id, name, score, bucket FROM native") != kRows) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_ScanNative)->Unit(benchmark::kMillisecond);

void BM_PointLookupIndexed(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    if (f.Drain("SELECT id, name, score, bucket FROM synthetic WHERE id = 765432") != 1) {
      std::abort();
    }
  }
}
BENCHMARK(BM_PointLookupIndexed)->Unit(benchmark::kMicrosecond);

void BM_PointLookupFullScan(benchmark::State& state) {
  Fixture& f = Shared();
  // name is not an index column: the table generates every row and SQLite filters.
  for (auto _ : state) {
    if (f.Drain("SELECT id, name, score, bucket FROM synthetic WHERE name = 'row-765432'") != 1) {
      std::abort();
    }
  }
}
BENCHMARK(BM_PointLookupFullScan)->Unit(benchmark::kMillisecond);

void BM_SelectUsers(benchmark::State& state) {
  auto host = std::move(Host::Open("/")).value();
  TableRegistry registry;
  if (!tables::RegisterBuiltinTables(registry).ok()) std::abort();
  auto db = std::move(Database::Open(registry, *host)).value();
  size_t rows = 0;
  for (auto _ : state) {
    auto r = db->Query("SELECT * FROM users");
    if (!r.ok()) std::abort();
    rows = r->rows.size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_SelectUsers)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vigil

BENCHMARK_MAIN();
