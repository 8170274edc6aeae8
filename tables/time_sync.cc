// time_sync: which NTP client keeps the clock, whether it is enabled and running, the servers
// it is configured with, and (on this machine) whether the kernel considers the clock
// synchronized.
#include <sys/timex.h>

#include <algorithm>
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
#include "tables/internal/service_probe.h"
#include "tables/internal/systemd_units.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum TimeSyncColumn : int {
  kService,
  kUnit,
  kServiceEnabled,
  kServiceRunning,
  kSources,
  kSourceCount,
  kConfigFile,
  kInstalledServices,
  kSynchronized,
  kOffsetSeconds,
  kMaxErrorSeconds,
  kColumnCount
};

Schema TimeSyncSchema() {
  return Schema{
      "time_sync",
      "The host's time synchronization, one row. The NTP client is found from its unit file, "
      "configuration file and process (chrony: chrony.service/chronyd.service, "
      "/etc/chrony/chrony.conf or /etc/chrony.conf, chronyd; ntpd: ntpsec.service, "
      "ntp.service or ntpd.service, /etc/ntpsec/ntp.conf or /etc/ntp.conf; openntpd: "
      "openntpd.service, /etc/openntpd/ntpd.conf; systemd-timesyncd: "
      "systemd-timesyncd.service, /etc/systemd/timesyncd.conf); when several are installed "
      "the running one wins, then the enabled one, then the first in that order. The kernel "
      "clock state comes from adjtimex() and is NULL unless the host root is '/'.",
      {
          {"service", ColumnType::kText,
           "chrony, ntpd, openntpd, systemd-timesyncd, or none when no client is installed"},
          {"unit", ColumnType::kText, "The client's unit file name; NULL when it has none"},
          {"service_enabled", ColumnType::kInteger,
           "1 when the unit file state is enabled or enabled-runtime, else 0; NULL without a "
           "unit file"},
          {"service_running", ColumnType::kInteger,
           "1 when a process of the client runs (chronyd, ntpd, systemd-timesyn in "
           "/proc/PID/comm), else 0; NULL when the host's /proc lists no processes or the "
           "service is none"},
          {"sources", ColumnType::kText,
           "The configured servers, pools and peers, comma-joined in configuration order. "
           "chrony: server/pool/peer lines of the main file, its include files, confdir *.conf "
           "and sourcedir *.sources files; ntpd: server/pool/peer lines (and includefile); "
           "openntpd: server/servers; timesyncd: NTP= of timesyncd.conf and its "
           "timesyncd.conf.d drop-ins, or FallbackNTP= when NTP= is empty ('' when neither "
           "is set: timesyncd then uses its built-in servers). NULL for none"},
          {"source_count", ColumnType::kInteger, "Number of entries in sources"},
          {"config_file", ColumnType::kText,
           "The client's main configuration file; NULL when it does not exist"},
          {"installed_services", ColumnType::kText,
           "Vigil: every client found installed, comma-joined (more than one is a conflict)"},
          {"synchronized", ColumnType::kInteger,
           "1 when the kernel clock is synchronized (adjtimex() reports neither TIME_ERROR nor "
           "STA_UNSYNC), else 0; NULL unless the host root is '/'"},
          {"offset_seconds", ColumnType::kReal,
           "The kernel's current clock offset (adjtimex offset), seconds; NULL unless the "
           "host root is '/'"},
          {"max_error_seconds", ColumnType::kReal,
           "The kernel's maximum clock error estimate (adjtimex maxerror), seconds; NULL "
           "unless the host root is '/'"},
      }};
}

struct Client {
  std::string_view service;
  std::vector<std::string_view> units;
  std::vector<std::string_view> configs;
  std::string_view process;
};

const std::vector<Client>& Clients() {
  static const std::vector<Client> kClients = {
      {"chrony",
       {"chrony.service", "chronyd.service"},
       {"/etc/chrony/chrony.conf", "/etc/chrony.conf"},
       "chronyd"},
      {"ntpd",
       {"ntpsec.service", "ntp.service", "ntpd.service"},
       {"/etc/ntpsec/ntp.conf", "/etc/ntp.conf"},
       "ntpd"},
      {"openntpd", {"openntpd.service"}, {"/etc/openntpd/ntpd.conf"}, "ntpd"},
      {"systemd-timesyncd",
       {"systemd-timesyncd.service"},
       {"/etc/systemd/timesyncd.conf"},
       "systemd-timesyn"},
  };
  return kClients;
}

