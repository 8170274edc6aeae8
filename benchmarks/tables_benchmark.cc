// Every table's generation on this machine (`SELECT * FROM t` through the whole engine), and
// side by side in one run: the tables that replace a system tool against that tool, both as a
// query inside an engine (the agent's case) and as a `vigil sql` process (the shell user's).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/host.h"
#include "engine/process.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tables/builtin.h"

namespace vigil {
namespace {

struct Engine {
  Engine() {
    host = std::move(Host::Open("/")).value();
    if (!tables::RegisterBuiltinTables(registry).ok()) std::abort();
    db = std::move(Database::Open(registry, *host)).value();
  }
  std::unique_ptr<Host> host;
  TableRegistry registry;
  std::unique_ptr<Database> db;
};

Engine& Shared() {
  static Engine engine;
  return engine;
}

void RunQuery(benchmark::State& state, const std::string& sql) {
  Engine& e = Shared();
  size_t rows = 0;
  for (auto _ : state) {
    auto r = e.db->Query(sql);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    rows = r->rows.size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}

void RunTool(benchmark::State& state, const std::vector<std::string>& argv) {
  for (auto _ : state) {
    auto r = RunCommand(argv);
    if (!r.ok() || r->exit_code != 0) {
      state.SkipWithError(("cannot run " + FormatCommand(argv)).c_str());
      return;
    }
    benchmark::DoNotOptimize(r->out.size());
  }
}

// Pairs: a table and the tool whose output it replaces.
struct Pair {
  const char* name;
  const char* sql;
  std::vector<std::string> tool;
};

const std::vector<Pair>& Pairs() {
  static const std::vector<Pair> pairs = {
      {"processes", "SELECT pid, parent, uid, name, cmdline FROM processes",
       {"ps", "-eo", "pid,ppid,user,comm,args"}},
      {"listening_ports", "SELECT * FROM listening_ports", {"ss", "-ltnup"}},
      {"deb_packages", "SELECT name, version, arch FROM deb_packages", {"dpkg-query", "-W"}},
  };
  return pairs;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  using namespace vigil;
  benchmark::Initialize(&argc, argv);
  for (const auto& table : Shared().registry.tables()) {
    const Schema& s = table->schema();
    if (s.HasRequiredColumns()) continue;  // file, hash, config_entries...: need a path
    std::string sql = "SELECT * FROM " + s.name;
    benchmark::RegisterBenchmark(("table/" + s.name).c_str(),
                                 [sql](benchmark::State& st) { RunQuery(st, sql); })
        ->Unit(benchmark::kMillisecond);
  }
  const char* vigil_bin = std::getenv("VIGIL_BIN");
  for (const Pair& p : Pairs()) {
    std::string sql = p.sql;
    benchmark::RegisterBenchmark((std::string("vs/") + p.name + "/engine").c_str(),
                                 [sql](benchmark::State& st) { RunQuery(st, sql); })
        ->Unit(benchmark::kMillisecond);
    if (vigil_bin != nullptr) {
      std::vector<std::string> argv_vigil = {vigil_bin, "sql", "--list", sql};
      benchmark::RegisterBenchmark((std::string("vs/") + p.name + "/vigil_process").c_str(),
                                   [argv_vigil](benchmark::State& st) { RunTool(st, argv_vigil); })
          ->Unit(benchmark::kMillisecond);
    }
    std::vector<std::string> tool = p.tool;
    benchmark::RegisterBenchmark((std::string("vs/") + p.name + "/tool").c_str(),
                                 [tool](benchmark::State& st) { RunTool(st, tool); })
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
