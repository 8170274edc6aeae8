// logrotate_rules: the effective logrotate settings of every log file pattern, and the global
// defaults, from /etc/logrotate.conf and the files it includes.
#include <algorithm>
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

// Column positions, in the order of the column list below.
enum LogrotateRulesColumn : int {
  kPath,
  kDirective,
  kValue,
  kFile,
  kLine,
  kInherited,
  kColumnCount
};

Schema LogrotateRulesSchema() {
  return Schema{
      "logrotate_rules",
      "logrotate settings as logrotate applies them: /etc/logrotate.conf is read from the top "
      "and `include` pulls in a file or every file of a directory (name order; dot files and "
      "taboo extensions such as .dpkg-old skipped) at that point. A directive outside a block "
      "is a global default (rows with path ''); each log file pattern of a block gets one row "
      "per effective directive: its own, and the global defaults in force where the block "
      "starts that it does not override (inherited = 1). Opposites override each other "
      "(compress / nocompress, ifempty / notifempty, ...), as do the rotation criteria "
      "(hourly, daily, weekly, monthly, yearly, size).",
      {
          {"path", ColumnType::kText,
           "Log file pattern of the block, unquoted (one row set per pattern); '' for a global "
           "default"},
          {"directive", ColumnType::kText,
           "Directive as written (rotate, weekly, compress, create, postrotate, include, ...)"},
          {"value", ColumnType::kText,
           "The rest of the line (\"4\" for rotate 4, \"0640 root adm\" for create); the "
           "script lines for postrotate and the other scripts, joined with newlines; '' when "
           "the directive takes no value"},
          {"file", ColumnType::kText, "File holding the directive"},
          {"line", ColumnType::kInteger, "Line number (from 1) of the directive in file"},
          {"inherited", ColumnType::kInteger,
           "Vigil: 1 when the row is a global default applied to the block, 0 when the block "
           "or the global section sets it"},
      }};
}

constexpr size_t kMaxConfigBytes = 4u << 20;
constexpr int kMaxIncludeDepth = 8;

struct Directive {
  std::string name, value, file;
  int line = 0;
};

// Settings of which only the last one counts, by the name their opposites share.
std::string Group(std::string_view name) {
  static constexpr std::string_view kCriteria[] = {"hourly",  "daily",  "weekly",
                                                   "monthly", "yearly", "size"};
  static constexpr std::string_view kToggles[] = {
      "compress", "copy",          "copytruncate", "create",     "createolddir",
      "dateext",  "delaycompress", "ifempty",      "mail",       "missingok",
      "olddir",   "sharedscripts", "shred",        "renamecopy", "allowhardlink"};
  if (std::find(std::begin(kCriteria), std::end(kCriteria), name) != std::end(kCriteria)) {
    return "*criterion";
  }
  if (name == "notifempty") return "ifempty";
  if (name.starts_with("no") &&
      std::find(std::begin(kToggles), std::end(kToggles), name.substr(2)) != std::end(kToggles)) {
    return std::string(name.substr(2));
  }
  return std::string(name);
}

bool IsScript(std::string_view name) {
  return name == "postrotate" || name == "prerotate" || name == "firstaction" ||
         name == "lastaction" || name == "preremove";
}

// Directives that steer reading the configuration rather than rotating: never inherited.
bool IsReaderDirective(std::string_view name) {
  return name == "include" || name == "tabooext" || name == "taboopat";
}

// "rotate 4", "size=100k", "size = 100k": the name, and the rest as its value.
Directive ParseDirective(std::string_view text, const std::string& file, int line) {
  size_t end = text.find_first_of(" \t=");
  std::string_view name = text.substr(0, end);
  std::string_view value = end == std::string_view::npos ? "" : internal::Trim(text.substr(end));
  if (value.starts_with('=')) value = internal::Trim(value.substr(1));
  return Directive{std::string(name), std::string(value), file, line};
}

