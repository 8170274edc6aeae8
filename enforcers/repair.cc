#include "enforcers/repair.h"

#include "engine/host.h"

namespace vigil::enforcers {
namespace {

struct Located {
  const packs::Pack* pack = nullptr;
  const packs::Check* check = nullptr;
};

Located Locate(const std::vector<packs::Pack>& packs, const std::string& id) {
  for (const packs::Pack& p : packs) {
    for (const packs::Check& c : p.checks) {
      if (c.id == id) return {&p, &c};
    }
  }
  return {};
}

}  // namespace

RepairSummary RepairFailing(const Host& host, Database& database, const ActionRegistry& actions,
                            const std::vector<packs::Pack>& packs,
                            std::vector<packs::Verdict>& verdicts, const RepairOptions& options) {
  RepairSummary summary;
  const bool dry_run = options.apply.dry_run;
  auto say = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  std::string last_repair;  // the check whose repair last changed the host, if any
  for (packs::Verdict& v : verdicts) {
    if (v.status != packs::VerdictStatus::kFail) continue;
    Located at = Locate(packs, v.check);
    if (at.check == nullptr || !at.check->enforce) continue;
    if (!last_repair.empty()) {
      // An earlier repair may have fixed this one too: plan from the host as it is now.
      packs::Verdict now = packs::EvaluateCheck(database, *at.pack, *at.check, options.evaluate);
      if (now.status == packs::VerdictStatus::kPass) {
        now.status = packs::VerdictStatus::kFixed;
        now.remediation = packs::Remediation{
            "applied", {}, "repaired by the enforcer of " + last_repair, std::nullopt};
        say("enforce " + v.check + ": repaired by the enforcer of " + last_repair);
        v = std::move(now);
        ++summary.fixed;
        continue;
      }
      if (now.status == packs::VerdictStatus::kFail) v = std::move(now);
    }
    packs::Params merged = at.pack->vars;
    for (const auto& [name, value] : options.evaluate.vars) merged[name] = value;
    ++summary.attempted;
    v.remediation = Enforce(host, actions, *at.check, v, merged, options.apply);
    const std::string& outcome = v.remediation->outcome;
    say(std::string(dry_run ? "plan " : "enforce ") + v.check + ": " + outcome +
        (v.remediation->message.empty() ? "" : " (" + v.remediation->message + ")"));
    if (dry_run) continue;
    if (outcome != "applied" && outcome != "planned") {
      ++summary.failed;
      continue;
    }
    if (outcome == "applied") last_repair = v.check;
    // Prove it: the check runs again on the repaired host.
    packs::Verdict again = packs::EvaluateCheck(database, *at.pack, *at.check, options.evaluate);
    again.remediation = std::move(v.remediation);
    if (again.status == packs::VerdictStatus::kPass) {
      again.status = packs::VerdictStatus::kFixed;
      ++summary.fixed;
    } else {
      ++summary.failed;
    }
    v = std::move(again);
  }
  return summary;
}

}  // namespace vigil::enforcers
