// systemd_timers: every .timer unit file with its schedule, what it activates and its unit file
// state; when systemd runs on this machine, also when it elapses next and last triggered.
#include <time.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/systemd_units.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::UnitFile;
using internal::UnitFileEntry;

// Column positions, in the order of the column list below.
enum SystemdTimersColumn : int {
  kId,
  kUnit,
  kOnCalendar,
  kOnActiveSec,
  kOnBootSec,
  kOnStartupSec,
  kOnUnitActiveSec,
  kOnUnitInactiveSec,
  kRandomizedDelaySec,
  kPersistent,
  kUnitFileState,
  kFragmentPath,
  kNextElapse,
  kLastTrigger,
  kColumnCount
};

std::string TimerKey(std::string_view key) {
  return "The [Timer] " + std::string(key) +
         "= values as written (drop-ins included; several joined with \"; \"); NULL when unset";
}

Schema SystemdTimersSchema() {
  return Schema{
      "systemd_timers",
      "systemd timer units: every *.timer unit file of the system search path (as in "
      "systemd_units) with its [Timer] schedule read from the file and its drop-ins, the unit "
      "it activates and its unit file state. next_elapse and last_trigger come from the "
      "running manager (`systemctl show`) and are NULL unless systemd runs on this machine.",
      {
          {"id", ColumnType::kText, "Timer unit name (\"dailyaidecheck.timer\")", kIndex},
          {"unit", ColumnType::kText,
           "The unit the timer activates: Unit= or the service of the same name; NULL for a "
           "masked or unreadable timer"},
          {"on_calendar", ColumnType::kText, TimerKey("OnCalendar")},
          {"on_active_sec", ColumnType::kText, TimerKey("OnActiveSec")},
          {"on_boot_sec", ColumnType::kText, TimerKey("OnBootSec")},
          {"on_startup_sec", ColumnType::kText, TimerKey("OnStartupSec")},
          {"on_unit_active_sec", ColumnType::kText, TimerKey("OnUnitActiveSec")},
          {"on_unit_inactive_sec", ColumnType::kText, TimerKey("OnUnitInactiveSec")},
          {"randomized_delay_sec", ColumnType::kText,
           "RandomizedDelaySec= as written (the last one); NULL when unset"},
          {"persistent", ColumnType::kInteger,
           "1 when Persistent= is true (a run missed while the machine was off happens at the "
           "next boot), else 0; NULL for a masked or unreadable timer"},
          {"unit_file_state", ColumnType::kText,
           "enabled, disabled, static, masked, ... as in systemd_units.unit_file_state"},
          {"fragment_path", ColumnType::kText,
           "The timer's unit file, symlinks followed; '' for a masked timer"},
          {"next_elapse", ColumnType::kInteger,
           "When the timer elapses next on the wall clock, UNIX seconds (NextElapseUSecRealtime); "
           "NULL when not scheduled on the calendar or unless systemd runs on this machine"},
          {"last_trigger", ColumnType::kInteger,
           "When the timer last triggered, UNIX seconds (LastTriggerUSec); NULL when never or "
           "unless systemd runs on this machine"},
      }};
}

// "@1714780800" (--timestamp=unix) or "Sat 2024-05-04 00:00:00 UTC" -> UNIX seconds.
std::optional<int64_t> ParseTimestamp(std::string_view text) {
  text = internal::Trim(text);
  if (text.starts_with('@')) return internal::ParseInt(text.substr(1));
  if (!text.ends_with(" UTC")) return std::nullopt;
  struct tm tm = {};
  std::string copy(text);
  if (::strptime(copy.c_str(), "%a %Y-%m-%d %H:%M:%S UTC", &tm) == nullptr) return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

struct LiveTimer {
  std::optional<int64_t> next_elapse, last_trigger;
};

// Parses `systemctl show` output: one block of Key=Value lines per unit, blank lines between.
std::map<std::string, LiveTimer> ParseShow(std::string_view out) {
  std::map<std::string, LiveTimer> timers;
  std::string id;
  LiveTimer timer;
  auto flush = [&] {
    if (!id.empty()) timers[id] = timer;
    id.clear();
    timer = LiveTimer();
  };
  for (const internal::NumberedLine& line : internal::SplitLines(out)) {
    if (internal::Trim(line.text).empty()) {
      flush();
      continue;
    }
    auto [key, value] = internal::SplitKeyValue(line.text, '=');
    if (key == "Id") id = value;
    if (key == "NextElapseUSecRealtime") timer.next_elapse = ParseTimestamp(value);
    if (key == "LastTriggerUSec") timer.last_trigger = ParseTimestamp(value);
  }
  flush();
  return timers;
}

std::string JoinValues(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += "; ";
    out += v;
  }
  return out;
}

class SystemdTimersTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Host& host = ctx.host();
    const internal::WarnFn warn = [&ctx](std::string m) { ctx.Warn(std::move(m)); };
    std::map<std::string, UnitFileEntry> entries;
    if (std::optional<std::vector<std::string>> wanted = ctx.EqualsText("id")) {
      for (const std::string& name : *wanted) {
        if (!name.ends_with(".timer")) continue;
        if (auto entry = internal::FindUnitFile(host, name)) entries.emplace(name, *entry);
      }
    } else {
      for (auto& [name, entry] : internal::ListUnitFiles(host)) {
        if (name.ends_with(".timer")) entries.emplace(name, std::move(entry));
      }
    }
    std::erase_if(entries, [&ctx](const auto& e) { return !ctx.Matches(kId, Value(e.first)); });

    const internal::EnablementLinks links = internal::EnablementLinks::Scan(host);
    const std::map<std::string, LiveTimer> live = LiveTimers(ctx, entries);
    std::vector<Row> rows;
    for (const auto& [name, entry] : entries) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      UnitFile unit = internal::LoadUnitFile(host, entry, links, warn);
      Row row(kColumnCount);
      row[kId] = name;
      row[kUnitFileState] = unit.state;
      if (unit.masked) row[kFragmentPath] = "";
      if (!unit.fragment_path.empty()) {
        const auto& s = unit.settings;
        row[kFragmentPath] = unit.fragment_path;
        row[kUnit] = internal::LastValue(s, "Timer", "Unit")
                         .value_or(internal::WithSuffix(name, ".service"));
        SetList(s, "OnCalendar", kOnCalendar, row);
        SetList(s, "OnActiveSec", kOnActiveSec, row);
        SetList(s, "OnBootSec", kOnBootSec, row);
        SetList(s, "OnStartupSec", kOnStartupSec, row);
        SetList(s, "OnUnitActiveSec", kOnUnitActiveSec, row);
        SetList(s, "OnUnitInactiveSec", kOnUnitInactiveSec, row);
        if (auto delay = internal::LastValue(s, "Timer", "RandomizedDelaySec")) {
          row[kRandomizedDelaySec] = *delay;
        }
        std::optional<std::string> persistent = internal::LastValue(s, "Timer", "Persistent");
        row[kPersistent] =
            persistent && internal::ParseSystemdBool(*persistent).value_or(false) ? 1 : 0;
      }
      if (auto it = live.find(name); it != live.end()) {
        if (it->second.next_elapse) row[kNextElapse] = *it->second.next_elapse;
        if (it->second.last_trigger) row[kLastTrigger] = *it->second.last_trigger;
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  static void SetList(const std::vector<internal::UnitSetting>& settings, std::string_view key,
                      int column, Row& row) {
    std::vector<std::string> values = internal::ListValues(settings, "Timer", key, false);
    if (!values.empty()) row[column] = JoinValues(values);
  }

  static std::map<std::string, LiveTimer> LiveTimers(
      const QueryContext& ctx, const std::map<std::string, UnitFileEntry>& entries) {
    if (entries.empty() || !(ctx.IsUsed(kNextElapse) || ctx.IsUsed(kLastTrigger)) ||
        !internal::SystemdIsRunning(ctx.host())) {
      return {};
    }
    std::vector<std::string> argv = {"systemctl",
                                     "show",
                                     "--timestamp=unix",
                                     "--no-pager",
                                     "--property=Id,NextElapseUSecRealtime,LastTriggerUSec",
                                     "--"};
    for (const auto& [name, entry] : entries) argv.push_back(name);
    CommandOptions options;
    options.timeout = std::chrono::seconds(5);
    Result<CommandResult> run = ctx.host().Run(argv, options);
    if (!run.ok() || run->exit_code != 0) {
      ctx.Warn(FormatCommand(argv) + ": " +
               (run.ok() ? "exit status " + std::to_string(run->exit_code) + ": " +
                               std::string(internal::Trim(run->err))
                         : run.status().message()));
      return {};
    }
    return ParseShow(run->out);
  }

  const Schema schema_ = SystemdTimersSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSystemdTimersTable() { return std::make_unique<SystemdTimersTable>(); }

}  // namespace vigil::tables
