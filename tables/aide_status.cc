// aide_status: whether the AIDE file integrity checker is installed, has a database, and is
// scheduled to run.
#include <sys/stat.h>

#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/cron.h"
#include "tables/internal/service_probe.h"
#include "tables/internal/systemd_units.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum AideStatusColumn : int {
  kInstalled,
  kConfigFile,
  kDatabasePath,
  kDatabasePresent,
  kDatabaseAgeSeconds,
  kScheduled,
  kSchedule,
  kColumnCount
};

constexpr std::string_view kDefaultDatabase = "/var/lib/aide/aide.db";
constexpr std::string_view kTimer = "dailyaidecheck.timer";

Schema AideStatusSchema() {
  return Schema{
      "aide_status",
      "The AIDE file integrity checker, one row: installed, where its configuration and "
      "database are, how old the database is, and whether a daily check is scheduled (the "
      "dailyaidecheck.timer unit enabled, an executable /etc/cron.daily/aide or "
      "/etc/cron.daily/dailyaidecheck, or a crontab job running aide).",
      {
          {"installed", ColumnType::kInteger,
           "1 when /var/lib/dpkg/status lists aide or aide-common as installed, or "
           "/usr/bin/aide or /usr/sbin/aide exists; else 0"},
          {"config_file", ColumnType::kText,
           "/etc/aide/aide.conf, or /etc/aide.conf, whichever exists first; NULL when neither "
           "does"},
          {"database_path", ColumnType::kText,
           "The database the check reads: database_in= (or the older database=) of the "
           "configuration with its file: prefix removed and @@{VAR} defined by @@define "
           "replaced, also from files named by @@include; " +
               std::string(kDefaultDatabase) + " when the configuration does not set it"},
          {"database_present", ColumnType::kInteger,
           "1 when database_path is a regular file (links followed), else 0"},
          {"database_age_seconds", ColumnType::kInteger,
           "Seconds since the database file was last modified; NULL when it is absent"},
          {"scheduled", ColumnType::kInteger,
           "1 when a periodic check was found (see schedule), else 0"},
          {"schedule", ColumnType::kText,
           "What schedules the check, comma-joined: \"dailyaidecheck.timer\" (when its unit "
           "file state is enabled), a run-parts script path, or \"PATH:LINE\" of a crontab "
           "job whose command runs aide; '' when nothing does"},
      }};
}

constexpr size_t kMaxConfigBytes = 4u << 20;
constexpr int kMaxIncludeDepth = 8;

// The database setting of an AIDE configuration, following @@define and @@include.
class AideConfig {
 public:
  explicit AideConfig(const QueryContext& ctx) : ctx_(ctx) {}

  void Read(const std::string& path, int depth) {
    if (depth > kMaxIncludeDepth) {
      ctx_.Warn(path + ": @@include nested more than " + std::to_string(kMaxIncludeDepth) +
                " deep");
      return;
    }
    std::optional<std::string> text = internal::ReadOptionalFile(ctx_, path, kMaxConfigBytes);
    if (!text) return;
    for (const internal::ConfigLine& line : internal::ConfigLines(*text)) {
      std::string_view t = line.text;
      if (t.starts_with("@@define")) {
        auto [name, value] = internal::SplitKeyValue(t.substr(8));
        if (!name.empty()) vars_[std::string(name)] = Expand(value);
      } else if (t.starts_with("@@undef")) {
        vars_.erase(std::string(internal::Trim(t.substr(7))));
      } else if (t.starts_with("@@include")) {
        std::string file = Expand(internal::Trim(t.substr(9)));
        if (file.starts_with('/')) Read(file, depth + 1);
      } else if (!t.starts_with("@@")) {
        auto [key, value] = internal::SplitKeyValue(t, '=');
        if (key == "database_in" || key == "database") {
          std::string url = Expand(value);
          if (url.starts_with("file:")) url.erase(0, 5);
          database_ = std::move(url);
        }
      }
    }
  }

  const std::optional<std::string>& database() const { return database_; }

