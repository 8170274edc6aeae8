// sysctl.set: makes a kernel parameter hold `value`, now and after a reboot.
//
// Persisted: every active line of the name in /etc/sysctl.d/*.conf and /etc/sysctl.conf gets
// the value (a later file would otherwise undo ours); when none sets it, `file` gets a line.
// Files under /usr/lib/sysctl.d belong to packages and are not edited. Live: `sysctl -w` on the
// machine itself; under another root, the tree's /proc/sys file (when it has one) is written.
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;

constexpr std::string_view kAction = "sysctl.set";
constexpr std::string_view kDefaultFile = "/etc/sysctl.d/99-vigil.conf";

bool ValidName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.front() == '/') return false;
  char previous = '.';
  bool separated = false;
  for (char c : name) {
    const bool separator = c == '.' || c == '/';
    if (separator && (previous == '.' || previous == '/')) return false;
    if (!separator && !(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
    separated |= separator;
    previous = c;
  }
  return separated && previous != '.' && previous != '/';
}

std::string Dotted(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '/') c = '.';
  }
  return out;
}

// The name an active sysctl.conf line sets ("-net.ipv4.x = 1" -> "net.ipv4.x"), with where its
// value starts; nullopt for comments, blank and malformed lines.
std::optional<std::pair<std::string, size_t>> LineName(std::string_view line) {
  const std::string_view trimmed = action_text::Trim(line);
  if (trimmed.empty() || trimmed.front() == '#' || trimmed.front() == ';') return std::nullopt;
  const size_t equals = line.find('=');
  if (equals == std::string_view::npos) return std::nullopt;
  std::string_view name = action_text::Trim(line.substr(0, equals));
  if (!name.empty() && name.front() == '-') name.remove_prefix(1);
  size_t value = equals + 1;
  while (value < line.size() && action_text::IsBlank(line[value])) ++value;
  return std::make_pair(Dotted(name), value);
}

Result<Plan> PlanSysctlSet(const Host& host, const packs::Params& args) {
  const std::string name = action_text::Arg(args, "name");
  const std::string value = action_text::Arg(args, "value");
  const std::string file = action_text::Arg(args, "file", kDefaultFile);
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "name", name));
  if (!ValidName(name)) return action_text::BadArg(kAction, "name", name, "is not a sysctl name");
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "value", value));
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "file", file));
  const std::string wanted = action_text::NormalizeBlanks(value);
  if (wanted.empty()) return action_text::BadArg(kAction, "value", value, "is empty");
  const std::string dotted = Dotted(name);

  std::vector<std::string> paths;
  if (auto found = host.Glob("/etc/sysctl.d/*.conf"); found.ok()) paths = *found;
  paths.push_back("/etc/sysctl.conf");
  paths.push_back(file);
  Plan plan;
  std::set<std::string> seen;  // canonical paths: 99-sysctl.conf links to ../sysctl.conf
  bool persisted = false;
  std::string target;  // `file`, canonical
  for (const std::string& path : paths) {
    VIGIL_ASSIGN_OR_RETURN(std::string canonical, host.Canonical(path));
    if (&path == &paths.back()) target = canonical;
    if (!seen.insert(canonical).second) continue;
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content,
                           action_text::ReadIfExists(host, canonical));
    if (!content) continue;
    TextLines text = TextLines::Split(*content);
    bool changed = false;
    for (std::string& line : text.lines) {
      auto set = LineName(line);
      if (!set || set->first != dotted) continue;
      persisted = true;
      if (action_text::NormalizeBlanks(std::string_view(line).substr(set->second)) == wanted) {
        continue;
      }
      line = line.substr(0, set->second) + value;
      changed = true;
    }
    if (changed) plan.files.push_back(action_text::ContentEdit(canonical, text.Join()));
  }
  if (!persisted) {  // then no line set the name and plan.files is empty
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> old, action_text::ReadIfExists(host, target));
    TextLines text = TextLines::Split(old.value_or(""));
    text.Insert(text.lines.size(), dotted + " = " + value);
    plan.files.push_back(action_text::ContentEdit(target, text.Join()));
  }

  std::string proc = "/proc/sys/" + dotted;
  for (char& c : proc) {
    if (c == '.') c = '/';
  }
  Result<std::string> live = host.ReadFile(proc);
  const bool live_ok = live.ok() && action_text::NormalizeBlanks(*live) == wanted;
  if (host.is_machine_root()) {
    if (!live_ok) {
      plan.commands.push_back(
          {PlannedCommand::When::kApply, {"sysctl", "-w", dotted + "=" + value}});
    }
  } else if (live.ok() && !live_ok) {
    plan.files.push_back(action_text::ContentEdit(proc, wanted + "\n"));
  }
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeSysctlSet() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Sets a kernel parameter now and in the files read at boot, fixing conflicting lines.",
       {{"name", true, false, "the parameter, e.g. net.ipv4.ip_forward"},
        {"value", true, false, "its value"},
        {"file", false, false, "where a new line goes; default /etc/sysctl.d/99-vigil.conf"}}},
      &PlanSysctlSet);
}

}  // namespace vigil::enforcers
