#include "enforcers/builtin.h"

#include <algorithm>

#include "enforcers/file_actions.h"
#include "enforcers/system_actions.h"

namespace vigil::enforcers {

// Each factory lives in the file named after its action (sysctl_set.cc holds sysctl.set).
// The list below is the one place that registers them.

const ActionRegistry& ActionRegistry::Builtin() {
  static const ActionRegistry registry = [] {
    ActionRegistry r;
    const std::vector<std::unique_ptr<Action> (*)()> factories = {
        MakeNftablesZone,
        MakeSudoersEnsure,
        MakeAuditRules,
        MakeServiceEnable,
        MakeServiceDisable,
        MakeServiceMask,
        MakePackageInstall,
        MakePackageRemove,
        MakePackageUpgrade,
        MakeSshdSet,
        MakeConfigSet,
        MakeSysctlSet,
        MakePamEnsure,
        MakeFileMode,
        MakeModprobeBlock,
        MakeBannerSet,
        MakeProfileSet,
        MakeLimitsSet,
        MakeAccountLock,
        MakeAccountShell,
        // Actions arrive with the packs issue, one line each.
    };
    for (auto* make : factories) r.actions_.push_back(make());
    std::sort(r.actions_.begin(), r.actions_.end(),
              [](const auto& a, const auto& b) { return a->spec().name < b->spec().name; });
    return r;
  }();
  return registry;
}

const Action* ActionRegistry::Find(std::string_view name) const {
  for (const auto& action : actions_) {
    if (action->spec().name == name) return action.get();
  }
  return nullptr;
}

const packs::ActionSpec* ActionRegistry::FindAction(std::string_view name) const {
  const Action* action = Find(name);
  return action == nullptr ? nullptr : &action->spec();
}

}  // namespace vigil::enforcers
