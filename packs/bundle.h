// Packs named the way people name them: a built-in bundle ("iec62443", packs/iec62443/ in the
// binary), a pack file, or a directory of packs whose catalog.json, if any, is the SR
// catalogue. `vigil check PACK...` and the agent's local config resolve names through this.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/packs/loader.h"
#include "engine/status.h"

namespace vigil::packs {

struct Bundle {
  std::vector<PackSource> sources;
  std::optional<std::string> catalog;  // catalog.json content
  std::string catalog_name;            // where it came from ("builtin:iec62443/catalog.json")
};

// Adds the built-in bundle `name` to `bundle`; false when there is none of that name.
bool AddBuiltinBundle(const std::string& name, Bundle& bundle);

// Resolves each name: an existing file or directory of this machine (relative names against
// `base_dir`, the working directory when empty), else a built-in bundle. NotFound names what
// was asked and lists the built-in bundles.
Result<Bundle> CollectPacks(const std::vector<std::string>& names, const std::string& base_dir = "");

}  // namespace vigil::packs
