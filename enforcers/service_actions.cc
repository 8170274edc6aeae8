// service.enable, service.disable and service.mask: systemd unit file state, done as the
// symlinks `systemctl enable|disable|mask` makes under /etc/systemd/system (so they work on a
// host tree under --root as well as on the machine), followed on the machine itself by
// `systemctl daemon-reload` and a start or stop so the running state agrees.
//
// What is modelled: the unit found first in the search path (/etc/systemd/system,
// /run/systemd/system, /usr/local/lib/systemd/system, /usr/lib/systemd/system,
// /lib/systemd/system), template instances (getty@tty1.service uses getty@.service),
// DefaultInstance=, and the [Install] keys WantedBy=, RequiredBy=, UpheldBy=, Alias= and
// Also=. Drop-ins and specifiers (%i) in [Install] are not read.
#include <set>
#include <string>
#include <vector>

#include "enforcers/internal/action_text.h"
#include "enforcers/system_actions.h"
#include "tables/internal/systemd_units.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kConfigDir = "/etc/systemd/system";

const std::vector<std::string_view>& SearchPath() {
  static const std::vector<std::string_view> kDirs = {
      "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
      "/usr/lib/systemd/system", "/lib/systemd/system"};
  return kDirs;
}

bool IsUnitChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_' || c == '.' || c == '@' || c == '-' || c == '\\';
}

// "cron" -> "cron.service"; InvalidArgument for anything that is not a unit name.
Result<std::string> UnitName(std::string_view action, std::string text) {
  static const std::set<std::string> kTypes = {"service", "socket",    "target", "device",
                                               "mount",   "automount", "swap",   "timer",
                                               "path",    "slice",     "scope"};
  bool ok = !text.empty() && text.size() <= 255 && text[0] != '.' && text[0] != '-';
  for (char c : text) ok = ok && IsUnitChar(c);
  if (ok && text.find('.') == std::string::npos) text += ".service";
  size_t dot = text.rfind('.');
  if (ok && !kTypes.contains(text.substr(dot + 1))) ok = false;
  if (ok && text.find('@') != std::string::npos && text.find('@') + 1 == dot) {
    ok = false;  // a template ("getty@.service") is not a unit that can run
  }
  if (!ok) {
    return Status::InvalidArgument(std::string(action) + ": unit '" + text +
                                   "' is not a systemd unit name");
  }
  return text;
}

// "getty@tty1.service" -> "getty@.service"; "" when not an instance.
std::string TemplateOf(std::string_view name) {
  size_t at = name.find('@');
  size_t dot = name.rfind('.');
  if (at == std::string_view::npos || dot == std::string_view::npos || at + 1 >= dot) return "";
  return std::string(name.substr(0, at + 1)) + std::string(name.substr(dot));
}

// ssh.service, sshd.service, ssh.socket, ssh@.service...: the way in.
bool IsSshUnit(std::string_view name) {
  std::string_view stem = name.substr(0, name.find_first_of("@."));
  return stem == "ssh" || stem == "sshd";
}

bool IsMaskLink(const Host& host, const std::string& path) {
  auto target = host.ReadLink(path);
  return target.ok() && *target == "/dev/null";
}

bool IsSymlink(const Host& host, const std::string& path) {
  auto lstat = host.Lstat(path);
  return lstat.ok() && S_ISLNK(lstat->st_mode);
}

struct UnitFile {
  std::string name;  // the unit's own name ("getty@tty1.service", an alias resolved)
  std::string path;  // host path of the file defining it (the template's for an instance)
  std::string text;
};

// The file that defines `name`, skipping a mask. NotFound when no directory has it.
Result<UnitFile> FindUnit(const Host& host, const std::string& name) {
  std::vector<std::string> candidates = {name};
  if (std::string t = TemplateOf(name); !t.empty()) candidates.push_back(t);
  for (const std::string& candidate : candidates) {
    for (std::string_view dir : SearchPath()) {
      const std::string path = JoinPath(dir, candidate);
      if (!host.Exists(path) || IsMaskLink(host, path)) continue;
      auto canonical = host.Canonical(path);
      if (!canonical.ok()) continue;
      auto text = host.ReadFile(*canonical);
      if (!text.ok()) continue;
      UnitFile unit;
      // Links point where the file was found ("/lib/systemd/system/x.service", as systemctl
      // writes them even when /lib leads to /usr/lib), or, for a link, to what it leads to.
      unit.path = IsSymlink(host, path) ? *canonical : path;
      unit.text = std::move(*text);
      // An alias (sshd.service -> ssh.service) stands for the unit it links to.
      std::string real = BaseName(*canonical);
      unit.name = candidate == name && real.find('@') == std::string::npos ? real : name;
      return unit;
    }
  }
  return Status::NotFound("no unit file for " + name);
}

