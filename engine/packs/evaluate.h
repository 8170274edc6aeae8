// Runs checks: binds the node's variables, runs each check's statement through the read-only
// engine, and turns the rows into a verdict. Checks above the node's target security level, or
// for another platform, are not applicable rather than failing.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/packs/pack.h"
#include "engine/packs/verdict.h"

namespace vigil {
class Database;
}

namespace vigil::packs {

struct EvaluateOptions {
  int target_sl = 2;
  Params vars;  // the node's variables; a pack's own defaults fill the gaps
  size_t max_rows = 100;  // rows kept as evidence per verdict
  std::chrono::milliseconds timeout{10'000};
  std::string platform = "linux";
};

// The value a variable is bound with: an integer when its text is one, a JSON array for a list
// (for json_each()), else text.
Value BindValue(const Param& param);

Verdict EvaluateCheck(Database& database, const Pack& pack, const Check& check,
                      const EvaluateOptions& options);

struct CheckRef {
  const Pack* pack = nullptr;
  const Check* check = nullptr;
};

// The checks, in order, against one state of the host (Database::HoldRows): each table is read
// once for the whole batch. `before` and `after`, when set, bracket each check (the agent marks
// a check as running there, to skip it after a crash).
std::vector<Verdict> EvaluateBatch(Database& database, const std::vector<CheckRef>& checks,
                                   const EvaluateOptions& options,
                                   const std::function<void(const CheckRef&)>& before = {},
                                   const std::function<void(const CheckRef&)>& after = {});

// Every check of every pack, in order, as one batch.
std::vector<Verdict> EvaluatePacks(Database& database, const std::vector<Pack>& packs,
                                   const EvaluateOptions& options);

}  // namespace vigil::packs
