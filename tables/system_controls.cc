// system_controls: kernel parameters (sysctl) with their live value under /proc/sys and the
// value the sysctl.d configuration sets at boot, with the file and line it comes from.
#include <fnmatch.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum SystemControlsColumn : int {
  kName,
  kOid,
  kSubsystem,
  kCurrentValue,
  kConfigValue,
  kType,
  kFieldName,
  kConfigFile,
  kConfigLine,
  kColumnCount
};

Schema SystemControlsSchema() {
  return Schema{
      "system_controls",
      "Kernel parameters: every file under /proc/sys with its current value, and every key the "
      "sysctl.d configuration sets, with the effective configured value and where it comes "
      "from. Files are applied as at boot: *.conf in /etc/sysctl.d, /run/sysctl.d, "
      "/usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d (a name in an earlier "
      "directory hides the same name in later ones) sorted by file name, then /etc/sysctl.conf; "
      "the last assignment of a key wins and explicit keys win over glob patterns.",
      {
          {"name", ColumnType::kText,
           "Parameter name: the path below /proc/sys with '/' written as '.'", kIndex},
          {"oid", ColumnType::kText, "Numeric object id; always empty on Linux"},
          {"subsystem", ColumnType::kText, "First component of the name (kernel, net, vm, ...)"},
          {"current_value", ColumnType::kText,
           "Value read from /proc/sys without the trailing newline; NULL when the parameter "
           "does not exist or cannot be read (write-only, permission denied)"},
          {"config_value", ColumnType::kText,
           "Value the sysctl.d configuration assigns; NULL when no file sets it"},
          {"type", ColumnType::kText, "Value type; always empty on Linux"},
          {"field_name", ColumnType::kText, "Field name; always empty on Linux"},
          {"config_file", ColumnType::kText,
           "The file holding the effective assignment; NULL when no file sets it"},
          {"config_line", ColumnType::kInteger,
           "Line number (from 1) of the effective assignment in config_file"},
      }};
}

constexpr std::string_view kProcSys = "/proc/sys";
constexpr int kMaxDepth = 16;
constexpr size_t kMaxValueBytes = 1u << 20;
constexpr size_t kMaxConfigBytes = 4u << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// One assignment in a configuration file.
struct Setting {
  std::string value;
  std::string file;
  int64_t line = 0;
};

// The configuration after every file has been applied in order.
struct Config {
  std::map<std::string, Setting> keys;                 // explicit keys; the last one wins
  std::vector<std::pair<std::string, Setting>> globs;  // patterns, in the order applied
  std::set<std::string> excluded;                      // "-key" lines: kept out of globs
};

struct Control {
  bool live = false;  // a file under /proc/sys
  std::optional<std::string> current;
  const Setting* config = nullptr;
};

bool HasGlobMeta(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// Keys may separate components with '/' or '.'; a '.' inside a component (an interface named
// "eth0.100") is written as '/' in the dotted form. Either way the path is one component per
// separator, so the name is the key with every '/' as '.'.
std::string KeyName(std::string_view key) {
  std::string name(key);
  std::replace(name.begin(), name.end(), '/', '.');
  return name;
}

// The configuration files in the order they are applied.
std::vector<std::string> ConfigFiles(const Host& host) {
  static constexpr std::string_view kDirs[] = {"/etc/sysctl.d", "/run/sysctl.d",
                                               "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
                                               "/lib/sysctl.d"};
  std::map<std::string, std::string> by_name;  // file name -> the first directory's path
  for (std::string_view dir : kDirs) {
    Result<std::vector<std::string>> paths = host.Glob(std::string(dir) + "/*.conf");
    if (!paths.ok()) continue;
    for (std::string& path : *paths) by_name.emplace(BaseName(path), std::move(path));
  }
  std::vector<std::string> files;
  files.reserve(by_name.size() + 1);
  for (auto& [name, path] : by_name) files.push_back(std::move(path));
  files.emplace_back("/etc/sysctl.conf");
  return files;
}

void ApplyConfigFile(std::string_view text, const std::string& file, Config& config) {
  int64_t line_number = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_number;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    size_t eq = line.find('=');
    std::string_view key = Trim(line.substr(0, eq));
    bool ignore_failure = !key.empty() && key[0] == '-';  // "-key = v": failures are ignored
    if (ignore_failure) key = Trim(key.substr(1));
    if (key.empty()) continue;
    std::string name = KeyName(key);
    if (eq == std::string_view::npos) {
      if (ignore_failure) config.excluded.insert(std::move(name));
      continue;  // not an assignment
    }
    Setting setting{std::string(Trim(line.substr(eq + 1))), file, line_number};
    if (HasGlobMeta(name)) {
      config.globs.emplace_back(std::move(name), std::move(setting));
    } else {
      config.keys.insert_or_assign(std::move(name), std::move(setting));
    }
  }
}

