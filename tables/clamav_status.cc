// clamav_status: whether the ClamAV scanner is installed, has current signatures, and whether
// its daemon and signature updater are enabled and running.
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/service_probe.h"
#include "tables/internal/systemd_units.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum ClamavStatusColumn : int {
  kInstalled,
  kDatabaseDir,
  kSignaturesPresent,
  kSignatureFiles,
  kSignaturesAgeSeconds,
  kFreshclamRunning,
  kClamdRunning,
  kFreshclamEnabled,
  kClamdEnabled,
  kColumnCount
};

constexpr std::string_view kDefaultDatabaseDir = "/var/lib/clamav";

Schema ClamavStatusSchema() {
  return Schema{
      "clamav_status",
      "The ClamAV antivirus scanner, one row: installed, where its signature databases are "
      "and how old they are, and whether clamd and freshclam are enabled and running.",
      {
          {"installed", ColumnType::kInteger,
           "1 when /var/lib/dpkg/status lists clamav, clamav-daemon or clamav-freshclam as "
           "installed, or /usr/bin/clamscan, /usr/sbin/clamd or /usr/bin/freshclam exists; "
           "else 0"},
          {"database_dir", ColumnType::kText,
           "DatabaseDirectory of /etc/clamav/freshclam.conf (or /etc/freshclam.conf), else " +
               std::string(kDefaultDatabaseDir)},
          {"signatures_present", ColumnType::kInteger,
           "1 when database_dir holds both a main and a daily database (main.cvd or main.cld, "
           "daily.cvd or daily.cld), else 0"},
          {"signature_files", ColumnType::kText,
           "Vigil: the *.cvd and *.cld files of database_dir, comma-joined in name order"},
          {"signatures_age_seconds", ColumnType::kInteger,
           "Seconds since the newest daily database (daily.cvd / daily.cld) was modified; NULL "
           "when there is none"},
          {"freshclam_running", ColumnType::kInteger,
           "1 when a freshclam process runs (/proc/PID/comm), else 0; NULL when the host's "
           "/proc lists no processes"},
          {"clamd_running", ColumnType::kInteger,
           "1 when a clamd process runs, else 0; NULL when the host's /proc lists no processes"},
          {"freshclam_enabled", ColumnType::kInteger,
           "1 when the unit file state of clamav-freshclam.service is enabled or "
           "enabled-runtime, else 0 (also when there is no such unit)"},
          {"clamd_enabled", ColumnType::kInteger,
           "1 when the unit file state of clamav-daemon.service (or clamd.service) is enabled "
           "or enabled-runtime, else 0 (also when there is no such unit)"},
      }};
}

std::string DatabaseDir(const QueryContext& ctx) {
  std::string dir(kDefaultDatabaseDir);
  for (std::string_view conf : {"/etc/clamav/freshclam.conf", "/etc/freshclam.conf"}) {
    std::optional<std::string> text = internal::ReadOptionalFile(ctx, conf, 1u << 20);
    if (!text) continue;
    for (const internal::ConfigLine& line : internal::ConfigLines(*text)) {
      auto [key, value] = internal::SplitKeyValue(line.text);
      if (key == "DatabaseDirectory" && !value.empty()) dir = internal::Unquote(value);
    }
    break;
  }
  return dir;
}

// 1 when one of the units exists with an enabled state, else 0.
int Enabled(const QueryContext& ctx, std::initializer_list<std::string_view> units) {
  const internal::WarnFn warn = [&ctx](std::string m) { ctx.Warn(std::move(m)); };
  for (std::string_view unit : units) {
    std::optional<std::string> state = internal::UnitFileState(ctx.host(), unit, warn);
    if (state) return state->starts_with("enabled") ? 1 : 0;
  }
  return 0;
}

class ClamavStatusTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Host& host = ctx.host();
    Row row(kColumnCount);
    if (ctx.IsUsed(kInstalled)) {
      bool installed =
          host.Exists("/usr/bin/clamscan") || host.Exists("/usr/sbin/clamd") ||
          host.Exists("/usr/bin/freshclam") ||
          !internal::InstalledDebPackages(ctx, {"clamav", "clamav-daemon", "clamav-freshclam"})
               .empty();
      row[kInstalled] = installed ? 1 : 0;
    }

    const std::string dir = DatabaseDir(ctx);
    row[kDatabaseDir] = dir;
    std::vector<std::string> files;
    bool has_main = false;
    bool daily = false;
    std::optional<int64_t> newest_daily;
    if (Result<std::vector<DirEntry>> entries = host.ListDirectory(dir); entries.ok()) {
      for (const DirEntry& entry : *entries) {
        const std::string& name = entry.name;
        if (!name.ends_with(".cvd") && !name.ends_with(".cld")) continue;
        Result<struct stat> st = host.Stat(JoinPath(dir, name));
        if (!st.ok() || S_ISDIR(st->st_mode)) continue;
        files.push_back(name);
        std::string_view stem = std::string_view(name).substr(0, name.size() - 4);
        has_main = has_main || stem == "main";
        if (stem == "daily") {
          daily = true;
          newest_daily = std::max<int64_t>(newest_daily.value_or(st->st_mtime), st->st_mtime);
        }
      }
    }
    row[kSignaturesPresent] = has_main && daily ? 1 : 0;
    std::string joined;
    for (const std::string& f : files) joined += (joined.empty() ? "" : ",") + f;
    row[kSignatureFiles] = joined;
    if (newest_daily) {
      row[kSignaturesAgeSeconds] = static_cast<int64_t>(std::time(nullptr)) - *newest_daily;
    }

    if (ctx.IsUsed(kFreshclamRunning) || ctx.IsUsed(kClamdRunning)) {
      if (std::optional<std::set<std::string>> processes = internal::ProcessNames(host)) {
        row[kFreshclamRunning] = processes->contains("freshclam") ? 1 : 0;
        row[kClamdRunning] = processes->contains("clamd") ? 1 : 0;
      }
    }
    if (ctx.IsUsed(kFreshclamEnabled)) {
      row[kFreshclamEnabled] = Enabled(ctx, {"clamav-freshclam.service"});
    }
    if (ctx.IsUsed(kClamdEnabled)) {
      row[kClamdEnabled] = Enabled(ctx, {"clamav-daemon.service", "clamd.service"});
    }
    return std::vector<Row>{std::move(row)};
  }

 private:
  const Schema schema_ = ClamavStatusSchema();
};

}  // namespace

std::unique_ptr<Table> MakeClamavStatusTable() { return std::make_unique<ClamavStatusTable>(); }

}  // namespace vigil::tables
