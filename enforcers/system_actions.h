// The command and ruleset actions: whole rulesets (nftables.zone), sudoers and audit rules
// files, systemd enablement links and Debian packages. Each factory lives in the file named
// after its action; enforcers/builtin.cc lists them.
#pragma once

#include <memory>

#include "enforcers/action.h"

namespace vigil::enforcers {

std::unique_ptr<Action> MakeNftablesZone();    // nftables_zone.cc
std::unique_ptr<Action> MakeSudoersEnsure();   // sudoers_ensure.cc
std::unique_ptr<Action> MakeAuditRules();      // audit_rules.cc
std::unique_ptr<Action> MakeServiceEnable();   // service_actions.cc
std::unique_ptr<Action> MakeServiceDisable();  // service_actions.cc
std::unique_ptr<Action> MakeServiceMask();     // service_actions.cc
std::unique_ptr<Action> MakePackageInstall();  // package_actions.cc
std::unique_ptr<Action> MakePackageRemove();   // package_actions.cc
std::unique_ptr<Action> MakePackageUpgrade();  // package_actions.cc

}  // namespace vigil::enforcers
