// limits: the resource limits pam_limits sets at login, from /etc/security/limits.conf and
// /etc/security/limits.d, one row per entry with its file and line.
#include <algorithm>
#include <iterator>
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
using internal::SplitWhitespace;

// Column positions, in the order of the column list below.
enum LimitsColumn : int { kDomain, kType, kItem, kValue, kFile, kLine, kColumnCount };

Schema LimitsSchema() {
  return Schema{
      "limits",
      "Resource limits pam_limits applies at login: one row per entry of "
      "/etc/security/limits.conf, then of /etc/security/limits.d/*.conf in file-name order "
      "(the order pam_limits reads them). '#' starts a comment anywhere on a line. Lines that "
      "are not 'domain type item value', or name an unknown type or item, are reported as "
      "warnings and skipped, as pam_limits does.",
      {
          {"domain", ColumnType::kText,
           "Whom the entry applies to as written: a user, @group, '*', a uid or gid range "
           "(1000:, %group)"},
          {"type", ColumnType::kText, "soft, hard or '-' (both), lowercase"},
          {"item", ColumnType::kText,
           "The limited resource, lowercase: nofile, nproc, core, "
           "maxlogins, ..."},
          {"value", ColumnType::kText,
           "The limit as written (a number, unlimited, infinity, "
           "-1)"},
          {"file", ColumnType::kText, "The file holding the entry"},
          {"line", ColumnType::kInteger, "Line number (from 1) in file"},
      }};
}

constexpr std::string_view kLimitsConf = "/etc/security/limits.conf";
constexpr std::string_view kLimitsDir = "/etc/security/limits.d";
constexpr size_t kMaxFileBytes = 1u << 20;

bool KnownItem(std::string_view item) {
  static constexpr std::string_view kItems[] = {
      "core",  "data",       "fsize",    "memlock",   "nofile",       "rss",        "stack",
      "cpu",   "nproc",      "as",       "maxlogins", "maxsyslogins", "nonewprivs", "priority",
      "locks", "sigpending", "msgqueue", "nice",      "rtprio"};
  return std::find(std::begin(kItems), std::end(kItems), item) != std::end(kItems);
}

void ReadLimits(const QueryContext& ctx, const std::string& file, std::vector<Row>& rows) {
  std::optional<std::string> content = ReadOptionalFile(ctx, file, kMaxFileBytes);
  if (!content) return;
  for (const internal::NumberedLine& line : SplitLines(*content)) {
    std::string_view text = line.text.substr(0, line.text.find('#'));
    std::vector<std::string_view> fields = SplitWhitespace(text);
    if (fields.empty()) continue;
    std::string where = file + ":" + std::to_string(line.number);
    if (fields.size() != 4) {
      ctx.Warn(where + ": expected 'domain type item value', found " +
               std::to_string(fields.size()) + " fields");
      continue;
    }
    std::string type = Lower(fields[1]);
    std::string item = Lower(fields[2]);
    if (type != "soft" && type != "hard" && type != "-") {
      ctx.Warn(where + ": unknown limit type '" + std::string(fields[1]) + "'");
      continue;
    }
    if (!KnownItem(item)) {
      ctx.Warn(where + ": unknown limit item '" + std::string(fields[2]) + "'");
      continue;
    }
    Row row(kColumnCount);
    row[kDomain] = fields[0];
    row[kType] = std::move(type);
    row[kItem] = std::move(item);
    row[kValue] = fields[3];
    row[kFile] = file;
    row[kLine] = line.number;
    rows.push_back(std::move(row));
  }
}

class LimitsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    ReadLimits(ctx, std::string(kLimitsConf), rows);
    Result<std::vector<std::string>> files = ctx.host().Glob(std::string(kLimitsDir) + "/*.conf");
    if (files.ok()) {
      for (const std::string& file : *files) {
        VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
        if (!ctx.host().IsDirectory(file)) ReadLimits(ctx, file, rows);
      }
    }
    return rows;
  }

 private:
  const Schema schema_ = LimitsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeLimitsTable() { return std::make_unique<LimitsTable>(); }

}  // namespace vigil::tables
