// systemd_units: every unit file of the system search path with its unit file state, and, when
// systemd runs on this machine, the manager's live state of every loaded unit.
#include "tables/internal/systemd_units.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
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
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::UnitFile;
using internal::UnitFileEntry;

// Column positions, in the order of the column list below.
enum SystemdUnitsColumn : int {
  kId,
  kDescription,
  kLoadState,
  kActiveState,
  kSubState,
  kFollowing,
  kObjectPath,
  kJobId,
  kJobType,
  kJobPath,
  kFragmentPath,
  kUser,
  kSourcePath,
  kUnitFileState,
  kColumnCount
};

constexpr std::string_view kLiveNote =
    "; NULL unless systemd runs on this machine (host root '/' and /run/systemd/system exists)";

Schema SystemdUnitsSchema() {
  const std::string live(kLiveNote);
  return Schema{
      "systemd_units",
      "systemd units: every unit file in the system search path (/etc/systemd/system, "
      "/run/systemd/system, /usr/local/lib/systemd/system, /usr/lib/systemd/system, "
      "/lib/systemd/system, and the generator and transient directories; a name in an "
      "earlier directory hides later ones) with what the file and its drop-ins say and its "
      "unit file state as `systemctl list-unit-files` reports it; plus, when systemd runs on "
      "this machine, the loaded units from `systemctl list-units --all` (instances, devices, "
      "scopes) and the live load/active/sub state of every unit. Without a running systemd "
      "the live columns are NULL.",
      {
          {"id", ColumnType::kText, "Unit name (\"ssh.service\")", kIndex},
          {"description", ColumnType::kText,
           "Description= of the [Unit] section (the last one, drop-ins included), '' when "
           "unset; for a unit without a readable file, what systemctl lists; NULL for a "
           "masked unit"},
          {"load_state", ColumnType::kText,
           "Whether the manager loaded the unit: loaded, not-found, bad-setting, error, masked, "
           "...; NULL for a unit the manager has not loaded" +
               live},
          {"active_state", ColumnType::kText,
           "active, inactive, failed, activating, deactivating, reloading; inactive for a unit "
           "the manager has not loaded" +
               live + " (NULL also for templates)"},
          {"sub_state", ColumnType::kText,
           "Type-specific state (running, exited, dead, listening, waiting, ...); dead for a "
           "unit the manager has not loaded" +
               live + " (NULL also for templates)"},
          {"following", ColumnType::kText,
           "Unit this unit follows in state; always NULL (systemctl list-units does not show "
           "it)"},
          {"object_path", ColumnType::kText,
           "D-Bus object path of the unit (/org/freedesktop/systemd1/unit/...)" + live},
          {"job_id", ColumnType::kInteger,
           "Id of the job queued for the unit, from `systemctl list-jobs`; NULL when none" + live},
          {"job_type", ColumnType::kText,
           "Type of the queued job (start, stop, ...); NULL when none" + live},
          {"job_path", ColumnType::kText,
           "D-Bus object path of the queued job; NULL when none" + live},
          {"fragment_path", ColumnType::kText,
           "The unit file the unit is read from, symlinks followed (an alias gives its "
           "target's file, an instance its template's); '' for a masked unit; NULL when no "
           "unit file defines the unit"},
          {"user", ColumnType::kText,
           "User= of the [Service] section (drop-ins included), '' when unset; NULL when no "
           "unit file can be read"},
          {"source_path", ColumnType::kText,
           "SourcePath= of the [Unit] section: the configuration a generator made the unit "
           "from (/etc/fstab for mounts); '' when unset; NULL when no unit file can be read"},
          {"unit_file_state", ColumnType::kText,
           "Vigil: enabled, enabled-runtime, linked, linked-runtime, alias, masked, "
           "masked-runtime, static, indirect, disabled, generated, transient or bad, worked "
           "out from the files as `systemctl list-unit-files` does; NULL when no unit file "
           "defines the unit"},
      }};
}

// What the manager reports for one loaded unit.
struct LiveUnit {
  std::string load, active, sub, description;
  std::optional<int64_t> job_id;
  std::string job_type;
};

// D-Bus object path label: letters and digits are kept (a leading digit is not), every other
// byte is written as _xx.
std::string BusLabel(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (std::isalnum(c) && !(i == 0 && std::isdigit(c))) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "_%02x", c);
      out += hex;
    }
  }
  return out.empty() ? "_" : out;
}

