// pam_entries: the module stacks Linux-PAM builds for every service, with `@include`,
// `include` and `substack` expanded in place and each line's own file and line number.
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

using internal::Lower;
using internal::ReadOptionalFile;
using internal::SplitLines;
using internal::Trim;

// Column positions, in the order of the column list below.
enum PamEntriesColumn : int {
  kService,
  kType,
  kControl,
  kModule,
  kArguments,
  kFile,
  kLine,
  kPosition,
  kOptionalModule,
  kVia,
  kColumnCount
};

Schema PamEntriesSchema() {
  return Schema{
      "pam_entries",
      "The PAM module stacks of every service: one row per module line, in the order PAM runs "
      "them. Services are the files of /etc/pam.d (and of /usr/lib/pam.d for names /etc/pam.d "
      "lacks). `@include FILE` lines are replaced by the lines of FILE; `include` and "
      "`substack` controls by the lines of the named file that have the same type. Included "
      "lines keep their own file and line. '#' starts a comment anywhere on a line and a "
      "trailing '\\' continues it on the next. /etc/pam.conf (used only without /etc/pam.d) is "
      "not read. Include loops, missing included files and malformed lines are reported as "
      "warnings and skipped.",
      {
          {"service", ColumnType::kText, "Service name: the file name in /etc/pam.d", kIndex},
          {"type", ColumnType::kText,
           "Management group, lowercase, without a leading '-': auth, account, password or "
           "session"},
          {"control", ColumnType::kText,
           "Control as written: a keyword (lowercased: required, requisite, sufficient, "
           "optional) or a bracketed list kept whole ('[success=1 default=ignore]')"},
          {"module", ColumnType::kText, "Module path as written (pam_unix.so or an absolute path)"},
          {"arguments", ColumnType::kText,
           "Module arguments joined by single spaces, bracketed arguments kept whole; empty "
           "when there are none"},
          {"file", ColumnType::kText,
           "The file holding the line (an included file for included "
           "lines)"},
          {"line", ColumnType::kInteger,
           "Line number (from 1) in file; for a continued line, its first physical line"},
          {"position", ColumnType::kInteger,
           "Order (from 1) of the module in the service's stack for this type, after includes "
           "are expanded"},
          {"optional_module", ColumnType::kInteger,
           "1 when the line starts with '-' (a missing module is skipped silently), else 0"},
          {"via", ColumnType::kText,
           "How the line was reached from the service file: the including lines outermost "
           "first, each as 'FILE:LINE KEYWORD' (KEYWORD is @include, include or substack), "
           "joined by ', '; NULL for lines of the service file itself"},
      }};
}

constexpr std::string_view kPamDirs[] = {"/etc/pam.d", "/usr/lib/pam.d"};
constexpr int kMaxIncludeDepth = 16;  // Linux-PAM's own limit
constexpr size_t kMaxFileBytes = 1u << 20;

struct LogicalLine {
  int number = 0;
  std::string text;
};

// PAM's line assembly: '#' ends a line anywhere; a line whose last non-blank character is '\'
// (and that holds no comment) continues on the next, the '\' read as a space.
std::vector<LogicalLine> AssembleLines(std::string_view content) {
  std::vector<LogicalLine> out;
  std::string pending;
  int first = 0;
  for (const internal::NumberedLine& physical : SplitLines(content)) {
    std::string_view text = physical.text;
    size_t hash = text.find('#');
    bool continued = false;
    if (hash != std::string_view::npos) {
      text = text.substr(0, hash);
    } else {
      std::string_view trimmed = Trim(text);
      if (!trimmed.empty() && trimmed.back() == '\\') {
        continued = true;
        text = trimmed.substr(0, trimmed.size() - 1);
      }
    }
    if (pending.empty()) first = physical.number;
    pending.append(text);
    if (continued) {
      pending += ' ';
      continue;
    }
    if (!Trim(pending).empty()) out.push_back({first, std::string(Trim(pending))});
    pending.clear();
  }
  if (!Trim(pending).empty()) out.push_back({first, std::string(Trim(pending))});
  return out;
}

// Words separated by blanks; a word starting with '[' runs to the next unescaped ']'.
std::vector<std::string_view> Tokenize(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    size_t start = i;
    if (text[i] == '[') {
      ++i;
      while (i < text.size() && !(text[i] == ']' && text[i - 1] != '\\')) ++i;
      if (i < text.size()) ++i;  // the ']'
    }
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    tokens.push_back(text.substr(start, i - start));
  }
  return tokens;
}

bool IsModuleType(std::string_view type) {
  return type == "auth" || type == "account" || type == "password" || type == "session";
}

// Expands the stacks of one statement's services, reading each file at most once.
class StackExpander {
 public:
  explicit StackExpander(const QueryContext& ctx) : ctx_(ctx) {}

  void ExpandService(const std::string& service, const std::string& path, std::vector<Row>& rows) {
    service_ = &service;
    rows_ = &rows;
    positions_.clear();
    std::vector<std::string> chain;
    Expand(path, std::nullopt, "", chain);
  }

