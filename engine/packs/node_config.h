// A node's configuration: what it checks, with which variables, and whether it repairs
// (PROTOCOL.md, the `config` message). The hub publishes it; a standalone agent reads the same
// shape from a local file (`vigil daemon --config FILE`). The agent keeps the last one it
// accepted in its store and runs from it while the hub is unreachable.
//
//   {"version": 3, "roles": ["historian"], "vars": {"zone_cidrs": ["10.1.0.0/16"]},
//    "enforce": "auto", "target_sl": 2, "packs": [{...pack...}, "iec62443", "extra/"]}
//
// `packs` holds pack objects (what the hub sends) or, in a local file, names: a built-in
// bundle, or a pack file or directory relative to the config file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packs/loader.h"
#include "engine/packs/pack.h"
#include "engine/status.h"

namespace vigil::packs {

enum class EnforceMode { kOff, kDryRun, kAuto };
std::string_view EnforceModeName(EnforceMode mode);  // "off", "dry-run", "auto"

struct NodeConfig {
  uint64_t version = 0;
  std::vector<std::string> roles;
  Params vars;
  EnforceMode enforce = EnforceMode::kOff;
  int target_sl = 2;
  std::vector<PackSource> packs;       // pack objects, as JSON text ("<file>#/packs/0")
  std::vector<std::string> pack_names; // bundles, files, directories (local configs only)
  std::optional<std::string> catalog;  // an SR catalogue object, as JSON text
  std::string signature;               // as received; verified by whoever pins the hub's key
};

// Parses a config. Every problem is reported at once, each with its JSON pointer
// ("node.json: /enforce: must be auto, dry-run or off"), as InvalidArgument.
Result<NodeConfig> ParseNodeConfig(std::string_view file, std::string_view content);

// The config as one JSON object with every pack inlined: `config`'s fields (its pack_names left
// out), then `packs` (each source's content, which must be a JSON object) and `catalog`. The
// agent keeps this form, so it runs without the files a local config named.
std::string NodeConfigJson(const NodeConfig& config, const std::vector<PackSource>& packs,
                           const std::optional<std::string>& catalog);

}  // namespace vigil::packs
