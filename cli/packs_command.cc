// `vigil packs validate PATH...`: loads pack files and prints every problem at once, each with
// its file, JSON pointer and check id. Exit 0 when all are valid, 1 when any problem was found.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/local_engine.h"
#include "enforcers/builtin.h"
#include "engine/packs/loader.h"

namespace vigil::cli {

int RunPacks(const std::vector<std::string>& args) {
  FlagSet flags("vigil packs validate [OPTIONS] PATH...",
                "Validates pack files (or every *.json in a directory): JSON syntax, unknown keys,\n"
                "each statement prepared against this build's tables, each enforcer and its 'with'\n"
                "keys, each SR id against the catalogue (catalog.json beside the packs, or\n"
                "--catalog). Prints every problem, then a summary.");
  flags.Value("catalog", "FILE", "SR catalogue to check SR ids against");
  AddEngineFlags(flags);
  if (Status s = flags.Parse(args); !s.ok()) {
    std::cerr << "vigil packs: " << s.message() << "\n(see vigil packs --help)\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  const auto& words = flags.positionals();
  if (words.size() < 2 || words[0] != "validate") {
    std::cerr << "vigil packs: expected 'validate PATH...' (see vigil packs --help)\n";
    return 2;
  }
  std::vector<std::string> paths(words.begin() + 1, words.end());
  auto engine = OpenLocalEngine(flags);
  if (!engine.ok()) {
    std::cerr << "vigil packs: " << engine.status().message() << "\n";
    return 2;
  }

  // The catalogue: named, or catalog.json in the first directory given.
  std::optional<packs::Catalog> catalog;
  std::string catalog_path = flags.Get("catalog").value_or("");
  // Pack files are on this machine, not under --root: relative paths are from here.
  if (catalog_path.empty() && std::filesystem::is_directory(paths[0])) {
    std::string beside = JoinPath(paths[0], "catalog.json");
    if (std::filesystem::exists(beside)) catalog_path = beside;
  }
  if (!catalog_path.empty()) {
    auto content = ReadLocalFile(catalog_path, 16u << 20);
    if (!content.ok()) {
      std::cerr << "vigil packs: " << content.status().message() << "\n";
      return 2;
    }
    auto parsed = packs::ParseCatalog(catalog_path, *content);
    if (!parsed.ok()) {
      std::cerr << parsed.status().message() << "\n";
      return 1;
    }
    catalog = std::move(parsed).value();
  }

  packs::LoadOptions options;
  options.database = engine->database.get();
  options.actions = &enforcers::ActionRegistry::Builtin();
  options.catalog = catalog ? &*catalog : nullptr;
  packs::LoadResult loaded = packs::LoadPacks(paths, options);
  for (const packs::Problem& p : loaded.problems) std::cout << p.ToString() << "\n";
  size_t checks = 0, queries = 0;
  for (const packs::Pack& p : loaded.packs) {
    checks += p.checks.size();
    queries += p.queries.size();
  }
  std::cerr << loaded.packs.size() << " packs, " << checks << " checks, " << queries
            << " scheduled queries: "
            << (loaded.ok() ? "valid" : std::to_string(loaded.problems.size()) + " problems")
            << (catalog ? "" : " (no catalogue: SR ids not checked)") << "\n";
  return loaded.ok() ? 0 : 1;
}

}  // namespace vigil::cli
