// `vigil check PACK...`: evaluates compliance packs against this host (or a tree under --root),
// optionally repairs what fails (--enforce) or shows the repair (--dry-run), runs each repaired
// check again to prove it, and prints the report (text, json, csv, html).
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/local_engine.h"
#include "enforcers/applier.h"
#include "enforcers/repair.h"
#include "enforcers/builtin.h"
#include "engine/audit/chain.h"
#include "engine/packs/evaluate.h"
#include "engine/packs/loader.h"
#include "engine/packs/report.h"
#include "engine/packs/report_html.h"
#include "engine/store/store.h"
#include "packs/bundle.h"

namespace vigil::cli {
namespace {

constexpr const char* kSummary =
    "Evaluates compliance packs on this host: each check's SQL returns its violations as rows.\n"
    "PACK is a built-in bundle (iec62443), a pack file, or a directory of packs (its\n"
    "catalog.json, if any, is the SR catalogue). With --enforce, each failing check's enforcer\n"
    "repairs the host from those rows (files are snapshotted under --state-dir, validated, and\n"
    "rolled back on failure; every change goes to the audit chain) and the check runs again.\n"
    "--dry-run prints the repair plan (a diff per file, each command) and changes nothing.\n"
    "\n"
    "Exit status: 0 every applicable check passes (or was fixed), 1 a check fails or errors,\n"
    "2 usage error or a pack that does not load.";

std::string FirstLineOf(const Result<std::string>& content) {
  if (!content.ok()) return "";
  std::string line = content->substr(0, content->find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

packs::HostFacts Facts(LocalEngine& engine, const std::optional<std::string>& identifier) {
  packs::HostFacts facts;
  facts.root = engine.host->is_machine_root() ? "/" : engine.host->root();
  facts.hostname = FirstLineOf(engine.host->ReadFile("/etc/hostname"));
  if (facts.hostname.empty() && engine.host->is_machine_root()) {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) == 0) facts.hostname = name;
  }
  auto os = engine.database->Query("SELECT name, version FROM os_version", {});
  if (os.ok() && !os->rows.empty()) {
    facts.os = os->rows[0][0].ToString();
    std::string version = os->rows[0][1].ToString();
    if (!version.empty()) facts.os += " " + version;
  }
  facts.identifier = identifier.value_or(facts.hostname);
  return facts;
}

Status WriteOutput(const std::optional<std::string>& path, const std::string& text) {
  if (!path) {
    std::cout << text;
    std::cout.flush();
    return std::cout ? Status::Ok() : Status::IoError("writing the report to standard output");
  }
  std::ofstream out(*path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::IoError("cannot write the report to " + *path);
  return Status::Ok();
}

}  // namespace

int RunCheck(const std::vector<std::string>& args) {
  FlagSet flags("vigil check [OPTIONS] PACK...", kSummary);
  AddEngineFlags(flags);
  flags.Value("sl", "N", "Target security level 1-4 (default: the vars' target_sl, else 2)");
  flags.Value("vars", "FILE", "The node's variables, a JSON object (zone_cidrs, ...)");
  flags.Value("catalog", "FILE", "SR catalogue (default: the bundle's catalog.json)");
  flags.Value("format", "FORMAT", "Report format: text, json, csv or html", "text");
  flags.Value("output", "FILE", "Write the report to FILE instead of standard output");
  flags.Bool("enforce", "Repair failing checks with their enforcers, then check again");
  flags.Bool("dry-run", "Show the repair plan (diffs and commands); change nothing");
  flags.Value("state-dir", "DIR", "Where snapshots and the audit chain are kept (with --enforce)",
              kDefaultStateDir);
  flags.Value("host-identifier", "NAME", "The host's name in the report (default: its hostname)");
  auto usage = [](const std::string& message) {
    std::cerr << "vigil check: " << message << "\n(see vigil check --help)\n";
    return 2;
  };
  if (Status s = flags.Parse(args); !s.ok()) return usage(s.message());
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (flags.positionals().empty()) return usage("name at least one PACK (e.g. iec62443)");
  const std::string format = *flags.Get("format");
  if (format != "text" && format != "json" && format != "csv" && format != "html") {
    return usage("--format must be text, json, csv or html, not '" + format + "'");
  }
  const bool dry_run = flags.IsSet("dry-run");
  const bool enforce = flags.IsSet("enforce") || dry_run;
  auto fail = [](const std::string& message) {
    std::cerr << "vigil check: " << message << "\n";
    return 2;
  };

  auto engine = OpenLocalEngine(flags);
  if (!engine.ok()) return fail(engine.status().message());

  packs::Params vars;
  if (auto file = flags.Get("vars")) {
    auto content = ReadLocalFile(*file, 1u << 20);
    if (!content.ok()) return fail(content.status().message());
    auto parsed = packs::ParseVars(*file, *content);
    if (!parsed.ok()) return fail(parsed.status().message());
    vars = std::move(*parsed);
  }
  int target_sl = 2;
  if (auto sl = flags.Get("sl")) {
    auto n = ParseCount(*sl, "--sl");
    if (!n.ok() || *n < 1 || *n > 4) return usage("--sl must be 1, 2, 3 or 4, not '" + *sl + "'");
    target_sl = static_cast<int>(*n);
  } else if (auto it = vars.find("target_sl"); it != vars.end()) {
    auto n = ParseCount(it->second.text(), "target_sl");
    if (!n.ok() || *n < 1 || *n > 4) return fail("vars: target_sl must be 1, 2, 3 or 4");
    target_sl = static_cast<int>(*n);
  }
  vars["target_sl"] = packs::Param::One(std::to_string(target_sl));

  auto bundle = packs::CollectPacks(flags.positionals());
  if (!bundle.ok()) return fail(bundle.status().message());
  std::optional<std::string> catalog_text = bundle->catalog;
  std::string catalog_name = bundle->catalog_name;
  if (auto file = flags.Get("catalog")) {
    auto content = ReadLocalFile(*file, 16u << 20);
    if (!content.ok()) return fail(content.status().message());
    catalog_text = std::move(*content);
    catalog_name = *file;
  }
  packs::Catalog catalog;
  if (catalog_text) {
    auto parsed = packs::ParseCatalog(catalog_name, *catalog_text);
    if (!parsed.ok()) return fail(parsed.status().message());
    catalog = std::move(*parsed);
  }

  const auto& actions = enforcers::ActionRegistry::Builtin();
  packs::LoadOptions load;
  load.database = engine->database.get();
  load.actions = &actions;
  load.catalog = catalog_text ? &catalog : nullptr;
  packs::LoadResult loaded = packs::LoadPackSources(bundle->sources, load);
  if (!loaded.ok()) {
    for (const packs::Problem& p : loaded.problems) std::cerr << p.ToString() << "\n";
    std::cerr << "vigil check: " << loaded.problems.size()
              << " problems in the packs; nothing was checked\n";
    return 2;
  }

  packs::EvaluateOptions evaluate;
  evaluate.target_sl = target_sl;
  evaluate.vars = vars;
  evaluate.timeout = engine->options.timeout;
  if (engine->options.max_rows) evaluate.max_rows = *engine->options.max_rows;
  std::vector<packs::Verdict> verdicts =
      packs::EvaluatePacks(*engine->database, loaded.packs, evaluate);

  if (enforce) {
    std::unique_ptr<store::Store> state;
    std::unique_ptr<audit::AuditChain> chain;
    enforcers::ApplyOptions apply;
    apply.dry_run = dry_run;
    apply.actor = "vigil check";
    if (!dry_run) {
      auto opened = store::Store::Open(*flags.Get("state-dir"));
      if (!opened.ok()) return fail(opened.status().message());
      state = std::move(*opened);
      chain = std::make_unique<audit::AuditChain>(*state);
      apply.store = state.get();
      apply.audit = chain.get();
    }
    enforcers::RepairOptions repair;
    repair.apply = apply;
    repair.evaluate = evaluate;
    repair.progress = [](const std::string& line) { std::cerr << line << "\n"; };
    enforcers::RepairFailing(*engine->host, *engine->database, actions, loaded.packs, verdicts,
                             repair);
  }

  packs::CheckReport report = packs::BuildReport(catalog, loaded.packs, std::move(verdicts),
                                                 Facts(*engine, flags.Get("host-identifier")),
                                                 target_sl);
  std::string text;
  if (format == "json") {
    text = packs::ReportJson(report) + "\n";
  } else if (format == "csv") {
    text = packs::ReportCsv(report);
  } else if (format == "html") {
    text = packs::ReportHtml(report, catalog);
  } else {
    text = packs::ReportText(report, catalog);
  }
  if (Status s = WriteOutput(flags.Get("output"), text); !s.ok()) return fail(s.message());

  for (const packs::Verdict& v : report.checks) {
    if (v.status == packs::VerdictStatus::kFail || v.status == packs::VerdictStatus::kError) {
      return 1;
    }
  }
  return 0;
}

}  // namespace vigil::cli