Config LoadConfig(const Host& host) {
  Config config;
  for (const std::string& file : ConfigFiles(host)) {
    Result<std::string> text = host.ReadFile(file, kMaxConfigBytes);
    if (text.ok()) ApplyConfigFile(*text, file, config);  // missing or masked: nothing to apply
  }
  return config;
}

// Whether a glob pattern over names matches a name, one pattern component per path component.
bool GlobMatches(const std::string& pattern, const std::string& name) {
  std::string p = pattern, n = name;
  std::replace(p.begin(), p.end(), '.', '/');
  std::replace(n.begin(), n.end(), '.', '/');
  return ::fnmatch(p.c_str(), n.c_str(), FNM_PATHNAME) == 0;
}

// The walk of /proc/sys for one statement.
class ProcSysScan {
 public:
  ProcSysScan(const QueryContext& ctx, std::map<std::string, Control>& controls)
      : ctx_(ctx),
        wanted_(ctx.EqualsText("name")),
        read_values_(ctx.IsUsed(kCurrentValue)),
        controls_(controls) {}

  Status Walk(const std::string& dir, const std::string& prefix, int depth) {
    if (depth > kMaxDepth) return Status::Ok();
    Result<std::vector<DirEntry>> entries = ctx_.host().ListDirectory(dir);
    if (!entries.ok()) return Status::Ok();  // unreadable: nothing below it is listed
    for (const DirEntry& entry : *entries) {
      VIGIL_RETURN_IF_ERROR(ctx_.CheckDeadline());
      if (depth == 0 && !ctx_.Matches(kSubsystem, Value(entry.name))) continue;
      std::string name = prefix.empty() ? entry.name : prefix + "." + entry.name;
      std::string path = JoinPath(dir, entry.name);
      if (entry.type == FileType::kDirectory) {
        if (MayHold(name)) VIGIL_RETURN_IF_ERROR(Walk(path, name, depth + 1));
      } else if (entry.type == FileType::kRegular && ctx_.Matches(kName, Value(name))) {
        Control& control = controls_[name];
        control.live = true;
        if (read_values_) control.current = ReadValue(path);
      }
    }
    return Status::Ok();
  }

 private:
  // Whether a `name =` / IN constraint leaves a name below the directory `prefix`.
  bool MayHold(std::string_view prefix) const {
    if (!wanted_) return true;
    return std::any_of(wanted_->begin(), wanted_->end(), [prefix](const std::string& w) {
      return w.size() > prefix.size() && w.starts_with(prefix) && w[prefix.size()] == '.';
    });
  }

  std::optional<std::string> ReadValue(const std::string& path) const {
    Result<std::string> text = ctx_.host().ReadFile(path, kMaxValueBytes);
    if (!text.ok()) return std::nullopt;  // write-only, permission denied, EIO until set
    std::string value = std::move(*text);
    while (!value.empty() && value.back() == '\n') value.pop_back();
    return value;
  }

  const QueryContext& ctx_;
  const std::optional<std::vector<std::string>> wanted_;
  const bool read_values_;
  std::map<std::string, Control>& controls_;
};

class SystemControlsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::map<std::string, Control> controls;  // by name: rows come out sorted
    ProcSysScan scan(ctx, controls);
    VIGIL_RETURN_IF_ERROR(scan.Walk(std::string(kProcSys), "", 0));

    const Config config = LoadConfig(ctx.host());
    for (const auto& [name, setting] : config.keys) {
      if (!ctx.Matches(kName, Value(name)) || !ctx.Matches(kSubsystem, Value(Subsystem(name)))) {
        continue;
      }
      controls[name].config = &setting;
    }
    // A pattern sets the live parameters it matches, except those set by an explicit key or
    // excluded with "-key"; among patterns the later one wins.
    for (const auto& [pattern, setting] : config.globs) {
      for (auto& [name, control] : controls) {
        if (!control.live || config.keys.contains(name) || config.excluded.contains(name)) {
          continue;
        }
        if (GlobMatches(pattern, name)) control.config = &setting;
      }
    }

    std::vector<Row> rows;
    rows.reserve(controls.size());
    for (auto& [name, control] : controls) {
      Row row(kColumnCount);
      row[kName] = name;
      row[kOid] = "";
      row[kSubsystem] = Subsystem(name);
      if (control.current) row[kCurrentValue] = std::move(*control.current);
      if (control.config != nullptr) {
        row[kConfigValue] = control.config->value;
        row[kConfigFile] = control.config->file;
        row[kConfigLine] = control.config->line;
      }
      row[kType] = "";
      row[kFieldName] = "";
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  static std::string_view Subsystem(std::string_view name) {
    return name.substr(0, name.find('.'));
  }

  const Schema schema_ = SystemControlsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSystemControlsTable() { return std::make_unique<SystemControlsTable>(); }

}  // namespace vigil::tables
