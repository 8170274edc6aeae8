// The whole IEC 62443 evaluation (every check of the built-in bundle) on this machine, and side
// by side in one run: the same as a `vigil check iec62443` process, OpenSCAP's evaluation of
// Debian's standard profile (`oscap xccdf eval`), and `lynis audit system --quick`. The
// scanners are measured only when installed (scripts/setup --bench installs them); each is run
// as a process and timed by wall clock, so compare the "Time" column.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "engine/packs/catalog.h"
#include "engine/packs/evaluate.h"
#include "engine/packs/loader.h"
#include "engine/process.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "packs/embedded.h"
#include "tables/builtin.h"

namespace vigil {
namespace {

struct Engine {
  explicit Engine(const std::string& root) {
    host = std::move(Host::Open(root)).value();
    if (!tables::RegisterBuiltinTables(registry).ok()) std::abort();
    db = std::move(Database::Open(registry, *host)).value();
  }
  std::unique_ptr<Host> host;
  TableRegistry registry;
  std::unique_ptr<Database> db;
};

std::vector<packs::PackSource> Bundle() {
  std::vector<packs::PackSource> sources;
  for (const packs::EmbeddedFile& f : packs::EmbeddedFiles()) {
    if (f.path.starts_with("iec62443/") && !f.path.ends_with("/catalog.json")) {
      sources.push_back({std::string(f.path), std::string(f.content)});
    }
  }
  return sources;
}

// Mean duration_ms of each check in the last run of each benchmark (a benchmark runs more
// than once while Google Benchmark settles the iteration count). With VIGIL_CHECK_COSTS set,
// main() prints the checks that cost most, to see where the time goes.
std::map<std::string, std::map<std::string, double>>& CheckCosts() {
  static auto* costs = new std::map<std::string, std::map<std::string, double>>();
  return *costs;
}

void PrintCheckCosts() {
  if (std::getenv("VIGIL_CHECK_COSTS") == nullptr) return;
  for (const auto& [name, by_check] : CheckCosts()) {
    std::vector<std::pair<double, std::string>> costs;
    double sum = 0;
    for (const auto& [check, ms] : by_check) {
      costs.emplace_back(ms, check);
      sum += ms;
    }
    std::sort(costs.rbegin(), costs.rend());
    std::fprintf(stderr, "%s: sum of the checks' duration_ms %.1f; the costliest:\n",
                 name.c_str(), sum);
    for (size_t i = 0; i < costs.size() && i < 12; ++i) {
      std::fprintf(stderr, "  %8.2f ms  %s\n", costs[i].first, costs[i].second.c_str());
    }
  }
}

// Load (parse, validate, prepare every statement) and evaluate, as `vigil check` does.
void Evaluate(benchmark::State& state, const std::string& name, const std::string& root) {
  Engine engine(root);
  const auto sources = Bundle();
  size_t checks = 0, failing = 0;
  std::map<std::string, double> total_ms;  // duration_ms by check, over the iterations
  for (auto _ : state) {
    packs::LoadOptions load;
    load.database = engine.db.get();
    load.actions = &enforcers::ActionRegistry::Builtin();
    packs::LoadResult loaded = packs::LoadPackSources(sources, load);
    if (!loaded.ok()) {
      state.SkipWithError(loaded.problems.front().ToString().c_str());
      return;
    }
    auto verdicts = packs::EvaluatePacks(*engine.db, loaded.packs, {});
    checks = verdicts.size();
    failing = 0;
    for (const auto& v : verdicts) {
      failing += v.status == packs::VerdictStatus::kFail;
      total_ms[v.check] += v.duration_ms;
    }
  }
  if (state.iterations() > 0) {
    for (auto& [check, ms] : total_ms) ms /= static_cast<double>(state.iterations());
    CheckCosts()[name] = std::move(total_ms);
  }
  state.counters["checks"] = static_cast<double>(checks);
  state.counters["failing"] = static_cast<double>(failing);
}

void RunProcess(benchmark::State& state, std::vector<std::string> argv) {
  for (auto _ : state) {
    CommandOptions options;
    options.timeout = std::chrono::minutes(10);
    auto r = RunCommand(argv, options);
    // Scanners exit non-zero when rules fail; only a missing program is an error here.
    if (!r.ok()) {
      state.SkipWithError(("cannot run " + FormatCommand(argv) + ": " + r.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(r->out.size());
  }
}

std::string FindSsgDatastream() {
  const char* candidates[] = {"/usr/share/xml/scap/ssg/content/ssg-debian12-ds.xml",
                              "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml"};
  for (const char* c : candidates) {
    if (std::filesystem::exists(c)) return c;
  }
  return "";
}

void Register() {
  benchmark::RegisterBenchmark(
      "iec62443/engine/this_machine",
      [](benchmark::State& s) { Evaluate(s, "iec62443/engine/this_machine", "/"); })
      ->Unit(benchmark::kMillisecond);
  const std::string weak = std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/hosts/iec-weak";
  if (std::filesystem::exists(weak)) {
    benchmark::RegisterBenchmark(
        "iec62443/engine/weak_fixture",
        [weak](benchmark::State& s) { Evaluate(s, "iec62443/engine/weak_fixture", weak); })
        ->Unit(benchmark::kMillisecond);
  }
  if (const char* vigil = std::getenv("VIGIL_BIN")) {
    std::vector<std::string> argv = {vigil, "check", "iec62443", "--format", "json"};
    benchmark::RegisterBenchmark("iec62443/vigil_check_process",
                                 [argv](benchmark::State& s) { RunProcess(s, argv); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  const std::string ds = FindSsgDatastream();
  if (!ds.empty() && std::filesystem::exists("/usr/bin/oscap")) {
    std::vector<std::string> argv = {"oscap", "xccdf", "eval", "--profile",
                                     "xccdf_org.ssgproject.content_profile_standard",
                                     "--results", "/dev/null", ds};
    benchmark::RegisterBenchmark("iec62443/oscap_xccdf_eval_standard",
                                 [argv](benchmark::State& s) { RunProcess(s, argv); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1);
  }
  if (std::filesystem::exists("/usr/sbin/lynis")) {
    std::vector<std::string> argv = {"lynis", "audit", "system", "--quick", "--no-colors"};
    benchmark::RegisterBenchmark("iec62443/lynis_audit_system_quick",
                                 [argv](benchmark::State& s) { RunProcess(s, argv); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1);
  }
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  vigil::Register();
  benchmark::RunSpecifiedBenchmarks();
  vigil::PrintCheckCosts();
  benchmark::Shutdown();
  return 0;
}
