#include "tables/internal/cron.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "engine/host.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

constexpr size_t kMaxCrontabBytes = 1u << 20;

constexpr std::string_view kEvents[] = {"@reboot", "@yearly", "@annually", "@monthly",
                                        "@weekly", "@daily",  "@midnight", "@hourly"};

// Removes and returns the next word of `rest` (words are separated by spaces and tabs).
std::string_view NextWord(std::string_view& rest) {
  size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  size_t end = rest.find_first_of(" \t", start);
  std::string_view word = rest.substr(start, end == std::string_view::npos ? end : end - start);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  return word;
}

// "NAME=value" / "NAME = value": an environment setting, not a job.
bool IsEnvironmentLine(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
    ++i;
  }
  if (i == 0) return false;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  return i < text.size() && text[i] == '=';
}

// A schedule field: numbers, '*', ranges, steps and lists; month (3) and day-of-week (4)
// fields may also use three-letter names ("jan", "sun").
bool IsScheduleField(std::string_view field, int position) {
  if (field.empty()) return false;
  size_t letters = 0;
  for (char c : field) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      if (position < 3) return false;
      ++letters;
      continue;
    }
    if (letters != 0 && letters != 3) return false;
    letters = 0;
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '*' && c != '/' && c != ',' &&
        c != '-') {
      return false;
    }
  }
  return letters == 0 || letters == 3;
}

// Parses one crontab file. `user` is the owner of a user crontab, "" for a system one (whose
// lines name the user).
void ParseCrontab(const QueryContext& ctx, std::string_view content, const std::string& path,
                  const std::string& user, std::vector<CronJob>& jobs) {
  for (const NumberedLine& line : SplitLines(content)) {
    std::string_view text = Trim(line.text);
    if (text.empty() || text[0] == '#' || IsEnvironmentLine(text)) continue;
    auto malformed = [&](std::string_view what) {
      ctx.Warn(path + ":" + std::to_string(line.number) + ": " + std::string(what));
    };
    CronJob job;
    job.path = path;
    job.line = line.number;
    std::string_view rest = text;
    std::string_view first = NextWord(rest);
    if (first[0] == '@') {
      if (std::find(std::begin(kEvents), std::end(kEvents), first) == std::end(kEvents)) {
        malformed("unknown schedule '" + std::string(first) + "'");
        continue;
      }
      job.event = first;
    } else {
      std::string_view fields[5] = {first};
      for (int i = 1; i < 5; ++i) fields[i] = NextWord(rest);
      bool valid = true;
      for (int i = 0; i < 5; ++i) valid = valid && IsScheduleField(fields[i], i);
      if (!valid) {
        malformed("malformed line: expected five schedule fields");
        continue;
      }
      job.minute = fields[0];
      job.hour = fields[1];
      job.day_of_month = fields[2];
      job.month = fields[3];
      job.day_of_week = fields[4];
    }
    job.user = user.empty() ? std::string(NextWord(rest)) : user;
    job.command = Trim(rest);
    if (job.user.empty() || job.command.empty()) {
      malformed(user.empty() ? "malformed line: missing user or command"
                             : "malformed line: missing command");
      continue;
    }
    jobs.push_back(std::move(job));
  }
}

void ReadCrontab(const QueryContext& ctx, const std::string& path, const std::string& user,
                 std::vector<CronJob>& jobs) {
  if (std::optional<std::string> content = ReadOptionalFile(ctx, path, kMaxCrontabBytes)) {
    ParseCrontab(ctx, *content, path, user, jobs);
  }
}

// The regular files (links followed) of a directory, sorted by name.
std::vector<DirEntry> FilesIn(const Host& host, std::string_view dir) {
  std::vector<DirEntry> files;
  Result<std::vector<DirEntry>> entries = host.ListDirectory(dir);
  if (!entries.ok()) return files;
  for (const DirEntry& entry : *entries) {
    if (entry.type == FileType::kDirectory) continue;
    if (entry.type == FileType::kSymlink) {
      Result<struct stat> st = host.Stat(JoinPath(dir, entry.name));
      if (!st.ok() || S_ISDIR(st->st_mode)) continue;  // dangling, or a directory
    }
    files.push_back(entry);
  }
  return files;
}

}  // namespace

bool IsRunPartsName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::vector<CronJob> ReadCronJobs(const QueryContext& ctx,
                                  const std::function<bool(std::string_view path)>& want_path) {
  const Host& host = ctx.host();
  std::vector<CronJob> jobs;
  if (want_path("/etc/crontab")) ReadCrontab(ctx, "/etc/crontab", "", jobs);
  for (const DirEntry& entry : FilesIn(host, "/etc/cron.d")) {
    std::string path = JoinPath("/etc/cron.d", entry.name);
    if (IsRunPartsName(entry.name) && want_path(path)) ReadCrontab(ctx, path, "", jobs);
  }
  for (std::string_view spool : {"/var/spool/cron/crontabs", "/var/spool/cron"}) {
    for (const DirEntry& entry : FilesIn(host, spool)) {
      std::string path = JoinPath(spool, entry.name);
      if (entry.name[0] != '.' && want_path(path)) ReadCrontab(ctx, path, entry.name, jobs);
    }
  }
  for (std::string_view period : {"hourly", "daily", "weekly", "monthly"}) {
    std::string dir = "/etc/cron." + std::string(period);
    for (const DirEntry& entry : FilesIn(host, dir)) {
      std::string path = JoinPath(dir, entry.name);
      if (!IsRunPartsName(entry.name) || !want_path(path)) continue;
      Result<struct stat> st = host.Stat(path);
      if (!st.ok() || (st->st_mode & 0111) == 0) continue;  // run-parts skips it
      CronJob job;
      job.event = "@" + std::string(period);
      job.user = "root";
      job.command = path;
      job.path = path;
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

}  // namespace vigil::tables::internal
