// The command and ruleset actions: whole rulesets (nftables.zone), sudoers and audit rules
// files, systemd enablement links and Debian packages. Each factory lives in the file named
// after its action; enforcers/builtin.cc lists them.
#pragma once

#include <memory>
#include <string_view>

#include "enforcers/action.h"
#include "engine/status.h"

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

// What the package actions accept as one item of `packages`: a Debian package name, "name" or
// "name:arch". The hub checks a task's packages with it before any node is asked. The error
// names `what` and the item.
Status CheckPackageName(std::string_view what, std::string_view package);

}  // namespace vigil::enforcers