// Log file patterns separated by whitespace; "..." or '...' keep spaces inside one.
std::vector<std::string> SplitPatterns(std::string_view text) {
  std::vector<std::string> patterns;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    std::string pattern;
    if (text[i] == '"' || text[i] == '\'') {
      size_t close = text.find(text[i], i + 1);
      if (close == std::string_view::npos) close = text.size();
      pattern = text.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      size_t end = text.find_first_of(" \t", i);
      if (end == std::string_view::npos) end = text.size();
      pattern = text.substr(i, end - i);
      i = end;
    }
    if (!pattern.empty()) patterns.push_back(std::move(pattern));
  }
  return patterns;
}

class Reader {
 public:
  Reader(const QueryContext& ctx, std::vector<Row>& rows) : ctx_(ctx), rows_(rows) {}

  void ReadFile(const std::string& file, int depth) {
    if (std::find(reading_.begin(), reading_.end(), file) != reading_.end()) {
      ctx_.Warn(file + ": include loop: the file is already being read");
      return;
    }
    if (depth > kMaxIncludeDepth) {
      ctx_.Warn(file + ": include nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
      return;
    }
    std::optional<std::string> text = internal::ReadOptionalFile(ctx_, file, kMaxConfigBytes);
    if (!text) return;
    reading_.push_back(file);
    Parse(*text, file, depth);
    reading_.pop_back();
  }

 private:
  void Parse(std::string_view text, const std::string& file, int depth) {
    std::vector<std::string> paths;  // patterns read, waiting for '{'
    bool in_block = false;
    std::vector<Directive> block;     // the open block's own directives
    std::vector<Directive> defaults;  // the globals in force where the block opened
    std::optional<Directive> script;  // a script being read, until endscript
    int block_line = 0;
    auto warn = [&](int line, std::string_view what) {
      ctx_.Warn(file + ":" + std::to_string(line) + ": " + std::string(what));
    };
    for (const internal::NumberedLine& raw : internal::SplitLines(text)) {
      std::string_view t = internal::Trim(raw.text);
      if (script) {
        if (t == "endscript") {
          if (in_block) {
            block.push_back(std::move(*script));
          } else {
            Global(std::move(*script), depth);
          }
          script.reset();
        } else {
          if (!script->value.empty()) script->value += '\n';
          script->value += t;
        }
        continue;
      }
      if (t.empty() || t[0] == '#') continue;
      if (t == "}") {
        if (!in_block) {
          warn(raw.number, "'}' outside a block");
          continue;
        }
        EmitBlock(paths, block, defaults);
        in_block = false;
        paths.clear();
        continue;
      }
      if (!in_block && (t.ends_with('{') || t[0] == '/' || t[0] == '"' || t[0] == '\'')) {
        bool opens = t.ends_with('{');
        if (opens) t = internal::Trim(t.substr(0, t.size() - 1));
        for (std::string& pattern : SplitPatterns(t)) paths.push_back(std::move(pattern));
        if (!opens) continue;
        if (paths.empty()) warn(raw.number, "'{' without a log file pattern");
        in_block = true;
        block_line = raw.number;
        block.clear();
        defaults = globals_;
        continue;
      }
      if (t.ends_with('{')) {
        warn(raw.number, "nested block");
        continue;
      }
      if (!in_block && !paths.empty()) {
        warn(raw.number, "log file pattern not followed by '{'");
        paths.clear();
      }
      Directive d = ParseDirective(t, file, raw.number);
      if (IsScript(d.name)) {
        d.value.clear();
        script = std::move(d);
        continue;
      }
      if (in_block) {
        if (IsReaderDirective(d.name)) {
          warn(raw.number, "'" + d.name + "' is not allowed inside a block");
          continue;
        }
        block.push_back(std::move(d));
        continue;
      }
      Global(std::move(d), depth);
    }
    if (script) warn(script->line, "'" + script->name + "' without endscript");
    if (in_block) warn(block_line, "block not closed with '}'");
  }

  void Global(Directive d, int depth) {
    EmitGlobal(d);
    if (d.name == "include") {
      Include(d.value, depth);
    } else if (d.name == "tabooext") {
      std::string_view list = d.value;
      if (list.starts_with('+')) {
        list.remove_prefix(1);
      } else {
        taboo_.clear();
      }
      for (std::string_view ext : internal::SplitWhitespace(list)) {
        for (std::string_view part : internal::SplitFields(ext, ',')) {
          if (!part.empty()) taboo_.emplace_back(part);
        }
      }
    } else if (!IsReaderDirective(d.name)) {
      std::string group = Group(d.name);
      std::erase_if(globals_, [&group](const Directive& g) { return Group(g.name) == group; });
      globals_.push_back(std::move(d));
    }
  }

  void Include(std::string_view target, int depth) {
    std::string path(internal::Unquote(target));
    if (!path.starts_with('/')) return;
    Result<std::vector<DirEntry>> entries = ctx_.host().ListDirectory(path);
    if (!entries.ok()) {
      ReadFile(path, depth + 1);  // a file, or missing (then nothing is read)
      return;
    }
    for (const DirEntry& entry : *entries) {
      if (entry.name[0] == '.' || entry.type == FileType::kDirectory || IsTaboo(entry.name)) {
        continue;
      }
      ReadFile(JoinPath(path, entry.name), depth + 1);
    }
  }

  bool IsTaboo(std::string_view name) const {
    return std::any_of(taboo_.begin(), taboo_.end(), [name](const std::string& ext) {
      if (ext.ends_with('*')) {  // ".rhn-cfg-tmp-*"
        return name.find(std::string_view(ext).substr(0, ext.size() - 1)) != std::string::npos;
      }
      return name.ends_with(ext);
    });
  }

  void EmitGlobal(const Directive& d) { Emit("", d, false); }

  void EmitBlock(const std::vector<std::string>& paths, const std::vector<Directive>& block,
                 const std::vector<Directive>& defaults) {
    // The block's own settings: the last of each group.
    std::vector<const Directive*> own;
    for (const Directive& d : block) {
      std::string group = Group(d.name);
      std::erase_if(own, [&group](const Directive* o) { return Group(o->name) == group; });
      own.push_back(&d);
    }
    for (const std::string& path : paths) {
      for (const Directive* d : own) Emit(path, *d, false);
      for (const Directive& d : defaults) {
        std::string group = Group(d.name);
        bool overridden = std::any_of(own.begin(), own.end(), [&group](const Directive* o) {
          return Group(o->name) == group;
        });
        if (!overridden) Emit(path, d, true);
      }
    }
  }

  void Emit(const std::string& path, const Directive& d, bool inherited) {
    Row row(kColumnCount);
    row[kPath] = path;
    row[kDirective] = d.name;
    row[kValue] = d.value;
    row[kFile] = d.file;
    row[kLine] = d.line;
    row[kInherited] = inherited ? 1 : 0;
    rows_.push_back(std::move(row));
  }

  const QueryContext& ctx_;
  std::vector<Row>& rows_;
  std::vector<std::string> reading_;  // the include chain being read, outermost first
  std::vector<Directive> globals_;    // in force now, one per group, in the order last set
  std::vector<std::string> taboo_ = {
      ",v",        ".cfsaved",  ".disabled",      ".dpkg-bak", ".dpkg-del", ".dpkg-dist",
      ".dpkg-new", ".dpkg-old", ".rhn-cfg-tmp-*", ".rpmnew",   ".rpmorig",  ".rpmsave",
      ".swp",      ".ucf-dist", ".ucf-new",       ".ucf-old",  "~"};
};

class LogrotateRulesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    Reader reader(ctx, rows);
    reader.ReadFile("/etc/logrotate.conf", 0);
    return rows;
  }

 private:
  const Schema schema_ = LogrotateRulesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeLogrotateRulesTable() { return std::make_unique<LogrotateRulesTable>(); }

}  // namespace vigil::tables