 private:
  // Replaces every @@{NAME} with its definition (unknown names are left as written).
  std::string Expand(std::string_view text) const {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t at = text.find("@@{", i);
      size_t close = at == std::string_view::npos ? at : text.find('}', at);
      if (close == std::string_view::npos) break;
      out.append(text.substr(i, at - i));
      auto it = vars_.find(std::string(text.substr(at + 3, close - at - 3)));
      out.append(it != vars_.end() ? it->second : std::string(text.substr(at, close + 1 - at)));
      i = close + 1;
    }
    out.append(text.substr(std::min(i, text.size())));
    return out;
  }

  const QueryContext& ctx_;
  std::map<std::string, std::string> vars_;
  std::optional<std::string> database_;
};

// Whether a command runs aide: a word that is aide or a path ending in /aide (also the Debian
// wrapper aide.wrapper and the dailyaidecheck script).
bool RunsAide(std::string_view command) {
  for (std::string_view word : internal::SplitWhitespace(command)) {
    std::string_view base =
        word.substr(word.rfind('/') == std::string_view::npos ? 0 : word.rfind('/') + 1);
    if (base == "aide" || base == "aide.wrapper" || base == "dailyaidecheck") return true;
  }
  return false;
}

class AideStatusTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Host& host = ctx.host();
    Row row(kColumnCount);

    if (ctx.IsUsed(kInstalled)) {
      bool installed = host.Exists("/usr/bin/aide") || host.Exists("/usr/sbin/aide") ||
                       !internal::InstalledDebPackages(ctx, {"aide", "aide-common"}).empty();
      row[kInstalled] = installed ? 1 : 0;
    }

    std::string config;
    for (std::string_view candidate : {"/etc/aide/aide.conf", "/etc/aide.conf"}) {
      if (host.Exists(candidate)) {
        config = candidate;
        break;
      }
    }
    AideConfig parsed(ctx);
    if (!config.empty()) {
      row[kConfigFile] = config;
      parsed.Read(config, 0);
    }
    const std::string database = parsed.database().value_or(std::string(kDefaultDatabase));
    row[kDatabasePath] = database;
    Result<struct stat> st = host.Stat(database);
    const bool present = st.ok() && S_ISREG(st->st_mode);
    row[kDatabasePresent] = present ? 1 : 0;
    if (present) {
      row[kDatabaseAgeSeconds] = static_cast<int64_t>(std::time(nullptr)) - st->st_mtime;
    }

    if (ctx.IsUsed(kScheduled) || ctx.IsUsed(kSchedule)) {
      std::vector<std::string> found = Schedules(ctx);
      row[kScheduled] = found.empty() ? 0 : 1;
      std::string joined;
      for (const std::string& f : found) joined += (joined.empty() ? "" : ",") + f;
      row[kSchedule] = joined;
    }
    return std::vector<Row>{std::move(row)};
  }

 private:
  static std::vector<std::string> Schedules(const QueryContext& ctx) {
    std::vector<std::string> found;
    const internal::WarnFn warn = [&ctx](std::string m) { ctx.Warn(std::move(m)); };
    std::optional<std::string> state = internal::UnitFileState(ctx.host(), kTimer, warn);
    if (state && state->starts_with("enabled")) found.emplace_back(kTimer);
    for (const internal::CronJob& job :
         internal::ReadCronJobs(ctx, [](std::string_view) { return true; })) {
      if (job.line == 0) {
        const std::string name = BaseName(job.path);
        if (job.event == "@daily" && (name == "aide" || name == "dailyaidecheck")) {
          found.push_back(job.path);
        }
      } else if (RunsAide(job.command)) {
        found.push_back(job.path + ":" + std::to_string(job.line));
      }
    }
    return found;
  }

  const Schema schema_ = AideStatusSchema();
};

}  // namespace

std::unique_ptr<Table> MakeAideStatusTable() { return std::make_unique<AideStatusTable>(); }

}  // namespace vigil::tables
