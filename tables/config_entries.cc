// config_entries: key/value settings of the configuration files a statement names, read with
// one set of rules that fits the common Linux formats (INI sections, "key = value",
// "key value", shell-style KEY=value).
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/path_pattern.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum ConfigEntriesColumn : int { kPath, kSection, kKey, kValue, kLine, kDirectory, kColumnCount };

constexpr size_t kMaxConfigBytes = 8u << 20;

Schema ConfigEntriesSchema() {
  constexpr uint32_t kInput = kRequired | kIndex;
  return Schema{
      "config_entries",
      "Settings of key/value configuration files (pwquality.conf, faillock.conf, auditd.conf, "
      "journald.conf, chrony.conf, /etc/default/*, ...), one row per setting line in file "
      "order; repeated keys are all kept (\"server\" lines of chrony.conf). Needs a "
      "constraint on path ('=', IN, LIKE or GLOB, expanded as in the file table) or on the "
      "hidden directory column. Rules: lines whose first character is '#' or ';' are "
      "comments, and so is the rest of a line from a '#' that follows a blank; a line ending "
      "in '\\' continues on the next; \"[name]\" starts section name; otherwise the line is "
      "split at the first '=' when the text before it is one word (\"key = value\", "
      "\"KEY=value\"), else at the first blank (\"key value\", \"server a.ntp iburst\"); ':' "
      "does not separate. A line with only a key has an empty value. One pair of quotes "
      "around the value is removed. Lines with an empty key or an unclosed section header "
      "are skipped with a warning, as are files larger than 8 MiB and binary files; "
      "directories and missing files give no rows.",
      {
          {"path", ColumnType::kText, "Absolute path of the file, as named or expanded", kInput},
          {"section", ColumnType::kText,
           "INI section the setting is in (\"Journal\"); empty before any section header"},
          {"key", ColumnType::kText, "Setting name as written (case kept)"},
          {"value", ColumnType::kText,
           "Setting value, trimmed, one pair of surrounding quotes removed; empty when the "
           "line is only a key"},
          {"line", ColumnType::kInteger, "Line number (from 1) where the setting starts"},
          {"directory", ColumnType::kText,
           "Directory to list (input only): every file directly inside it is read",
           kInput | kHidden},
      }};
}

// "key = value" / "KEY=value" split at '='; "key value with = inside" at the first blank.
std::pair<std::string_view, std::string_view> SplitSetting(std::string_view text) {
  const size_t equals = text.find('=');
  const size_t blank = text.find_first_of(" \t");
  if (equals != std::string_view::npos &&
      (blank == std::string_view::npos || blank > equals ||
       internal::Trim(text.substr(blank, equals - blank)).empty())) {
    return {internal::Trim(text.substr(0, equals)), internal::Trim(text.substr(equals + 1))};
  }
  if (blank == std::string_view::npos) return {text, {}};
  return {text.substr(0, blank), internal::Trim(text.substr(blank))};
}

class ConfigEntriesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    VIGIL_ASSIGN_OR_RETURN(auto candidates,
                           internal::ExpandPathConstraints(ctx, kPath, kDirectory));
    std::vector<Row> rows;
    for (const internal::PathCandidate& candidate : candidates) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      auto st = ctx.host().Stat(candidate.path);
      if (!st.ok()) {
        if (st.status().code() != StatusCode::kNotFound) ctx.Warn(st.status().message());
        continue;
      }
      if (!S_ISREG(st->st_mode)) continue;
      std::optional<std::string> content =
          internal::ReadOptionalFile(ctx, candidate.path, kMaxConfigBytes);
      if (!content) continue;
      if (content->find('\0') != std::string::npos) {
        ctx.Warn(candidate.path + ": binary file (contains NUL bytes), skipped");
        continue;
      }
      AddEntries(ctx, candidate, *content, rows);
    }
    return rows;
  }

 private:
  static void AddEntries(const QueryContext& ctx, const internal::PathCandidate& candidate,
                         std::string_view content, std::vector<Row>& rows) {
    std::string section;
    for (const internal::ConfigLine& line : internal::ConfigLines(content, "#")) {
      std::string_view text = line.text;
      if (text.front() == ';') continue;
      const std::string where = candidate.path + ":" + std::to_string(line.number) + ": ";
      if (text.front() == '[') {
        if (text.back() != ']') {
          ctx.Warn(where + "section header without ']'");
          continue;
        }
        section = std::string(internal::Trim(text.substr(1, text.size() - 2)));
        continue;
      }
      auto [key, value] = SplitSetting(text);
      if (key.empty()) {
        ctx.Warn(where + "no key before '='");
        continue;
      }
      Row row(kColumnCount);
      row[kPath] = candidate.path;
      row[kSection] = section;
      row[kKey] = key;
      row[kValue] = internal::Unquote(value);
      row[kLine] = line.number;
      row[kDirectory] = candidate.directory;
      rows.push_back(std::move(row));
    }
  }

  const Schema schema_ = ConfigEntriesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeConfigEntriesTable() { return std::make_unique<ConfigEntriesTable>(); }

}  // namespace vigil::tables
