// The packs and catalogues under packs/, built into the binary so `vigil check iec62443` and
// the agent's standalone defaults need no files on the node.
#pragma once

#include <string_view>
#include <vector>

namespace vigil::packs {

struct EmbeddedFile {
  std::string_view path;     // relative to packs/: "iec62443/catalog.json"
  std::string_view content;
};

// Every embedded file, in path order.
const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace vigil::packs
