// The file-edit enforcer actions: each edits configuration text (or a file's mode, or an
// account line) so that one setting holds, keeping every other byte of the file. One factory
// per action, each defined in the file named after it; enforcers/builtin.cc lists them.
// The parameters of each are in docs (their ActionSpec) and in the actions contract.
#pragma once

#include <memory>

#include "enforcers/action.h"

namespace vigil::enforcers {

std::unique_ptr<Action> MakeSshdSet();        // sshd.set
std::unique_ptr<Action> MakeConfigSet();      // config.set
std::unique_ptr<Action> MakeSysctlSet();      // sysctl.set
std::unique_ptr<Action> MakePamEnsure();      // pam.ensure
std::unique_ptr<Action> MakeFileMode();       // file.mode
std::unique_ptr<Action> MakeModprobeBlock();  // modprobe.block
std::unique_ptr<Action> MakeBannerSet();      // banner.set
std::unique_ptr<Action> MakeProfileSet();     // profile.set
std::unique_ptr<Action> MakeLimitsSet();      // limits.set
std::unique_ptr<Action> MakeAccountLock();    // account.lock
std::unique_ptr<Action> MakeAccountShell();   // account.shell

}  // namespace vigil::enforcers
