// Loads pack files and validates everything before anything runs: JSON syntax, unknown keys,
// every statement prepared against the tables, every enforcer and its `with` keys, every SR id
// against the catalogue, every variable a check uses. Each problem names its place: file,
// JSON pointer and check id. All problems are collected, not only the first.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packs/action_spec.h"
#include "engine/packs/catalog.h"
#include "engine/packs/pack.h"
#include "engine/status.h"

namespace vigil {
class Database;
}

namespace vigil::packs {

struct Problem {
  std::string file;
  std::string pointer;  // JSON pointer, "" for the whole file
  std::string check;    // check or query id, when the problem is inside one
  std::string message;

  // "access.json: /checks/ssh-root/enforce/action: check ssh-root: unknown enforcer 'sshd.sett'"
  std::string ToString() const;
};

struct LoadOptions {
  Database* database = nullptr;             // prepares every statement when set
  const ActionCatalog* actions = nullptr;   // checks enforcer names and `with` keys when set
  const Catalog* catalog = nullptr;         // checks SR ids when set
  // The variables nodes will have (besides each pack's defaults); when set, a check that uses
  // a variable defined nowhere is a problem.
  const Params* vars = nullptr;
};

struct LoadResult {
  std::vector<Pack> packs;
  std::vector<Problem> problems;
  bool ok() const { return problems.empty(); }
};

// Parses one pack. Problems are appended; the pack is returned when it could be read at all.
std::optional<Pack> ParsePack(std::string_view file, std::string_view content,
                              std::vector<Problem>& problems);

// Checks a parsed pack against the options' tables, actions, catalogue and variables.
void ValidatePack(const Pack& pack, const LoadOptions& options, std::vector<Problem>& problems);

// Loads *.json packs from each path (a file, or a directory read in name order, skipping
// catalog.json) and validates them. Duplicate pack names and check ids are problems.
LoadResult LoadPacks(const std::vector<std::string>& paths, const LoadOptions& options);

// A pack file's name (for messages) and content: packs built into the binary, or received from
// the hub.
struct PackSource {
  std::string file;
  std::string content;
};
// Parses and validates packs given as text, as LoadPacks does for files.
LoadResult LoadPackSources(const std::vector<PackSource>& sources, const LoadOptions& options);

// A node's variables from a JSON object ({"target_sl": 2, "zone_cidrs": ["10.1.0.0/16"]});
// every problem is named with its JSON pointer, one per line.
Result<Params> ParseVars(std::string_view file, std::string_view content);

// Rewrites "{{vars.name}}" placeholders in SQL into positional parameters ("?1", ...), outside
// string literals and comments, returning the variable names in parameter order. A placeholder
// inside a string literal or a malformed one is an error.
Result<std::string> BindVariables(std::string_view sql, std::vector<std::string>& names);

}  // namespace vigil::packs