// A symlink of the enablement: where, and what it points to.
struct Link {
  std::string path;
  std::string target;
};

// The links `systemctl enable` makes for `unit`, with those of its Also= units.
void EnableLinks(const Host& host, const UnitFile& unit, std::set<std::string>& seen,
                 std::vector<Link>& links, std::vector<std::string>& notes) {
  if (!seen.insert(unit.name).second) return;
  // Malformed lines are skipped silently here: the unit_files table reports them.
  const std::vector<tables::internal::UnitSetting> settings =
      tables::internal::ParseUnitFile(unit.text, unit.path, [](std::string) {});
  // The words of an [Install] list setting; an empty assignment clears what came before.
  auto install = [&](std::string_view key) {
    return tables::internal::ListValues(settings, "Install", key, /*split_words=*/true);
  };
  std::string instance = unit.name;
  if (unit.name.find('@') + 1 == unit.name.rfind('.')) {  // a template named directly
    const std::vector<std::string> def = install("DefaultInstance");
    if (def.empty()) {
      notes.push_back(unit.name + " is a template without DefaultInstance=: nothing to link");
      instance.clear();
    } else {
      instance = unit.name.substr(0, unit.name.find('@') + 1) + def.front() +
                 unit.name.substr(unit.name.rfind('.'));
    }
  }
  static const std::vector<std::pair<std::string, std::string>> kDeps = {
      {"WantedBy", ".wants"}, {"RequiredBy", ".requires"}, {"UpheldBy", ".upholds"}};
  if (!instance.empty()) {
    for (const auto& [key, suffix] : kDeps) {
      for (const std::string& target : install(key)) {
        links.push_back({JoinPath(JoinPath(kConfigDir, target + suffix), instance), unit.path});
      }
    }
  }
  for (const std::string& alias : install("Alias")) {
    links.push_back({JoinPath(kConfigDir, alias), unit.path});
  }
  for (const std::string& also : install("Also")) {
    auto other = FindUnit(host, also);
    if (other.ok()) EnableLinks(host, *other, seen, links, notes);
  }
}

// Whether `link` is a symlink that already leads to `target`.
bool LinkInPlace(const Host& host, const Link& link) {
  auto lstat = host.Lstat(link.path);
  if (!lstat.ok() || !S_ISLNK(lstat->st_mode)) return false;
  auto written = host.ReadLink(link.path);
  if (written.ok() && *written == link.target) return true;
  auto a = host.Canonical(link.path);
  auto b = host.Canonical(link.target);
  return a.ok() && b.ok() && *a == *b;
}

// On the machine with a running systemd: whether the unit is active, or nullopt when unknown.
std::optional<bool> LiveActive(const Host& host, const std::string& unit) {
  if (!host.is_machine_root() || !host.IsDirectory("/run/systemd/system")) return std::nullopt;
  auto r = host.Run({"systemctl", "is-active", unit});
  if (!r.ok()) return std::nullopt;
  return action_text::Trim(r->out) == "active";
}

enum class Verb { kEnable, kDisable, kMask };

class ServiceAction final : public Action {
 public:
  explicit ServiceAction(Verb verb) : verb_(verb) {
    const char* names[] = {"service.enable", "service.disable", "service.mask"};
    const char* descriptions[] = {
        "Enables a systemd unit (the links of its [Install] section) and starts it.",
        "Disables a systemd unit (removes its links under /etc/systemd/system) and stops it.",
        "Masks a systemd unit (links it to /dev/null in /etc/systemd/system) and stops it."};
    spec_.name = names[static_cast<int>(verb)];
    spec_.description = descriptions[static_cast<int>(verb)];
    spec_.params = {{"unit", true, false, "the unit, e.g. auditd.service (.service when no type)"}};
  }