constexpr int kMaxIncludeDepth = 8;
constexpr size_t kMaxConfigBytes = 4u << 20;

class SourceReader {
 public:
  explicit SourceReader(const QueryContext& ctx) : ctx_(ctx) {}

  // chrony.conf and what it pulls in.
  void Chrony(const std::string& path, int depth) {
    std::optional<std::string> text = Read(path, depth);
    if (!text) return;
    for (const internal::ConfigLine& line : internal::ConfigLines(*text, "#!;%")) {
      std::vector<std::string_view> words = internal::SplitWhitespace(line.text);
      std::string directive = internal::Lower(words[0]);
      if ((directive == "server" || directive == "pool" || directive == "peer") &&
          words.size() >= 2) {
        Add(words[1]);
      } else if (directive == "include" && words.size() >= 2) {
        for (const std::string& file : Glob(std::string(words[1]))) Chrony(file, depth + 1);
      } else if (directive == "confdir" || directive == "sourcedir") {
        // Files of one name: the first directory listed wins; read in file-name order.
        const std::string suffix = directive == "confdir" ? ".conf" : ".sources";
        std::map<std::string, std::string> files;
        for (size_t i = 1; i < words.size(); ++i) {
          for (std::string& file : Glob(std::string(words[i]) + "/*" + suffix)) {
            files.emplace(BaseName(file), std::move(file));
          }
        }
        for (const auto& [name, file] : files) Chrony(file, depth + 1);
      }
    }
  }

  // ntp.conf (ntpd, ntpsec) and openntpd's ntpd.conf.
  void Ntp(const std::string& path, int depth) {
    std::optional<std::string> text = Read(path, depth);
    if (!text) return;
    for (const internal::ConfigLine& line : internal::ConfigLines(*text)) {
      std::vector<std::string_view> words = internal::SplitWhitespace(line.text);
      if (words.size() < 2) continue;
      if (words[0] == "server" || words[0] == "servers" || words[0] == "pool" ||
          words[0] == "peer") {
        Add(internal::Unquote(words[1]));
      } else if (words[0] == "includefile") {
        Ntp(std::string(words[1]), depth + 1);
      }
    }
  }

  // timesyncd.conf and its drop-ins: NTP=, else FallbackNTP=.
  void Timesyncd() {
    std::vector<internal::UnitSetting> settings;
    const internal::WarnFn warn = [this](std::string m) { ctx_.Warn(std::move(m)); };
    std::map<std::string, std::string> dropins;
    for (std::string_view dir :
         {"/etc/systemd/timesyncd.conf.d", "/run/systemd/timesyncd.conf.d",
          "/usr/local/lib/systemd/timesyncd.conf.d", "/usr/lib/systemd/timesyncd.conf.d"}) {
      for (std::string& file : Glob(std::string(dir) + "/*.conf")) {
        dropins.emplace(BaseName(file), std::move(file));
      }
    }
    std::vector<std::string> files = {"/etc/systemd/timesyncd.conf"};
    for (auto& [name, file] : dropins) files.push_back(std::move(file));
    for (const std::string& file : files) {
      std::optional<std::string> text = Read(file, 0);
      if (!text) continue;
      std::vector<internal::UnitSetting> more = internal::ParseUnitFile(*text, file, warn);
      settings.insert(settings.end(), more.begin(), more.end());
    }
    std::vector<std::string> servers = internal::ListValues(settings, "Time", "NTP", true);
    if (servers.empty()) servers = internal::ListValues(settings, "Time", "FallbackNTP", true);
    for (const std::string& server : servers) Add(server);
  }

  const std::vector<std::string>& sources() const { return sources_; }

