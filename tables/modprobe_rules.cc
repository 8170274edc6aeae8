// modprobe_rules: the kernel module configuration modprobe applies (modprobe.d), one row per
// directive, with the file and line it comes from.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::ConfigLine;
using internal::ConfigLines;
using internal::ReadOptionalFile;
using internal::SplitFields;
using internal::SplitWhitespace;
using internal::Trim;

// Column positions, in the order of the column list below.
enum ModprobeRulesColumn : int { kDirective, kModule, kArgument, kFile, kLine, kColumnCount };

Schema ModprobeRulesSchema() {
  return Schema{
      "modprobe_rules",
      "Kernel module configuration as modprobe reads it: one row per directive. Files named "
      "*.conf (or *.alias) in /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d, "
      "/lib/modprobe.d and /usr/lib/modprobe.d are read in file-name order; a name in an "
      "earlier directory hides the same name in later ones, and names starting with '.' are "
      "skipped. Lines starting with '#' are comments and a trailing '\\' continues a line. "
      "Module options and blacklists given on the kernel command line (/proc/cmdline: "
      "'module.param=value', 'modprobe.blacklist=a,b') follow the files. Malformed lines and "
      "unknown directives are reported as warnings.",
      {
          {"directive", ColumnType::kText,
           "blacklist, install, remove, options, softdep, weakdep or alias"},
          {"module", ColumnType::kText,
           "Module name with every '-' written as '_' (modprobe treats them as equal and the "
           "kernel names modules with '_'): the subject of the directive, or for alias the "
           "module the alias resolves to"},
          {"argument", ColumnType::kText,
           "The rest of the line as written: the command of install/remove, the parameters of "
           "options, the dependencies of softdep/weakdep, the alias pattern of alias; NULL for "
           "blacklist"},
          {"file", ColumnType::kText,
           "The file holding the directive ('/proc/cmdline' for the "
           "kernel command line)"},
          {"line", ColumnType::kInteger,
           "Line number (from 1) in file; for a continued line, its first physical line; NULL "
           "for the kernel command line"},
      }};
}

constexpr std::string_view kConfigDirs[] = {"/etc/modprobe.d", "/run/modprobe.d",
                                            "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
                                            "/usr/lib/modprobe.d"};
constexpr size_t kMaxFileBytes = 4u << 20;

std::string ModuleName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

bool IsConfigName(std::string_view name) {
  return !name.empty() && name.front() != '.' &&
         (name.ends_with(".conf") || name.ends_with(".alias"));
}

// The files in the order modprobe reads them.
std::vector<std::string> ConfigFiles(const Host& host) {
  std::map<std::string, std::string> by_name;  // file name -> the first directory's path
  for (std::string_view dir : kConfigDirs) {
    Result<std::vector<DirEntry>> entries = host.ListDirectory(dir);
    if (!entries.ok()) continue;
    for (const DirEntry& entry : *entries) {
      if (!IsConfigName(entry.name) || by_name.contains(entry.name)) continue;
      std::string path = JoinPath(dir, entry.name);
      if (host.IsDirectory(path)) continue;
      by_name.emplace(entry.name, std::move(path));
    }
  }
  std::vector<std::string> files;
  for (auto& [name, path] : by_name) files.push_back(std::move(path));
  return files;
}

class RowSink {
 public:
  RowSink(const QueryContext& ctx, std::vector<Row>& rows) : ctx_(ctx), rows_(rows) {}

  void Add(std::string_view directive, std::string module, std::optional<std::string> argument,
           const std::string& file, std::optional<int> line) {
    if (!ctx_.Matches(kDirective, Value(directive)) || !ctx_.Matches(kModule, Value(module))) {
      return;
    }
    Row row(kColumnCount);
    row[kDirective] = directive;
    row[kModule] = std::move(module);
    if (argument) row[kArgument] = std::move(*argument);
    row[kFile] = file;
    if (line) row[kLine] = *line;
    rows_.push_back(std::move(row));
  }

 private:
  const QueryContext& ctx_;
  std::vector<Row>& rows_;
};

// The text after the first `words` words of `text`.
std::string_view After(std::string_view text, size_t words) {
  for (size_t i = 0; i < words; ++i) {
    text = Trim(text);
    size_t end = text.find_first_of(" \t");
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
  }
  return Trim(text);
}

void ParseFile(const QueryContext& ctx, const std::string& file, std::string_view content,
               RowSink& sink) {
  for (const ConfigLine& line : ConfigLines(content, "")) {
    if (line.text.front() == '#') continue;
    std::vector<std::string_view> words = SplitWhitespace(line.text);
    std::string_view directive = words[0];
    std::string where = file + ":" + std::to_string(line.number);
    if (directive == "blacklist") {
      if (words.size() < 2) {
        ctx.Warn(where + ": blacklist without a module name");
        continue;
      }
      sink.Add(directive, ModuleName(words[1]), std::nullopt, file, line.number);
    } else if (directive == "alias") {
      if (words.size() < 3) {
        ctx.Warn(where + ": alias needs a pattern and a module name");
        continue;
      }
      sink.Add(directive, ModuleName(words[2]), std::string(words[1]), file, line.number);
    } else if (directive == "options" || directive == "install" || directive == "remove" ||
               directive == "softdep" || directive == "weakdep") {
      if (words.size() < 3) {
        ctx.Warn(where + ": " + std::string(directive) + " needs a module name and an argument");
        continue;
      }
      sink.Add(directive, ModuleName(words[1]), std::string(After(line.text, 2)), file,
               line.number);
    } else if (directive == "include" || directive == "config") {
      ctx.Warn(where + ": '" + std::string(directive) + "' is obsolete and ignored by modprobe");
    } else {
      ctx.Warn(where + ": unknown directive '" + std::string(directive) + "'");
    }
  }
}

// "usbcore.autosuspend=-1" -> options usbcore autosuspend=-1;
// "modprobe.blacklist=a,b" -> blacklist a, blacklist b. Other words are not module settings.
void ParseCommandLine(std::string_view cmdline, RowSink& sink) {
  const std::string file = "/proc/cmdline";
  for (std::string_view word : SplitWhitespace(Trim(cmdline))) {
    size_t dot = word.find('.');
    size_t eq = word.find('=');
    if (dot == std::string_view::npos || eq == std::string_view::npos || eq < dot || dot == 0) {
      continue;
    }
    std::string_view module = word.substr(0, dot);
    std::string_view param = word.substr(dot + 1);
    if (module == "modprobe" && param.starts_with("blacklist=")) {
      for (std::string_view name : SplitFields(param.substr(10), ',')) {
        if (!name.empty()) sink.Add("blacklist", ModuleName(name), std::nullopt, file, {});
      }
    } else if (eq > dot + 1) {
      sink.Add("options", ModuleName(module), std::string(param), file, {});
    }
  }
}

class ModprobeRulesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    RowSink sink(ctx, rows);
    for (const std::string& file : ConfigFiles(ctx.host())) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      std::optional<std::string> content = ReadOptionalFile(ctx, file, kMaxFileBytes);
      if (content) ParseFile(ctx, file, *content, sink);
    }
    Result<std::string> cmdline = ctx.host().ReadFile("/proc/cmdline", 64u << 10);
    if (cmdline.ok()) ParseCommandLine(*cmdline, sink);
    return rows;
  }

 private:
  const Schema schema_ = ModprobeRulesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeModprobeRulesTable() { return std::make_unique<ModprobeRulesTable>(); }

}  // namespace vigil::tables
