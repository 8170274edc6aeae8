#include "tables/internal/systemd_units.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

constexpr size_t kMaxUnitFileBytes = 1u << 20;
constexpr int kMaxLinkHops = 16;

constexpr std::string_view kUnitSuffixes[] = {".service", ".socket",    ".target", ".device",
                                              ".mount",   ".automount", ".swap",   ".timer",
                                              ".path",    ".slice",     ".scope"};

// The search directories with those that resolve to an earlier one (a merged /usr makes /lib
// the same as /usr/lib) left out.
std::vector<UnitDir> DistinctUnitDirs(const Host& host) {
  std::vector<UnitDir> dirs;
  std::vector<std::string> seen;
  for (const UnitDir& dir : SystemUnitDirs()) {
    Result<std::string> canonical = host.Canonical(dir.path);
    std::string key = canonical.ok() ? *canonical : std::string(dir.path);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(std::move(key));
    dirs.push_back(dir);
  }
  return dirs;
}

// "/a/./b/../c" -> "/a/c", without touching the file system.
std::string LexicallyNormal(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::string_view part : SplitFields(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) (out += '/') += part;
  return out.empty() ? "/" : out;
}

bool IsSearchDir(std::string_view dir) {
  const auto& dirs = SystemUnitDirs();
  return std::any_of(dirs.begin(), dirs.end(), [dir](const UnitDir& d) { return d.path == dir; });
}

// The drop-in files of the unit known by `names`, one per file name (the highest priority
// directory wins), sorted by file name. A drop-in linked to /dev/null hides the name.
std::vector<std::string> DropinFiles(const Host& host, const std::vector<std::string>& names) {
  std::map<std::string, std::string> by_name;
  for (const UnitDir& dir : DistinctUnitDirs(host)) {
    for (const std::string& name : names) {
      std::string dropin_dir = JoinPath(dir.path, name + ".d");
      Result<std::vector<DirEntry>> entries = host.ListDirectory(dropin_dir);
      if (!entries.ok()) continue;
      for (const DirEntry& entry : *entries) {
        if (entry.name.size() <= 5 || !entry.name.ends_with(".conf")) continue;
        by_name.emplace(entry.name, JoinPath(dropin_dir, entry.name));
      }
    }
  }
  std::vector<std::string> files;
  for (auto& [name, path] : by_name) {
    Result<std::string> target = host.ReadLink(path);
    if (target.ok() && *target == "/dev/null") continue;
    files.push_back(std::move(path));
  }
  return files;
}

}  // namespace

const std::vector<UnitDir>& SystemUnitDirs() {
  static const std::vector<UnitDir> kDirs = {
      {"/run/systemd/transient", UnitDirKind::kTransient},
      {"/run/systemd/generator.early", UnitDirKind::kGenerator},
      {"/etc/systemd/system", UnitDirKind::kConfig},
      {"/run/systemd/system", UnitDirKind::kRuntime},
      {"/run/systemd/generator", UnitDirKind::kGenerator},
      {"/usr/local/lib/systemd/system", UnitDirKind::kVendor},
      {"/usr/lib/systemd/system", UnitDirKind::kVendor},
      {"/lib/systemd/system", UnitDirKind::kVendor},
      {"/run/systemd/generator.late", UnitDirKind::kGenerator},
  };
  return kDirs;
}

bool IsUnitName(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || name.find('/') != std::string_view::npos) {
    return false;
  }
  std::string_view suffix = name.substr(dot);
  return std::find(std::begin(kUnitSuffixes), std::end(kUnitSuffixes), suffix) !=
         std::end(kUnitSuffixes);
}

bool IsUnitTemplate(std::string_view name) {
  size_t dot = name.rfind('.');
  return IsUnitName(name) && dot > 0 && name[dot - 1] == '@';
}

