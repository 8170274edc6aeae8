// crontab: the jobs of the system crontab, /etc/cron.d and the users' crontabs, and the scripts
// of the run-parts directories /etc/cron.{hourly,daily,weekly,monthly}.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/table.h"
#include "tables/internal/cron.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum CrontabColumn : int {
  kEvent,
  kMinute,
  kHour,
  kDayOfMonth,
  kMonth,
  kDayOfWeek,
  kCommand,
  kPath,
  kUser,
  kLine,
  kColumnCount
};

Schema CrontabSchema() {
  return Schema{
      "crontab",
      "Cron jobs: one row per job line of /etc/crontab, /etc/cron.d/* and the user crontabs "
      "(/var/spool/cron/crontabs/*, /var/spool/cron/*), in that order; environment lines and "
      "comments are skipped, malformed lines reported as warnings. Files in /etc/cron.d whose "
      "names are not only letters, digits, '_' and '-' are skipped, as cron skips them. Vigil "
      "also lists each executable script of /etc/cron.hourly, /etc/cron.daily, "
      "/etc/cron.weekly and /etc/cron.monthly as an @hourly / @daily / @weekly / @monthly job "
      "of root whose command and path are the script (the system crontab or anacron runs them "
      "through run-parts).",
      {
          {"event", ColumnType::kText,
           "The @ schedule (@reboot, @daily, ...); '' for a five-field schedule"},
          {"minute", ColumnType::kText, "Minute field as written; '' with an event"},
          {"hour", ColumnType::kText, "Hour field as written; '' with an event"},
          {"day_of_month", ColumnType::kText, "Day-of-month field as written; '' with an event"},
          {"month", ColumnType::kText, "Month field as written; '' with an event"},
          {"day_of_week", ColumnType::kText, "Day-of-week field as written; '' with an event"},
          {"command", ColumnType::kText,
           "The command as written, after the schedule (and after the user field in system "
           "crontabs); the script path for a run-parts script"},
          {"path", ColumnType::kText, "The crontab file, or the run-parts script", kIndex},
          {"user", ColumnType::kText,
           "Vigil: the user the job runs as: the user field of /etc/crontab and /etc/cron.d "
           "lines, the file name of a user crontab, root for run-parts scripts"},
          {"line", ColumnType::kInteger,
           "Vigil: line number (from 1) in path; NULL for a run-parts script"},
      }};
}

class CrontabTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<internal::CronJob> jobs = internal::ReadCronJobs(
        ctx, [&ctx](std::string_view path) { return ctx.Matches(kPath, Value(path)); });
    std::vector<Row> rows;
    rows.reserve(jobs.size());
    for (internal::CronJob& job : jobs) {
      Row row(kColumnCount);
      row[kEvent] = std::move(job.event);
      row[kMinute] = std::move(job.minute);
      row[kHour] = std::move(job.hour);
      row[kDayOfMonth] = std::move(job.day_of_month);
      row[kMonth] = std::move(job.month);
      row[kDayOfWeek] = std::move(job.day_of_week);
      row[kCommand] = std::move(job.command);
      row[kPath] = std::move(job.path);
      row[kUser] = std::move(job.user);
      if (job.line > 0) row[kLine] = job.line;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = CrontabSchema();
};

}  // namespace

std::unique_ptr<Table> MakeCrontabTable() { return std::make_unique<CrontabTable>(); }

}  // namespace vigil::tables