 private:
  std::optional<std::string> Read(const std::string& path, int depth) {
    if (depth > kMaxIncludeDepth) {
      ctx_.Warn(path + ": includes nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
      return std::nullopt;
    }
    return internal::ReadOptionalFile(ctx_, path, kMaxConfigBytes);
  }

  std::vector<std::string> Glob(const std::string& pattern) const {
    if (pattern.empty() || pattern[0] != '/') return {};
    return ctx_.host().Glob(pattern).value_or(std::vector<std::string>());
  }

  void Add(std::string_view source) {
    if (std::find(sources_.begin(), sources_.end(), source) == sources_.end()) {
      sources_.emplace_back(source);
    }
  }

  const QueryContext& ctx_;
  std::vector<std::string> sources_;
};

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += ',';
    out += v;
  }
  return out;
}

// What the host shows of one client.
struct Found {
  const Client* client = nullptr;
  std::string unit;                  // the first unit file present
  std::optional<std::string> state;  // its unit file state
  std::string config;                // the first configuration file present
  std::optional<bool> running;
  bool installed() const { return (state && !state->starts_with("masked")) || !config.empty(); }
  int rank() const {
    return (running.value_or(false) ? 4 : 0) + (state && state->starts_with("enabled") ? 2 : 0) +
           (installed() ? 1 : 0);
  }
};

class TimeSyncTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Host& host = ctx.host();
    const internal::WarnFn warn = [&ctx](std::string m) { ctx.Warn(std::move(m)); };
    const std::optional<std::set<std::string>> processes = internal::ProcessNames(host);
    const internal::EnablementLinks links = internal::EnablementLinks::Scan(host);

    std::vector<Found> found;
    std::string installed;
    for (const Client& client : Clients()) {
      Found f;
      f.client = &client;
      for (std::string_view unit : client.units) {
        if (auto entry = internal::FindUnitFile(host, unit)) {
          f.unit = unit;
          f.state = internal::LoadUnitFile(host, *entry, links, warn).state;
          break;
        }
      }
      for (std::string_view config : client.configs) {
        if (host.Exists(config)) {
          f.config = config;
          break;
        }
      }
      if (processes) f.running = processes->contains(std::string(client.process));
      if (!f.installed()) continue;
      if (!installed.empty()) installed += ',';
      installed += client.service;
      found.push_back(std::move(f));
    }
    // Stable: among equals the earlier client wins.
    auto best = std::max_element(found.begin(), found.end(), [](const Found& a, const Found& b) {
      return a.rank() < b.rank();
    });

    Row row(kColumnCount);
    row[kInstalledServices] = installed;
    if (best == found.end()) {
      row[kService] = "none";
      row[kSourceCount] = 0;
    } else {
      const Found& f = *best;
      row[kService] = f.client->service;
      if (!f.unit.empty()) {
        row[kUnit] = f.unit;
        row[kServiceEnabled] = f.state->starts_with("enabled") ? 1 : 0;
      }
      if (f.running) row[kServiceRunning] = *f.running ? 1 : 0;
      if (!f.config.empty()) row[kConfigFile] = f.config;
      if (ctx.IsUsed(kSources) || ctx.IsUsed(kSourceCount)) {
        SourceReader reader(ctx);
        if (f.client->service == "chrony") {
          if (!f.config.empty()) reader.Chrony(f.config, 0);
        } else if (f.client->service == "systemd-timesyncd") {
          reader.Timesyncd();
        } else if (!f.config.empty()) {
          reader.Ntp(f.config, 0);
        }
        row[kSources] = Join(reader.sources());
        row[kSourceCount] = static_cast<int64_t>(reader.sources().size());
      }
    }
    if (host.is_machine_root()) FillKernelClock(row);
    return std::vector<Row>{std::move(row)};
  }

 private:
  static void FillKernelClock(Row& row) {
    struct timex tx = {};
    int state = ::adjtimex(&tx);
    if (state < 0) return;
    row[kSynchronized] = (state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0) ? 1 : 0;
    const double offset_unit = (tx.status & STA_NANO) != 0 ? 1e-9 : 1e-6;
    row[kOffsetSeconds] = static_cast<double>(tx.offset) * offset_unit;
    row[kMaxErrorSeconds] = static_cast<double>(tx.maxerror) * 1e-6;
  }

  const Schema schema_ = TimeSyncSchema();
};

}  // namespace

std::unique_ptr<Table> MakeTimeSyncTable() { return std::make_unique<TimeSyncTable>(); }

}  // namespace vigil::tables
