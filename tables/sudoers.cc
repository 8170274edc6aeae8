// sudoers: the rules of /etc/sudoers and the files it includes, one row per entry, in the order
// sudo reads them.
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

using internal::ReadOptionalFile;
using internal::SplitLines;
using internal::StartsWith;
using internal::Trim;
using internal::Unquote;

// Column positions, in the order of the column list below.
enum SudoersColumn : int { kSource, kHeader, kRuleDetails, kLine, kType, kNopasswd, kColumnCount };

Schema SudoersSchema() {
  return Schema{
      "sudoers",
      "Entries of /etc/sudoers and of the files it includes, in the order sudo reads them: "
      "`@include`/`#include FILE` (a relative name is looked up in the including file's "
      "directory) and `@includedir`/`#includedir DIR` (its regular files whose names hold no "
      "'.' and do not end in '~', in name order) are followed where they stand, and reported "
      "as rows themselves. '#' starts a comment unless it begins an include directive or a "
      "numeric id (#1001); a trailing '\\' continues a line. Unreadable files, include loops "
      "and missing included files are reported as warnings.",
      {
          {"source", ColumnType::kText, "The file holding the entry"},
          {"header", ColumnType::kText,
           "The entry's first part: 'Defaults' (or 'Defaults:user' and the like), the alias "
           "keyword (User_Alias, Runas_Alias, Host_Alias, Cmnd_Alias), the include directive, or "
           "the user list of a user specification ('%sudo', 'alice, bob')"},
          {"rule_details", ColumnType::kText,
           "The rest of the entry, continued lines joined and comments removed"},
          {"line", ColumnType::kInteger,
           "Line number (from 1) in source; for a continued entry, its first physical line"},
          {"type", ColumnType::kText, "defaults, alias, user_spec or include"},
          {"nopasswd", ColumnType::kInteger,
           "For a user specification, 1 when it grants commands with NOPASSWD:, else 0; NULL "
           "for the other types"},
      }};
}

constexpr std::string_view kSudoers = "/etc/sudoers";
constexpr int kMaxIncludeDepth = 32;
constexpr size_t kMaxFileBytes = 4u << 20;

struct Entry {
  int line = 0;
  std::string text;
};

bool IsDirective(std::string_view text) {
  for (std::string_view d : {"@include", "@includedir", "#include", "#includedir"}) {
    if (StartsWith(text, d) &&
        (text.size() == d.size() || text[d.size()] == ' ' || text[d.size()] == '\t')) {
      return true;
    }
  }
  return false;
}

// Logical entries: comments removed, continued lines joined with a space.
std::vector<Entry> Entries(std::string_view content) {
  std::vector<Entry> out;
  std::string pending;
  int first = 0;
  for (const internal::NumberedLine& physical : SplitLines(content)) {
    std::string_view text = physical.text;
    if (pending.empty() && IsDirective(Trim(text))) {
      out.push_back({physical.number, std::string(Trim(text))});
      continue;
    }
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '"') quoted = !quoted;
      bool uid = i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9';
      if (text[i] == '#' && !quoted && !uid) {
        text = text.substr(0, i);
        break;
      }
    }
    text = Trim(text);
    bool continued = !text.empty() && text.back() == '\\';
    if (continued) text = Trim(text.substr(0, text.size() - 1));
    if (pending.empty()) first = physical.number;
    if (!text.empty()) {
      if (!pending.empty()) pending += ' ';
      pending.append(text);
    }
    if (continued) continue;
    if (!pending.empty()) out.push_back({first, std::move(pending)});
    pending.clear();
  }
  if (!pending.empty()) out.push_back({first, std::move(pending)});
  return out;
}

// The user list ends at the first blank that has no ',' on either side.
size_t UserListEnd(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ' ' && text[i] != '\t') continue;
    size_t next = text.find_first_not_of(" \t", i);
    if (next == std::string_view::npos) return i;
    if (text[i - 1] == ',' || text[next] == ',') {
      i = next - 1;
      continue;
    }
    return i;
  }
  return text.size();
}