std::string TemplateOf(std::string_view name) {
  size_t at = name.find('@');
  size_t dot = name.rfind('.');
  if (!IsUnitName(name) || at == std::string_view::npos || at + 1 >= dot) return "";
  return std::string(name.substr(0, at + 1)) + std::string(name.substr(dot));
}

std::string WithSuffix(std::string_view name, std::string_view suffix) {
  size_t dot = name.rfind('.');
  return std::string(name.substr(0, dot)) + std::string(suffix);
}

std::map<std::string, UnitFileEntry> ListUnitFiles(const Host& host) {
  std::map<std::string, UnitFileEntry> units;
  for (const UnitDir& dir : DistinctUnitDirs(host)) {
    Result<std::vector<DirEntry>> entries = host.ListDirectory(dir.path);
    if (!entries.ok()) continue;
    for (const DirEntry& entry : *entries) {
      if (entry.type == FileType::kDirectory || !IsUnitName(entry.name)) continue;
      units.emplace(entry.name,
                    UnitFileEntry{entry.name, JoinPath(dir.path, entry.name), dir.kind});
    }
  }
  return units;
}

std::optional<UnitFileEntry> FindUnitFile(const Host& host, std::string_view name) {
  if (!IsUnitName(name)) return std::nullopt;
  for (const UnitDir& dir : DistinctUnitDirs(host)) {
    std::string path = JoinPath(dir.path, name);
    Result<struct stat> st = host.Lstat(path);
    if (st.ok() && !S_ISDIR(st->st_mode)) return UnitFileEntry{std::string(name), path, dir.kind};
  }
  return std::nullopt;
}

std::vector<UnitSetting> ParseUnitFile(std::string_view content, const std::string& file,
                                       const WarnFn& warn, bool* invalid) {
  std::vector<UnitSetting> settings;
  std::string section;
  std::string pending;  // a line continued with '\'
  int first_line = 0;
  for (const NumberedLine& line : SplitLines(content)) {
    std::string_view text = Trim(line.text);
    // Comment lines are skipped, also in the middle of a continued line.
    if (!text.empty() && (text[0] == '#' || text[0] == ';')) continue;
    if (pending.empty()) {
      if (text.empty()) continue;
      first_line = line.number;
    }
    if (!text.empty() && text.back() == '\\') {
      pending.append(text.substr(0, text.size() - 1));
      pending += ' ';
      continue;
    }
    std::string full = std::move(pending) + std::string(text);
    pending.clear();
    if (full.front() == '[') {
      if (full.back() == ']') {
        section = full.substr(1, full.size() - 2);
      } else {
        warn(file + ":" + std::to_string(first_line) + ": malformed section header");
        if (invalid != nullptr) *invalid = true;
      }
      continue;
    }
    size_t eq = full.find('=');
    std::string_view key =
        eq == std::string::npos ? "" : Trim(std::string_view(full).substr(0, eq));
    if (key.empty()) {
      warn(file + ":" + std::to_string(first_line) + ": not a [Section] or Key=Value line");
      continue;
    }
    settings.push_back({section, std::string(key),
                        std::string(Trim(std::string_view(full).substr(eq + 1))), file,
                        first_line});
  }
  return settings;
}

std::optional<std::string> LastValue(const std::vector<UnitSetting>& settings,
                                     std::string_view section, std::string_view key) {
  for (auto it = settings.rbegin(); it != settings.rend(); ++it) {
    if (it->section == section && it->key == key) return it->value;
  }
  return std::nullopt;
}

std::vector<std::string> ListValues(const std::vector<UnitSetting>& settings,
                                    std::string_view section, std::string_view key,
                                    bool split_words) {
  std::vector<std::string> values;
  for (const UnitSetting& s : settings) {
    if (s.section != section || s.key != key) continue;
    if (s.value.empty()) {
      values.clear();
    } else if (split_words) {
      for (std::string_view word : SplitWhitespace(s.value)) values.emplace_back(word);
    } else {
      values.push_back(s.value);
    }
  }
  return values;
}

