// The jobs cron runs on a host, read from its crontab files, and the scripts it runs through
// run-parts. Shared by the crontab and aide_status tables.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

struct CronJob {
  std::string event;  // "@daily", "@reboot", ...; "" for a five-field schedule
  std::string minute, hour, day_of_month, month, day_of_week;  // all "" with an event
  std::string user;                                            // who the job runs as
  std::string command;  // the rest of the line as written; the script for a run-parts entry
  std::string path;     // the crontab file, or the run-parts script itself
  int line = 0;         // line number in path; 0 for a run-parts script
};

// Every job, in this order: /etc/crontab, /etc/cron.d/* (both with a user field),
// /var/spool/cron/crontabs/* and regular files directly in /var/spool/cron (the user is the
// file name), then the executable scripts of /etc/cron.{hourly,daily,weekly,monthly} as
// @hourly / @daily / @weekly / @monthly jobs of root. Files in cron.d and the run-parts
// directories are taken as cron and run-parts take them: names of letters, digits, '_' and
// '-' only (so "*.dpkg-old" and dot files are skipped). Only files for which
// `want_path(path)` is true are read. Environment assignments and comments are skipped;
// malformed lines are reported with ctx.Warn("PATH:LINE: ...").
std::vector<CronJob> ReadCronJobs(const QueryContext& ctx,
                                  const std::function<bool(std::string_view path)>& want_path);

// Whether cron.d / run-parts would take a file of this name.
bool IsRunPartsName(std::string_view name);

}  // namespace vigil::tables::internal
