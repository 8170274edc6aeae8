// Repairs what a run of checks found, and proves it: each failing verdict's check is enforced
// and, where the repair changed the host, run again; a verdict that passes afterwards becomes
// `fixed` with the remediation attached. `vigil check --enforce` and the agent's convergence
// loop both repair through this, so a node repairs the same way by hand and on its own.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "enforcers/applier.h"
#include "enforcers/builtin.h"
#include "engine/packs/evaluate.h"
#include "engine/packs/pack.h"
#include "engine/packs/verdict.h"

namespace vigil {
class Database;
class Host;
}  // namespace vigil

namespace vigil::enforcers {

struct RepairOptions {
  ApplyOptions apply;                 // dry_run: plan only; else store and audit are required
  packs::EvaluateOptions evaluate;    // how checks are run again (target SL, vars, limits)
  // One line per enforced check ("enforce ssh-root-login: applied"), for a log or a terminal.
  std::function<void(const std::string&)> progress;
};

struct RepairSummary {
  int attempted = 0;  // verdicts whose enforcer ran (or planned)
  int fixed = 0;      // of them, pass after the repair
  int failed = 0;     // refused, failed, rolled back, or still failing after the repair
};

// Enforces every `fail` verdict in `verdicts` whose check has an enforcer, in order. Before a
// repair, a check is evaluated again if an earlier repair of this run changed the host (two
// checks on one file): one that passes by then becomes `fixed` without a repair of its own.
// Verdicts that are not failures, or whose check has no enforcer, are left as they are.
RepairSummary RepairFailing(const Host& host, Database& database, const ActionRegistry& actions,
                            const std::vector<packs::Pack>& packs,
                            std::vector<packs::Verdict>& verdicts, const RepairOptions& options);

}  // namespace vigil::enforcers