class SudoersReader {
 public:
  SudoersReader(const QueryContext& ctx, std::vector<Row>& rows) : ctx_(ctx), rows_(rows) {}

  void Read(const std::string& path) {
    std::optional<std::string> content = ReadOptionalFile(ctx_, path, kMaxFileBytes);
    if (!content) return;
    chain_.push_back(path);
    for (const Entry& entry : Entries(*content)) {
      std::string_view text = entry.text;
      size_t split = text.find_first_of(" \t");
      std::string_view first = text.substr(0, split);
      std::string_view rest = split == std::string_view::npos ? "" : Trim(text.substr(split));
      if (IsDirective(text)) {
        Add(path, entry.line, "include", first, rest);
        Include(path + ":" + std::to_string(entry.line), path, first.ends_with("dir"),
                Unquote(rest));
      } else if (first == "Defaults" || first.starts_with("Defaults:") ||
                 first.starts_with("Defaults@") || first.starts_with("Defaults>") ||
                 first.starts_with("Defaults!")) {
        Add(path, entry.line, "defaults", first, rest);
      } else if (first == "User_Alias" || first == "Runas_Alias" || first == "Host_Alias" ||
                 first == "Cmnd_Alias" || first == "Cmd_Alias") {
        Add(path, entry.line, "alias", first, rest);
      } else {
        size_t end = UserListEnd(text);
        Add(path, entry.line, "user_spec", text.substr(0, end), Trim(text.substr(end)));
      }
    }
    chain_.pop_back();
  }

 private:
  void Add(const std::string& path, int line, std::string_view type, std::string_view header,
           std::string_view details) {
    Row row(kColumnCount);
    row[kSource] = path;
    row[kHeader] = header;
    row[kRuleDetails] = details;
    row[kLine] = line;
    row[kType] = type;
    if (type == "user_spec") {
      row[kNopasswd] = details.find("NOPASSWD:") != std::string_view::npos ? 1 : 0;
    }
    rows_.push_back(std::move(row));
  }

  void Include(const std::string& where, const std::string& from, bool directory,
               std::string_view name) {
    if (name.empty()) {
      ctx_.Warn(where + ": include without a path");
      return;
    }
    std::string target = name.front() == '/' ? std::string(name) : JoinPath(ParentPath(from), name);
    if (chain_.size() >= kMaxIncludeDepth) {
      ctx_.Warn(where + ": includes nested deeper than " + std::to_string(kMaxIncludeDepth));
      return;
    }
    if (!directory) {
      if (ctx_.host().Exists(target)) {
        ReadChecked(where, target);
      } else {
        ctx_.Warn(where + ": included file " + target + " does not exist");
      }
      return;
    }
    Result<std::vector<DirEntry>> entries = ctx_.host().ListDirectory(target);
    if (!entries.ok()) {
      if (entries.status().code() != StatusCode::kNotFound) {
        ctx_.Warn(where + ": " + entries.status().message());
      }
      return;
    }
    for (const DirEntry& entry : *entries) {
      if (entry.name.find('.') != std::string::npos || entry.name.ends_with("~")) continue;
      std::string path = JoinPath(target, entry.name);
      Result<struct stat> st = ctx_.host().Stat(path);
      if (!st.ok() || !S_ISREG(st->st_mode)) continue;
      ReadChecked(where, path);
    }
  }

  void ReadChecked(const std::string& where, const std::string& path) {
    if (std::find(chain_.begin(), chain_.end(), path) != chain_.end()) {
      ctx_.Warn(where + ": include loop: " + path + " is already being read");
      return;
    }
    Read(path);
  }

  const QueryContext& ctx_;
  std::vector<Row>& rows_;
  std::vector<std::string> chain_;
};

class SudoersTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    SudoersReader reader(ctx, rows);
    reader.Read(std::string(kSudoers));
    return rows;
  }

 private:
  const Schema schema_ = SudoersSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSudoersTable() { return std::make_unique<SudoersTable>(); }

}  // namespace vigil::tables
