// uptime: how long the host has been running since it booted, from /proc/uptime.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum UptimeColumn : int { kDays, kHours, kMinutes, kSeconds, kTotalSeconds, kColumnCount };

Schema UptimeSchema() {
  return Schema{
      "uptime",
      "Time since the kernel booted, from the first number of /proc/uptime (seconds, time "
      "spent suspended included), whole seconds. One row, or none when the root has no "
      "/proc/uptime.",
      {
          {"days", ColumnType::kInteger, "Whole days of uptime"},
          {"hours", ColumnType::kInteger, "Hours past the whole days (0-23)"},
          {"minutes", ColumnType::kInteger, "Minutes past the whole hours (0-59)"},
          {"seconds", ColumnType::kInteger, "Seconds past the whole minutes (0-59)"},
          {"total_seconds", ColumnType::kInteger, "Uptime in whole seconds"},
      }};
}

// The whole seconds of "12345.67" (the fraction is dropped).
std::optional<int64_t> WholeSeconds(std::string_view text) {
  std::string_view whole = text.substr(0, text.find('.'));
  std::string_view fraction =
      whole.size() < text.size() ? text.substr(whole.size() + 1) : std::string_view();
  for (char c : fraction) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::optional<int64_t> seconds = internal::ParseInt(whole);
  if (!seconds || *seconds < 0) return std::nullopt;
  return seconds;
}

class UptimeTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    auto content = internal::ReadOptionalFile(ctx, "/proc/uptime", 4096);
    if (!content) return rows;
    // "UPTIME IDLE\n", both in seconds with a fraction.
    std::vector<std::string_view> words = internal::SplitWhitespace(internal::Trim(*content));
    std::optional<int64_t> total = words.empty() ? std::nullopt : WholeSeconds(words[0]);
    if (!total) {
      ctx.Warn("/proc/uptime:1: expected seconds since boot (\"12345.67 ...\")");
      return rows;
    }
    Row row(kColumnCount);
    row[kDays] = *total / 86400;
    row[kHours] = *total % 86400 / 3600;
    row[kMinutes] = *total % 3600 / 60;
    row[kSeconds] = *total % 60;
    row[kTotalSeconds] = *total;
    rows.push_back(std::move(row));
    return rows;
  }

 private:
  const Schema schema_ = UptimeSchema();
};

}  // namespace

std::unique_ptr<Table> MakeUptimeTable() { return std::make_unique<UptimeTable>(); }

}  // namespace vigil::tables