// Parses `systemctl list-units --all --plain --full` with its header. Columns are padded to a
// common width; the JOB column appears only while some unit has a job, so the header says
// where each cell starts.
std::map<std::string, LiveUnit> ParseListUnits(std::string_view out) {
  std::map<std::string, LiveUnit> units;
  std::vector<internal::NumberedLine> lines = internal::SplitLines(out);
  size_t header = 0;
  while (header < lines.size() && internal::Trim(lines[header].text).empty()) ++header;
  if (header == lines.size()) return units;
  std::string_view head = lines[header].text;
  size_t desc_at = head.find("DESCRIPTION");
  size_t job_at = head.find(" JOB ");
  if (job_at != std::string_view::npos) ++job_at;
  if (head.find("UNIT") == std::string_view::npos || desc_at == std::string_view::npos) {
    return units;
  }
  for (size_t i = header + 1; i < lines.size(); ++i) {
    std::string_view line = lines[i].text;
    if (internal::Trim(line).empty()) break;  // the legend follows
    std::string_view cells = line.substr(0, std::min(desc_at, line.size()));
    std::vector<std::string_view> words = internal::SplitWhitespace(cells);
    // A marker for failed units ("●", "*") may lead without --plain.
    if (!words.empty() && !internal::IsUnitName(words[0])) words.erase(words.begin());
    if (words.size() < 4 || !internal::IsUnitName(words[0])) continue;
    LiveUnit& unit = units[std::string(words[0])];
    unit.load = words[1];
    unit.active = words[2];
    unit.sub = words[3];
    if (job_at != std::string_view::npos && words.size() >= 5) unit.job_type = words[4];
    if (line.size() > desc_at) unit.description = internal::Trim(line.substr(desc_at));
  }
  return units;
}

// Parses `systemctl list-jobs --no-legend --full`: "ID UNIT TYPE STATE".
void ParseListJobs(std::string_view out, std::map<std::string, LiveUnit>& units) {
  for (const internal::NumberedLine& line : internal::SplitLines(out)) {
    std::vector<std::string_view> words = internal::SplitWhitespace(line.text);
    if (words.size() < 3) continue;
    std::optional<int64_t> id = internal::ParseInt(words[0]);
    if (!id) continue;
    LiveUnit& unit = units[std::string(words[1])];
    unit.job_id = *id;
    unit.job_type = words[2];
  }
}

std::optional<std::string> RunSystemctl(const QueryContext& ctx, std::vector<std::string> argv) {
  CommandOptions options;
  options.timeout = std::chrono::seconds(5);
  Result<CommandResult> run = ctx.host().Run(argv, options);
  if (!run.ok()) {
    ctx.Warn(FormatCommand(argv) + ": " + run.status().message());
    return std::nullopt;
  }
  if (run->exit_code != 0) {
    ctx.Warn(FormatCommand(argv) + ": exit status " + std::to_string(run->exit_code) + ": " +
             std::string(internal::Trim(run->err)));
    return std::nullopt;
  }
  return std::move(run->out);
}

class SystemdUnitsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Host& host = ctx.host();
    const internal::WarnFn warn = [&ctx](std::string m) { ctx.Warn(std::move(m)); };
    const std::optional<std::vector<std::string>> wanted = ctx.EqualsText("id");

    std::map<std::string, UnitFileEntry> entries;
    if (wanted) {
      for (const std::string& name : *wanted) {
        if (auto entry = internal::FindUnitFile(host, name)) entries.emplace(name, *entry);
      }
    } else {
      entries = internal::ListUnitFiles(host);
    }

    std::optional<std::map<std::string, LiveUnit>> live = LiveUnits(ctx, wanted);
    if (live) {
      // Loaded units without a unit file of their own: instances read their template's file.
      for (const auto& [name, unit] : *live) {
        if (entries.contains(name)) continue;
        std::string tmpl = internal::TemplateOf(name);
        std::optional<UnitFileEntry> from = internal::FindUnitFile(host, tmpl);
        entries.emplace(name, from ? UnitFileEntry{name, from->path, from->kind}
                                   : UnitFileEntry{name, "", internal::UnitDirKind::kVendor});
      }
    }

    const internal::EnablementLinks links = internal::EnablementLinks::Scan(host);
    std::vector<Row> rows;
    for (const auto& [name, entry] : entries) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      if (!ctx.Matches(kId, Value(name))) continue;
      Row row(kColumnCount);
      row[kId] = name;
      std::string real_name = name;
      const LiveUnit* state = nullptr;
      if (!entry.path.empty()) {
        UnitFile unit = internal::LoadUnitFile(host, entry, links, warn);
        FillFromFile(unit, row);
        if (!unit.fragment_path.empty() && internal::TemplateOf(name).empty()) {
          real_name = BaseName(unit.fragment_path);  // an alias shows its unit's state
        }
      }
      if (live) {
        auto it = live->find(name);
        if (it == live->end()) it = live->find(real_name);
        if (it != live->end()) state = &it->second;
        FillLive(it != live->end() ? it->first : name, state, row);
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  // The manager's loaded units, or nullopt when systemd does not run here or no live column is
  // used.
  std::optional<std::map<std::string, LiveUnit>> LiveUnits(
      const QueryContext& ctx, const std::optional<std::vector<std::string>>& wanted) const {
    bool used = false;
    for (int c : {kLoadState, kActiveState, kSubState, kObjectPath, kJobId, kJobType, kJobPath}) {
      used = used || ctx.IsUsed(c);
    }
    if (!used || !internal::SystemdIsRunning(ctx.host())) return std::nullopt;
    std::vector<std::string> argv = {"systemctl",  "list-units",       "--all", "--plain", "--full",
                                     "--no-pager", "--no-ask-password"};
    if (wanted) {
      if (wanted->empty()) return std::map<std::string, LiveUnit>();
      argv.emplace_back("--");
      argv.insert(argv.end(), wanted->begin(), wanted->end());
    }
    std::optional<std::string> out = RunSystemctl(ctx, argv);
    if (!out) return std::nullopt;
    std::map<std::string, LiveUnit> units = ParseListUnits(*out);
    if (ctx.IsUsed(kJobId) || ctx.IsUsed(kJobType) || ctx.IsUsed(kJobPath)) {
      std::optional<std::string> jobs =
          RunSystemctl(ctx, {"systemctl", "list-jobs", "--no-legend", "--full", "--no-pager"});
      if (jobs) {
        std::map<std::string, LiveUnit> with_jobs;
        ParseListJobs(*jobs, with_jobs);
        for (auto& [name, job] : with_jobs) {
          auto it = units.find(name);
          if (it == units.end()) continue;  // a job for a unit outside the listing
          it->second.job_id = job.job_id;
          it->second.job_type = job.job_type;
        }
      }
    }
    return units;
  }

  static void FillFromFile(const UnitFile& unit, Row& row) {
    row[kUnitFileState] = unit.state;
    if (unit.masked) {
      row[kFragmentPath] = "";
      return;
    }
    if (unit.fragment_path.empty()) return;  // unreadable: "bad"
    row[kFragmentPath] = unit.fragment_path;
    row[kDescription] = internal::LastValue(unit.settings, "Unit", "Description").value_or("");
    row[kUser] = internal::LastValue(unit.settings, "Service", "User").value_or("");
    row[kSourcePath] = internal::LastValue(unit.settings, "Unit", "SourcePath").value_or("");
  }

  static void FillLive(const std::string& name, const LiveUnit* state, Row& row) {
    if (state == nullptr) {
      if (internal::IsUnitTemplate(name)) return;
      row[kActiveState] = "inactive";
      row[kSubState] = "dead";
      return;
    }
    row[kLoadState] = state->load;
    row[kActiveState] = state->active;
    row[kSubState] = state->sub;
    row[kObjectPath] = "/org/freedesktop/systemd1/unit/" + BusLabel(name);
    if (row[kDescription].is_null()) row[kDescription] = state->description;
    if (!state->job_type.empty()) row[kJobType] = state->job_type;
    if (state->job_id) {
      row[kJobId] = *state->job_id;
      row[kJobPath] = "/org/freedesktop/systemd1/job/" + std::to_string(*state->job_id);
    }
  }

  const Schema schema_ = SystemdUnitsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSystemdUnitsTable() { return std::make_unique<SystemdUnitsTable>(); }

}  // namespace vigil::tables
