// package.install, package.remove and package.upgrade: Debian packages through apt-get
// (non-interactive, keeping local configuration files). The plan holds commands only; it is
// empty when dpkg's status file (and, for upgrades, apt's package lists) already agree, so a
// second run does nothing.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "enforcers/internal/action_text.h"
#include "enforcers/internal/system_text.h"
#include "enforcers/system_actions.h"
#include "engine/sql/version_compare.h"
#include "tables/internal/dpkg_status.h"

namespace vigil::enforcers {
namespace {

using system_text::DebPackage;

constexpr std::string_view kStatusFile = "/var/lib/dpkg/status";
constexpr std::string_view kListsGlob = "/var/lib/apt/lists/*_Packages";
constexpr size_t kMaxListBytes = 1u << 30;

enum class Verb { kInstall, kRemove, kUpgrade };

std::vector<std::string> AptGet(std::vector<std::string> args) {
  std::vector<std::string> argv = {
      "env", "DEBIAN_FRONTEND=noninteractive",  "apt-get", "-y",
      "-o",  "Dpkg::Options::=--force-confdef", "-o",      "Dpkg::Options::=--force-confold"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Package names of the Depends and Pre-Depends fields of `name`'s stanza in `status`
// (alternatives included, versions and :any dropped; fields may continue on indented lines).
std::set<std::string> DirectDependencies(std::string_view status, std::string_view name) {
  std::string value;
  bool in_stanza = false, in_field = false;
  for (const std::string& line : action_text::TextLines::Split(status).lines) {
    if (action_text::Trim(line).empty()) {
      in_stanza = in_field = false;
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (in_field) value += "," + line;
      continue;
    }
    if (line.starts_with("Package:")) in_stanza = action_text::Trim(line.substr(8)) == name;
    in_field = in_stanza && (line.starts_with("Depends:") || line.starts_with("Pre-Depends:"));
    if (in_field) value += "," + line.substr(line.find(':') + 1);
  }
  std::set<std::string> out;
  size_t start = 0;
  while (start < value.size()) {
    size_t end = value.find_first_of(",|", start);
    if (end == std::string::npos) end = value.size();
    std::vector<std::string> words =
        action_text::Words(std::string_view(value).substr(start, end - start));
    if (!words.empty()) out.insert(words[0].substr(0, words[0].find(':')));
    start = end + 1;
  }
  return out;
}

class PackageAction final : public Action {
 public:
  explicit PackageAction(Verb verb) : verb_(verb) {
    const char* names[] = {"package.install", "package.remove", "package.upgrade"};
    const char* descriptions[] = {
        "Installs Debian packages with apt-get unless dpkg has them installed.",
        "Removes installed Debian packages with apt-get, never openssh-server or an essential "
        "or required one.",
        "Upgrades installed Debian packages with apt-get when apt's lists offer a newer version."};
    spec_.name = names[static_cast<int>(verb)];
    spec_.description = descriptions[static_cast<int>(verb)];
    spec_.params = {{"packages", true, true, "package names (NAME or NAME:ARCH)"}};
  }

  const packs::ActionSpec& spec() const override { return spec_; }

  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    const std::string_view action = spec_.name;
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> packages,
                           action_text::ListParam(action, args, "packages"));
    if (packages.empty()) {
      return Status::InvalidArgument(std::string(action) + ": packages is empty");
    }
    for (const std::string& p : packages)
      VIGIL_RETURN_IF_ERROR(system_text::CheckPackageName(action, p));

    Plan plan;
    auto status_text = host.ReadFile(kStatusFile, kMaxListBytes);
    if (!status_text.ok() && status_text.status().code() != StatusCode::kNotFound) {
      return status_text.status().WithContext(std::string(action));
    }
    if (!status_text.ok()) {
      plan.notes.push_back("no " + std::string(kStatusFile) + ": no package counts as installed");
    }
    const std::string text = status_text.ok() ? *status_text : "";
    const std::vector<DebPackage> status = system_text::ParseDebStanzas(text);
    auto installed = [&](const std::string& p, bool files_present) -> const DebPackage* {
      for (const DebPackage& s : status) {
        if (!system_text::PackageMatches(s, p)) continue;
        if (files_present ? tables::internal::DpkgFilesPresent(s.status)
                          : tables::internal::DpkgState(s.status) == "installed") {
          return &s;
        }
      }
      return nullptr;
    };

    std::vector<std::string> todo;
    switch (verb_) {
      case Verb::kInstall:
        for (const std::string& p : packages) {
          if (installed(p, false) == nullptr) todo.push_back(p);
        }
        if (!todo.empty()) {
          std::vector<std::string> a = {"install"};
          a.insert(a.end(), todo.begin(), todo.end());
          plan.commands.push_back({PlannedCommand::When::kApply, AptGet(std::move(a))});
        }
        return plan;
      case Verb::kRemove:
        return PlanRemove(packages, text, installed);
      case Verb::kUpgrade:
        return PlanUpgrade(host, packages, installed);
    }
    return plan;
  }

 private:
  template <typename Installed>
  Result<Plan> PlanRemove(const std::vector<std::string>& packages, const std::string& status,
                          Installed installed) const {
    Plan plan;
    std::vector<std::string> todo;
    std::set<std::string> names;
    for (const std::string& p : packages) {
      const DebPackage* s = installed(p, true);
      std::string name = p.substr(0, p.find(':'));
      if (name == "openssh-server") {
        plan.refused = "removing openssh-server would stop SSH logins to this node";
        return plan;
      }
      if (s == nullptr) continue;
      if (s->essential) {
        plan.refused = "removing " + p + " is unsafe: dpkg marks it Essential";
        return plan;
      }
      if (s->priority == "required") {
        plan.refused = "removing " + p + " is unsafe: its priority is required";
        return plan;
      }
      todo.push_back(p);
      names.insert(name);
    }
    if (todo.empty()) return plan;
    // apt-get removes what depends on a removed package: openssh-server must not be among them.
    if (installed("openssh-server", true) != nullptr) {
      for (const std::string& dep : DirectDependencies(status, "openssh-server")) {
        if (names.contains(dep)) {
          plan.refused = "removing " + dep +
                         " would take openssh-server with it and stop SSH logins to this node";
          return plan;
        }
      }
    }
    std::vector<std::string> a = {"remove"};
    a.insert(a.end(), todo.begin(), todo.end());
    plan.commands.push_back({PlannedCommand::When::kApply, AptGet(std::move(a))});
    return plan;
  }

  template <typename Installed>
  Result<Plan> PlanUpgrade(const Host& host, const std::vector<std::string>& packages,
                           Installed installed) const {
    Plan plan;
    std::vector<std::pair<std::string, const DebPackage*>> present;
    for (const std::string& p : packages) {
      const DebPackage* s = installed(p, false);
      if (s == nullptr) {
        plan.notes.push_back(p + " is not installed: nothing to upgrade");
      } else {
        present.emplace_back(p, s);
      }
    }
    if (present.empty()) return plan;

    // The newest version apt's lists offer per name and architecture.
    std::map<std::pair<std::string, std::string>, std::string> candidates;
    auto lists = host.Glob(kListsGlob);
    const bool have_lists = lists.ok() && !lists->empty();
    if (have_lists) {
      std::set<std::string> wanted;
      for (const auto& [p, s] : present) wanted.insert(s->name);
      for (const std::string& list : *lists) {
        auto text = host.ReadFile(list, kMaxListBytes);
        if (!text.ok()) {
          plan.notes.push_back("cannot read " + list + ": " + text.status().message());
          continue;
        }
        for (DebPackage& offer : system_text::ParseDebStanzas(*text)) {
          if (!wanted.contains(offer.name)) continue;
          std::string& best = candidates[{offer.name, offer.arch}];
          if (best.empty() || CompareDebianVersions(offer.version, best) > 0) best = offer.version;
        }
      }
    } else {
      plan.notes.push_back(
          "no package lists in /var/lib/apt/lists (apt-get update has not run): "
          "upgrading without knowing whether a newer version exists");
    }
    std::vector<std::string> todo;
    for (const auto& [p, s] : present) {
      if (have_lists) {
        bool newer = false;
        for (const std::string& arch : {s->arch, std::string("all")}) {
          auto it = candidates.find({s->name, arch});
          newer = newer ||
                  (it != candidates.end() && CompareDebianVersions(it->second, s->version) > 0);
        }
        if (!newer) continue;
      }
      if (s->status.starts_with("hold ")) {
        plan.notes.push_back(p + " is on hold: apt-get will refuse to change it");
      }
      todo.push_back(p);
    }
    if (todo.empty()) return plan;
    std::vector<std::string> a = {"install", "--only-upgrade"};
    a.insert(a.end(), todo.begin(), todo.end());
    plan.commands.push_back({PlannedCommand::When::kApply, AptGet(std::move(a))});
    return plan;
  }

  const Verb verb_;
  packs::ActionSpec spec_;
};

}  // namespace

std::unique_ptr<Action> MakePackageInstall() {
  return std::make_unique<PackageAction>(Verb::kInstall);
}
std::unique_ptr<Action> MakePackageRemove() {
  return std::make_unique<PackageAction>(Verb::kRemove);
}
std::unique_ptr<Action> MakePackageUpgrade() {
  return std::make_unique<PackageAction>(Verb::kUpgrade);
}

Status CheckPackageName(std::string_view what, std::string_view package) {
  return system_text::CheckPackageName(what, package);
}

}  // namespace vigil::enforcers