 private:
  // Appends the entries of `path` (only those of `type` when set). `via` describes how the
  // file was reached; `chain` holds the files being expanded, to stop include loops.
  void Expand(const std::string& path, const std::optional<std::string>& type,
              const std::string& via, std::vector<std::string>& chain) {
    const std::optional<std::string>& content = Content(path);
    if (!content) return;
    chain.push_back(path);
    for (const LogicalLine& line : AssembleLines(*content)) {
      std::vector<std::string_view> tokens = Tokenize(line.text);
      std::string where = path + ":" + std::to_string(line.number);
      if (Lower(tokens[0]) == "@include") {
        if (tokens.size() < 2) {
          Warn(where + ": @include without a file name");
          continue;
        }
        Include(where, "@include", tokens[1], type, via, chain);
        continue;
      }
      bool optional_module = tokens[0].front() == '-';
      std::string line_type = Lower(optional_module ? tokens[0].substr(1) : tokens[0]);
      if (!IsModuleType(line_type)) {
        Warn(where + ": unknown module type '" + std::string(tokens[0]) + "'");
        continue;
      }
      if (type && line_type != *type) continue;
      if (tokens.size() < 3) {
        Warn(where + ": expected a control and a module after '" + std::string(tokens[0]) + "'");
        continue;
      }
      std::string control(tokens[1]);
      if (control.front() != '[') control = Lower(control);
      if (control == "include" || control == "substack") {
        Include(where, control, tokens[2], line_type, via, chain);
        continue;
      }
      std::string arguments;
      for (size_t i = 3; i < tokens.size(); ++i) {
        if (!arguments.empty()) arguments += ' ';
        arguments.append(tokens[i]);
      }
      Row row(kColumnCount);
      row[kService] = *service_;
      row[kType] = line_type;
      row[kControl] = std::move(control);
      row[kModule] = tokens[2];
      row[kArguments] = std::move(arguments);
      row[kFile] = path;
      row[kLine] = line.number;
      row[kPosition] = ++positions_[line_type];
      row[kOptionalModule] = optional_module ? 1 : 0;
      if (!via.empty()) row[kVia] = via;
      rows_->push_back(std::move(row));
    }
    chain.pop_back();
  }

  void Include(const std::string& where, std::string_view keyword, std::string_view name,
               const std::optional<std::string>& type, const std::string& via,
               std::vector<std::string>& chain) {
    std::optional<std::string> target = Resolve(name);
    if (!target) {
      Warn(where + ": cannot open included file '" + std::string(name) + "'");
      return;
    }
    for (const std::string& open : chain) {
      if (open == *target) {
        Warn(where + ": include loop: " + *target + " is already being included");
        return;
      }
    }
    if (chain.size() >= kMaxIncludeDepth) {
      Warn(where + ": includes nested deeper than " + std::to_string(kMaxIncludeDepth));
      return;
    }
    std::string step = where + " " + std::string(keyword);
    Expand(*target, type, via.empty() ? step : via + ", " + step, chain);
  }

  // An absolute name as it is; a relative one in /etc/pam.d, then /usr/lib/pam.d.
  std::optional<std::string> Resolve(std::string_view name) const {
    if (name.front() == '/') {
      if (ctx_.host().Exists(name)) return std::string(name);
      return std::nullopt;
    }
    for (std::string_view dir : kPamDirs) {
      std::string path = JoinPath(dir, name);
      if (ctx_.host().Exists(path)) return path;
    }
    return std::nullopt;
  }

  const std::optional<std::string>& Content(const std::string& path) {
    auto it = files_.find(path);
    if (it == files_.end()) {
      it = files_.emplace(path, ReadOptionalFile(ctx_, path, kMaxFileBytes)).first;
    }
    return it->second;
  }

  void Warn(std::string message) const { ctx_.Warn(std::move(message)); }

  const QueryContext& ctx_;
  std::map<std::string, std::optional<std::string>> files_;
  const std::string* service_ = nullptr;
  std::vector<Row>* rows_ = nullptr;
  std::map<std::string, int64_t> positions_;
};

class PamEntriesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    // Service name -> its file; /etc/pam.d hides the same name in /usr/lib/pam.d.
    std::map<std::string, std::string> services;
    for (std::string_view dir : kPamDirs) {
      Result<std::vector<DirEntry>> entries = ctx.host().ListDirectory(dir);
      if (!entries.ok()) continue;
      for (const DirEntry& entry : *entries) {
        if (entry.type == FileType::kDirectory || entry.name.front() == '.') continue;
        std::string path = JoinPath(dir, entry.name);
        if (entry.type == FileType::kSymlink && ctx.host().IsDirectory(path)) continue;
        if (!ctx.Matches(kService, Value(entry.name))) continue;
        services.emplace(entry.name, std::move(path));
      }
    }
    std::vector<Row> rows;
    StackExpander expander(ctx);
    for (const auto& [service, path] : services) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      expander.ExpandService(service, path, rows);
    }
    return rows;
  }

 private:
  const Schema schema_ = PamEntriesSchema();
};

}  // namespace

std::unique_ptr<Table> MakePamEntriesTable() { return std::make_unique<PamEntriesTable>(); }

}  // namespace vigil::tables
