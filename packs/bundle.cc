#include "packs/bundle.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "engine/host.h"
#include "packs/embedded.h"

namespace vigil::packs {
namespace {

constexpr size_t kMaxPackBytes = 4u << 20;
constexpr size_t kMaxCatalogBytes = 16u << 20;

Result<std::string> ReadMachineFile(const std::string& path, size_t max_bytes) {
  VIGIL_ASSIGN_OR_RETURN(auto machine, Host::Open("/"));
  return machine->ReadFile(path, max_bytes);
}

}  // namespace

bool AddBuiltinBundle(const std::string& name, Bundle& bundle) {
  bool found = false;
  for (const EmbeddedFile& f : EmbeddedFiles()) {
    if (!f.path.starts_with(name + "/")) continue;
    found = true;
    std::string file = "builtin:" + std::string(f.path);
    if (f.path.ends_with("/catalog.json")) {
      bundle.catalog = std::string(f.content);
      bundle.catalog_name = std::move(file);
    } else {
      bundle.sources.push_back({std::move(file), std::string(f.content)});
    }
  }
  return found;
}

Result<Bundle> CollectPacks(const std::vector<std::string>& names, const std::string& base_dir) {
  namespace fs = std::filesystem;
  Bundle bundle;
  for (const std::string& name : names) {
    if (name.empty()) return Status::InvalidArgument("empty pack name");
    std::error_code ec;
    fs::path path = name;
    if (path.is_relative()) path = (base_dir.empty() ? fs::current_path(ec) : fs::path(base_dir)) / path;
    if (!fs::exists(path, ec)) {
      if (AddBuiltinBundle(name, bundle)) continue;
      std::set<std::string> known;
      for (const EmbeddedFile& f : EmbeddedFiles()) {
        known.emplace(f.path.substr(0, f.path.find('/')));
      }
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return Status::NotFound("no pack file, directory or built-in bundle named '" + name + "'" +
                              (list.empty() ? "" : " (built in: " + list + ")"));
    }
    std::vector<std::string> files;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.path().extension() == ".json") files.push_back(entry.path().string());
      }
      if (ec) return Status::IoError("cannot list " + path.string() + ": " + ec.message());
      std::sort(files.begin(), files.end());
      if (auto c = std::find_if(files.begin(), files.end(),
                                [](const std::string& f) { return f.ends_with("/catalog.json"); });
          c != files.end()) {
        VIGIL_ASSIGN_OR_RETURN(std::string content, ReadMachineFile(*c, kMaxCatalogBytes));
        bundle.catalog = std::move(content);
        bundle.catalog_name = *c;
        files.erase(c);
      }
      if (files.empty()) return Status::NotFound("no pack files (*.json) in " + path.string());
    } else {
      files.push_back(path.string());
    }
    for (const std::string& file : files) {
      VIGIL_ASSIGN_OR_RETURN(std::string content, ReadMachineFile(file, kMaxPackBytes));
      bundle.sources.push_back({file, std::move(content)});
    }
  }
  return bundle;
}

}  // namespace vigil::packs
