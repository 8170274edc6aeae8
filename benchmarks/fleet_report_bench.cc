// The fleet IEC 62443 report at scale (issue 7, "Speed"): N nodes x 100 checks of verdicts,
// written once through the HubStore interface into a real embedded store in a temporary
// directory (each node one `results` batch, as agents send them: the 100 verdicts of the day
// before, the 100 of the day, an audit head), then the report loaded from the store, built and
// rendered: of now, and (`At`) of a time of the day before the last verdicts, so that every
// node's every check is looked up in its history. Target: under 2 s for 10,000 nodes (JSON and
// HTML).
//
//   fleet_report_bench --benchmark_filter=/10000
//
// Writing 10,000 nodes takes minutes. With FLEET_BENCH_DIR set, each fleet's store is kept in
// $FLEET_BENCH_DIR/NODES and reused by later runs (for profiling the report alone); the store is
// the benchmark's own, so remove the directory after changing how the hub writes evidence.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "engine/packs/catalog.h"
#include "packs/bundle.h"
#include "server/fleet_report.h"
#include "server/hub_store.h"

namespace {

using namespace vigil;

constexpr int kChecks = 100;
constexpr int64_t kNow = 1795626120;  // 2026-11-25T17:02:00Z
constexpr int64_t kAt = kNow - 6 * 3600;  // a report of the morning: before the day's verdicts

const packs::Catalog& Catalog() {
  static const packs::Catalog catalog = [] {
    packs::Bundle bundle;
    if (!packs::AddBuiltinBundle("iec62443", bundle) || !bundle.catalog) std::abort();
    auto parsed = packs::ParseCatalog(bundle.catalog_name, *bundle.catalog);
    if (!parsed.ok()) std::abort();
    return *parsed;
  }();
  return catalog;
}

struct Fleet {
  std::string dir;
  bool keep = false;  // FLEET_BENCH_DIR's: left for the next run
  std::unique_ptr<server::HubStore> store;
  ~Fleet() {
    store.reset();
    if (keep) return;
    std::error_code error;
    std::filesystem::remove_all(dir, error);
    if (error) std::cerr << "cannot remove " << dir << ": " << error.message() << "\n";
  }
};

// One store per fleet size, filled on first use (not timed); main() removes them.
std::map<int, std::unique_ptr<Fleet>>& Fleets() {
  static std::map<int, std::unique_ptr<Fleet>> fleets;
  return fleets;
}

server::HubStore& FleetOf(int nodes) {
  auto& fleet = Fleets()[nodes];
  if (fleet) return *fleet->store;
  fleet = std::make_unique<Fleet>();
  if (const char* kept = std::getenv("FLEET_BENCH_DIR"); kept != nullptr && *kept != '\0') {
    fleet->dir = std::string(kept) + "/" + std::to_string(nodes);
    fleet->keep = true;
  } else {
    char tmpl[] = "/tmp/vigil-fleet-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    fleet->dir = tmpl;
  }
  const bool written = fleet->keep && std::filesystem::exists(fleet->dir + "/done");
  auto store = server::OpenEmbeddedHubStore(fleet->dir + "/store");
  if (!store.ok()) {
    std::cerr << store.status().ToString() << "\n";
    std::abort();
  }
  fleet->store = std::move(*store);
  if (written) {
    std::cerr << "reusing the store of " << nodes << " nodes in " << fleet->dir << "\n";
    return *fleet->store;
  }

  std::vector<std::string> machine;
  for (const packs::Requirement& sr : Catalog().srs) {
    if (sr.coverage == packs::Coverage::kMachine || sr.coverage == packs::Coverage::kDetectOnly) {
      machine.push_back(sr.id);
    }
  }
  const auto begin = std::chrono::steady_clock::now();
  for (int n = 0; n < nodes; ++n) {
    server::NodeRecord node;
    node.host_identifier = "node-" + std::to_string(100000 + n);
    node.hostname = node.host_identifier + ".plant.example";
    node.roles = {"iec62443"};
    node.key_hash = "kh-" + node.host_identifier;
    node.last_seen = kNow - (n % 10 == 0 ? 3600 : 5);  // every tenth node went silent
    if (!fleet->store->PutNode(node).ok()) std::abort();
    std::vector<std::string> items;
    items.reserve(2 * kChecks + 1);
    // The day before, other nodes and checks failed.
    for (const auto& [time, every] : {std::pair{"2026-11-24T17:01:00Z", 13},
                                      std::pair{"2026-11-25T17:01:00Z", 17}}) {
      for (int c = 0; c < kChecks; ++c) {
        const bool fails = (n + c) % every == 0;
        const std::string& sr = machine[static_cast<size_t>(c) % machine.size()];
        items.push_back(
            R"({"kind":"verdict","check":"check-)" + std::to_string(c) +
            R"(","pack":"iec62443-bench","sr":[")" + sr + R"("],"sl":)" +
            std::to_string(1 + c % 2) + R"(,"status":")" + (fails ? "fail" : "pass") +
            R"(","rows":)" + (fails ? R"([{"path":"/etc/ssh/sshd_config","line":3}])" : "[]") +
            R"(,"rows_total":)" + (fails ? "1" : "0") +
            R"(,"error":null,"duration_ms":0.4,"time":")" + time +
            R"(","enforcer":null,"remediation":null})");
      }
    }
    items.push_back(R"({"kind":"audit_head","seq":)" + std::to_string(40 + n % 7) +
                    R"(,"hash":"9f2c"})");
    if (!fleet->store->StoreEvidence(node.host_identifier, 1, items).ok()) std::abort();
  }
  std::cerr << "stored " << nodes << " nodes x 2 x " << kChecks << " verdicts in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count()
            << " s\n";
  if (fleet->keep) std::ofstream(fleet->dir + "/done") << nodes << "\n";
  return *fleet->store;
}