EnablementLinks EnablementLinks::Scan(const Host& host) {
  EnablementLinks links;
  for (auto [dir, runtime] : {std::pair<std::string_view, bool>{"/etc/systemd/system", false},
                              std::pair<std::string_view, bool>{"/run/systemd/system", true}}) {
    Result<std::vector<DirEntry>> entries = host.ListDirectory(dir);
    if (!entries.ok()) continue;
    for (const DirEntry& entry : *entries) {
      std::string path = JoinPath(dir, entry.name);
      if (entry.type == FileType::kSymlink) {
        Result<std::string> target = host.ReadLink(path);
        if (target.ok()) links.links_.push_back({entry.name, BaseName(*target), runtime, true});
        continue;
      }
      if (entry.type != FileType::kDirectory ||
          !(entry.name.ends_with(".wants") || entry.name.ends_with(".requires") ||
            entry.name.ends_with(".upholds"))) {
        continue;
      }
      Result<std::vector<DirEntry>> wanted = host.ListDirectory(path);
      if (!wanted.ok()) continue;
      for (const DirEntry& link : *wanted) {
        if (link.type != FileType::kSymlink) continue;
        Result<std::string> target = host.ReadLink(JoinPath(path, link.name));
        if (!target.ok() || *target == "/dev/null") continue;
        links.links_.push_back({link.name, BaseName(*target), runtime, false});
      }
    }
  }
  return links;
}

std::string_view EnablementLinks::StateOf(std::string_view name,
                                          const std::vector<std::string>& aliases,
                                          std::string_view default_instance) const {
  bool config = false;
  bool runtime = false;
  bool indirect = false;
  const bool is_template = IsUnitTemplate(name);
  std::string default_name;
  if (is_template && !default_instance.empty()) {
    size_t at = name.find('@');
    default_name = std::string(name.substr(0, at + 1)) + std::string(default_instance) +
                   std::string(name.substr(at + 1));
  }
  auto is_alias = [&aliases](const std::string& n) {
    return std::find(aliases.begin(), aliases.end(), n) != aliases.end();
  };
  for (const Link& link : links_) {
    bool known_name;
    if (link.top_level) {
      // An alias link: counts when it is one of the unit's Alias= names.
      if (link.name == name || link.target_name != name) continue;  // its own entry, or another
      known_name = is_alias(link.name);
    } else if (link.name == name) {
      known_name = true;
    } else if (is_template && TemplateOf(link.name) == name) {
      known_name = link.name == default_name;  // another instance only makes it indirect
    } else {
      continue;  // a link under an unrelated name does not count, whatever its target
    }
    if (!known_name) {
      indirect = true;
    } else {
      (link.runtime ? runtime : config) = true;
    }
  }
  if (config) return "enabled";
  if (runtime) return "enabled-runtime";
  return indirect ? "indirect" : "";
}

