// audit_config: the settings of the audit daemon (/etc/audit/auditd.conf), one row per key
// with the value auditd uses and the line it comes from.
#include <algorithm>
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
enum AuditConfigColumn : int { kKey, kValue, kFile, kLine, kColumnCount };

Schema AuditConfigSchema() {
  return Schema{
      "audit_config",
      "Settings of the audit daemon from /etc/audit/auditd.conf ('key = value' lines, '#' "
      "comments): one row per key with the value auditd uses, the last one when a key is "
      "repeated. Keys the file does not set are absent (auditd uses its built-in default). "
      "Lines without '=' are reported as warnings.",
      {
          {"key", ColumnType::kText, "Setting name, lowercase (max_log_file_action, ...)"},
          {"value", ColumnType::kText, "Value as written, trimmed; may be empty"},
          {"file", ColumnType::kText, "The file holding the setting"},
          {"line", ColumnType::kInteger, "Line number (from 1) of the effective setting"},
      }};
}

constexpr std::string_view kConfigFile = "/etc/audit/auditd.conf";
constexpr size_t kMaxFileBytes = 1u << 20;

class AuditConfigTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> content = ReadOptionalFile(ctx, kConfigFile, kMaxFileBytes);
    if (!content) return rows;
    std::map<std::string, std::pair<std::string, int>> settings;  // key -> value, line
    for (const internal::NumberedLine& line : SplitLines(*content)) {
      std::string_view text = Trim(line.text);
      if (text.empty() || text.front() == '#') continue;
      size_t eq = text.find('=');
      std::string key = eq == std::string_view::npos ? "" : Lower(Trim(text.substr(0, eq)));
      if (key.empty()) {
        ctx.Warn(std::string(kConfigFile) + ":" + std::to_string(line.number) +
                 ": expected 'key = value'");
        continue;
      }
      settings[key] = {std::string(Trim(text.substr(eq + 1))), line.number};
    }
    for (auto& [key, setting] : settings) {
      if (!ctx.Matches(kKey, Value(key))) continue;
      Row row(kColumnCount);
      row[kKey] = key;
      row[kValue] = std::move(setting.first);
      row[kFile] = kConfigFile;
      row[kLine] = setting.second;
      rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end(),
              [](const Row& a, const Row& b) { return a[kLine].integer() < b[kLine].integer(); });
    return rows;
  }

 private:
  const Schema schema_ = AuditConfigSchema();
};

}  // namespace

std::unique_ptr<Table> MakeAuditConfigTable() { return std::make_unique<AuditConfigTable>(); }

}  // namespace vigil::tables