server::FleetReport Report(server::HubStore& store, std::vector<std::string> online,
                           std::optional<int64_t> at = std::nullopt) {
  server::FleetReportLoad load;
  load.now = kNow;
  load.at = at;
  load.online = std::move(online);
  auto input = server::LoadFleetReportInput(store, Catalog(), load);
  if (!input.ok()) std::abort();
  return server::BuildFleetReport(*input);
}

std::vector<std::string> Online(int nodes) {
  std::vector<std::string> online;
  for (int n = 0; n < nodes; ++n) {
    if (n % 10 != 0) online.push_back("node-" + std::to_string(100000 + n));
  }
  return online;
}

void BM_FleetReportBuild(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  server::HubStore& store = FleetOf(nodes);
  const std::vector<std::string> online = Online(nodes);
  for (auto _ : state) benchmark::DoNotOptimize(Report(store, online));
  state.counters["verdicts"] = static_cast<double>(nodes) * kChecks;
}

void BM_FleetReportJson(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  server::HubStore& store = FleetOf(nodes);
  const std::vector<std::string> online = Online(nodes);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = server::FleetReportJson(Report(store, online));
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_FleetReportHtml(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  server::HubStore& store = FleetOf(nodes);
  const std::vector<std::string> online = Online(nodes);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string html = server::FleetReportHtml(Report(store, online));
    bytes = html.size();
    benchmark::DoNotOptimize(html);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

// Of the morning: each node's checks at kAt from the history, its presence and audit head then.
void BM_FleetReportAtBuild(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  server::HubStore& store = FleetOf(nodes);
  for (auto _ : state) benchmark::DoNotOptimize(Report(store, {}, kAt));
  state.counters["verdicts"] = static_cast<double>(nodes) * kChecks;
}

void BM_FleetReportAtJson(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  server::HubStore& store = FleetOf(nodes);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = server::FleetReportJson(Report(store, {}, kAt));
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_FleetReportBuild)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FleetReportAtBuild)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FleetReportAtJson)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FleetReportJson)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FleetReportHtml)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  Fleets().clear();
  return 0;
}