  const packs::ActionSpec& spec() const override { return spec_; }

  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    const std::string_view action = spec_.name;
    VIGIL_ASSIGN_OR_RETURN(std::string text, action_text::OneParam(action, args, "unit"));
    VIGIL_ASSIGN_OR_RETURN(std::string name,
                           UnitName(action, std::string(action_text::Trim(text))));
    auto unit = FindUnit(host, name);
    Plan plan;
    if (verb_ != Verb::kEnable &&
        (IsSshUnit(name) || (unit.ok() && IsSshUnit(BaseName(unit->path))))) {
      plan.refused = std::string(verb_ == Verb::kMask ? "masking " : "disabling ") + name +
                     " would stop SSH logins to this node";
      return plan;
    }
    switch (verb_) {
      case Verb::kEnable:
        return PlanEnable(host, name, unit);
      case Verb::kDisable:
        return PlanDisable(host, name, unit);
      case Verb::kMask:
        return PlanMask(host, name);
    }
    return plan;
  }

 private:
  static void Live(const Host& host, Plan& plan, const std::string& unit, bool files_changed,
                   bool want_active) {
    if (files_changed)
      plan.commands.push_back({PlannedCommand::When::kApply, {"systemctl", "daemon-reload"}});
    std::optional<bool> active = LiveActive(host, unit);
    if (files_changed || (active && *active != want_active)) {
      plan.commands.push_back(
          {PlannedCommand::When::kApply, {"systemctl", want_active ? "start" : "stop", unit}});
    }
  }

  Result<Plan> PlanEnable(const Host& host, const std::string& name,
                          const Result<UnitFile>& unit) const {
    Plan plan;
    if (!unit.ok()) {
      plan.refused = name +
                     " is not installed: no unit file in /etc/systemd/system, "
                     "/run/systemd/system, /usr/local/lib/systemd/system, "
                     "/usr/lib/systemd/system or /lib/systemd/system";
      return plan;
    }
    // A mask hides the unit whatever its links say: it goes first.
    const std::string mask = JoinPath(kConfigDir, name);
    if (IsMaskLink(host, mask)) {
      FileEdit edit;
      edit.path = mask;
      edit.remove = true;
      plan.files.push_back(std::move(edit));
      plan.notes.push_back(name + " was masked; the mask is removed");
    }
    std::set<std::string> seen;
    std::vector<Link> links;
    EnableLinks(host, *unit, seen, links, plan.notes);
    if (links.empty() && plan.files.empty()) {
      plan.notes.push_back(unit->name +
                           " has no [Install] links (a static unit): other units "
                           "start it, there is nothing to enable");
      return plan;
    }
    for (const Link& link : links) {
      if (LinkInPlace(host, link)) continue;
      FileEdit edit;
      edit.path = link.path;
      edit.symlink_to = link.target;
      plan.files.push_back(std::move(edit));
    }
    Live(host, plan, unit->name, !plan.files.empty(), true);
    return plan;
  }

  Result<Plan> PlanDisable(const Host& host, const std::string& name,
                           const Result<UnitFile>& unit) const {
    Plan plan;
    std::set<std::string> paths;
    std::vector<std::string> names = {name};
    if (unit.ok()) {
      std::set<std::string> seen;
      std::vector<Link> links;
      std::vector<std::string> unused_notes;
      EnableLinks(host, *unit, seen, links, unused_notes);
      for (const Link& link : links) {
        if (IsSymlink(host, link.path)) paths.insert(link.path);
      }
      for (const std::string& n : seen) names.push_back(n);
    }
    // Links left by an older [Install] section.
    for (const std::string& n : names) {
      for (std::string_view kind : {".wants", ".requires", ".upholds"}) {
        auto found = host.Glob(std::string(kConfigDir) + "/*" + std::string(kind) + "/" + n);
        if (!found.ok()) continue;
        for (const std::string& path : *found) {
          if (IsSymlink(host, path)) paths.insert(path);
        }
      }
    }
    for (const std::string& path : paths) {
      FileEdit edit;
      edit.path = path;
      edit.remove = true;
      plan.files.push_back(std::move(edit));
    }
    Live(host, plan, unit.ok() ? unit->name : name, !plan.files.empty(), false);
    return plan;
  }

  Result<Plan> PlanMask(const Host& host, const std::string& name) const {
    Plan plan;
    const std::string path = JoinPath(kConfigDir, name);
    if (!IsMaskLink(host, path)) {
      if (host.Exists(path) && !IsSymlink(host, path)) {
        plan.refused = path +
                       " is a unit file written on this node; masking would replace it "
                       "(remove or rename it first)";
        return plan;
      }
      FileEdit edit;
      edit.path = path;
      edit.symlink_to = "/dev/null";
      plan.files.push_back(std::move(edit));
    }
    Live(host, plan, name, !plan.files.empty(), false);
    return plan;
  }

  const Verb verb_;
  packs::ActionSpec spec_;
};

}  // namespace

std::unique_ptr<Action> MakeServiceEnable() {
  return std::make_unique<ServiceAction>(Verb::kEnable);
}
std::unique_ptr<Action> MakeServiceDisable() {
  return std::make_unique<ServiceAction>(Verb::kDisable);
}
std::unique_ptr<Action> MakeServiceMask() { return std::make_unique<ServiceAction>(Verb::kMask); }

}  // namespace vigil::enforcers