UnitFile LoadUnitFile(const Host& host, const UnitFileEntry& entry, const EnablementLinks& links,
                      const WarnFn& warn) {
  UnitFile unit;
  unit.name = entry.name;
  unit.path = entry.path;
  const bool runtime = entry.kind != UnitDirKind::kConfig && entry.kind != UnitDirKind::kVendor;

  // Follow the entry's links to the unit file; a link to /dev/null masks the unit.
  std::string current = entry.path;
  bool linked = false;
  Result<struct stat> st = host.Lstat(current);
  for (int hops = 0; st.ok() && S_ISLNK(st->st_mode); ++hops) {
    Result<std::string> target = host.ReadLink(current);
    if (!target.ok() || hops == kMaxLinkHops) {
      unit.state = "bad";
      return unit;
    }
    if (*target == "/dev/null") {
      unit.masked = true;
      break;
    }
    current = LexicallyNormal(target->starts_with('/') ? *target
                                                       : JoinPath(ParentPath(current), *target));
    linked = true;
    st = host.Lstat(current);
  }
  if (!unit.masked && st.ok() && S_ISREG(st->st_mode) && st->st_size == 0) unit.masked = true;
  if (unit.masked) {
    unit.state = runtime ? "masked-runtime" : "masked";
    return unit;
  }
  if (!st.ok() || !S_ISREG(st->st_mode)) {
    unit.state = "bad";  // a dangling link, or not a file
    return unit;
  }
  unit.fragment_path = current;

  Result<std::string> content = host.ReadFile(current, kMaxUnitFileBytes);
  if (!content.ok()) {
    warn(content.status().message());
    unit.state = "bad";
    return unit;
  }
  bool invalid = false;
  unit.settings = ParseUnitFile(*content, current, warn, &invalid);

  const std::string real_name = BaseName(current);
  std::vector<std::string> names;
  if (std::string tmpl = TemplateOf(entry.name); !tmpl.empty()) names.push_back(std::move(tmpl));
  names.push_back(real_name);
  if (real_name != entry.name) names.push_back(entry.name);
  unit.dropins = DropinFiles(host, names);
  for (const std::string& dropin : unit.dropins) {
    Result<std::string> text = host.ReadFile(dropin, kMaxUnitFileBytes);
    if (!text.ok()) {
      if (text.status().code() != StatusCode::kNotFound) warn(text.status().message());
      continue;
    }
    std::vector<UnitSetting> more = ParseUnitFile(*text, dropin, warn, &invalid);
    unit.settings.insert(unit.settings.end(), more.begin(), more.end());
  }

  const std::vector<UnitSetting>& install = unit.settings;
  const std::string_view enabled =
      links.StateOf(entry.name, ListValues(install, "Install", "Alias", true),
                    LastValue(install, "Install", "DefaultInstance").value_or(""));
  if (invalid) {
    unit.state = "bad";  // systemd refuses a file with a malformed section header
  } else if (real_name != entry.name && TemplateOf(entry.name).empty()) {
    unit.state = "alias";
  } else if (entry.kind == UnitDirKind::kGenerator) {
    unit.state = "generated";
  } else if (entry.kind == UnitDirKind::kTransient) {
    unit.state = "transient";
  } else if (enabled.starts_with("enabled")) {
    unit.state = enabled;
  } else if (linked && (entry.kind == UnitDirKind::kConfig || runtime) &&
             !IsSearchDir(ParentPath(current))) {
    unit.state = runtime ? "linked-runtime" : "linked";
  } else if (enabled == "indirect") {
    unit.state = enabled;
  } else if (!ListValues(install, "Install", "WantedBy", true).empty() ||
             !ListValues(install, "Install", "RequiredBy", true).empty() ||
             !ListValues(install, "Install", "UpheldBy", true).empty() ||
             !ListValues(install, "Install", "Alias", true).empty()) {
    unit.state = "disabled";
  } else if (!ListValues(install, "Install", "Also", true).empty()) {
    unit.state = "indirect";
  } else {
    unit.state = "static";
  }
  return unit;
}

std::optional<std::string> UnitFileState(const Host& host, std::string_view name,
                                         const WarnFn& warn) {
  std::optional<UnitFileEntry> entry = FindUnitFile(host, name);
  if (!entry) return std::nullopt;
  return LoadUnitFile(host, *entry, EnablementLinks::Scan(host), warn).state;
}

bool SystemdIsRunning(const Host& host) {
  return host.is_machine_root() && host.IsDirectory("/run/systemd/system");
}

std::optional<bool> ParseSystemdBool(std::string_view text) {
  std::string value = Lower(Trim(text));
  if (value == "yes" || value == "true" || value == "on" || value == "1") return true;
  if (value == "no" || value == "false" || value == "off" || value == "0") return false;
  return std::nullopt;
}

}  // namespace vigil::tables::internal
