#include "tables/internal/service_probe.h"

#include <algorithm>
#include <cctype>

#include "engine/host.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {

std::optional<std::set<std::string>> ProcessNames(const Host& host) {
  Result<std::vector<DirEntry>> entries = host.ListDirectory("/proc");
  if (!entries.ok()) return std::nullopt;
  bool any = false;
  std::set<std::string> names;
  for (const DirEntry& entry : *entries) {
    if (!std::all_of(entry.name.begin(), entry.name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      continue;
    }
    any = true;
    std::string name;
    if (Result<std::string> comm = host.ReadFile("/proc/" + entry.name + "/comm", 4096);
        comm.ok()) {
      name = Trim(*comm);
    } else if (Result<std::string> stat = host.ReadFile("/proc/" + entry.name + "/stat", 4096);
               stat.ok()) {
      // "PID (NAME) STATE ...": the same name, between the first '(' and the last ')'.
      size_t open = stat->find('(');
      size_t close = stat->rfind(')');
      if (open != std::string::npos && close != std::string::npos && close > open) {
        name = stat->substr(open + 1, close - open - 1);
      }
    }
    if (!name.empty()) names.insert(std::move(name));  // else the process has exited
  }
  if (!any) return std::nullopt;
  return names;
}

std::set<std::string> InstalledDebPackages(const QueryContext& ctx,
                                           const std::vector<std::string>& names) {
  std::set<std::string> installed;
  std::optional<std::string> status =
      ReadOptionalFile(ctx, "/var/lib/dpkg/status", size_t{256} << 20);
  if (!status) return installed;
  std::string package;
  bool ok = false;
  auto flush = [&] {
    if (ok && std::find(names.begin(), names.end(), package) != names.end()) {
      installed.insert(package);
    }
    package.clear();
    ok = false;
  };
  for (const NumberedLine& line : SplitLines(*status)) {
    if (line.text.empty()) {
      flush();
      continue;
    }
    if (line.text[0] == ' ' || line.text[0] == '\t') continue;  // a continuation line
    auto [key, value] = SplitKeyValue(line.text, ':');
    if (key == "Package") package = value;
    if (key == "Status") ok = SplitWhitespace(value).size() == 3 && value.ends_with(" installed");
  }
  flush();
  return installed;
}

}  // namespace vigil::tables::internal
