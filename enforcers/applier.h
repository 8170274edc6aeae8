// Turns a failed check's rows into one plan, and shows, applies or refuses it (DESIGN.md,
// "Enforcers"). The rules every action's plan obeys are kept here, once:
//
//   - a dry run changes nothing, byte for byte, and writes no state;
//   - files are written atomically (temporary file in the same folder, fsync, rename, fsync of
//     the folder) and keep their owner and mode; the old content is kept as a snapshot in the
//     store (the last kSnapshotsPerFile per file);
//   - validators run after the files are in place and before anything is reloaded; one that
//     fails restores every file of the plan from its snapshot;
//   - apply commands run only on the machine itself (root "/"); under another root they are
//     listed (the outcome is "applied" when files changed, "planned" when the plan had only
//     commands);
//   - every applied change, refusal and rollback is appended to the audit chain.
//
// The check is run again by the caller, which owns the database (cli/check_command.cc, the
// agent's convergence loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "enforcers/action.h"
#include "enforcers/builtin.h"
#include "engine/host.h"
#include "engine/packs/pack.h"
#include "engine/packs/verdict.h"
#include "engine/status.h"

namespace vigil::store {
class Store;
}
namespace vigil::audit {
class AuditChain;
}

namespace vigil::enforcers {

inline constexpr int kSnapshotsPerFile = 5;

struct ApplyOptions {
  bool dry_run = false;
  // Where snapshots and audit records go; both are required unless dry_run.
  store::Store* store = nullptr;
  audit::AuditChain* audit = nullptr;
  std::string actor = "vigil";  // who, in the audit chain ("vigil check", "agent", a hub user)
  std::chrono::milliseconds command_timeout{120'000};
};

// A check's `with`, filled for one violating row: "{{row.col}}" from the row (NULL is ""),
// "{{vars.x}}" from the node's variables. A value that is exactly one list variable becomes
// that list. Checked against the action's parameters: unknown and missing required keys,
// and a list where one value is expected, are InvalidArgument naming the key.
Result<packs::Params> FillParams(const packs::Params& with, const std::vector<std::string>& columns,
                                 const Row& row, const packs::Params& vars,
                                 const packs::ActionSpec& spec);

// The plan for every row of `verdict`, composed through an overlay so each file changes once.
// Edits that would leave a file as it is are dropped. `refused` is set when any row's plan is.
Result<Plan> PlanRepair(const Host& host, const Action& action, const packs::Enforcement& enforce,
                        const packs::Verdict& verdict, const packs::Params& vars);

// Plans and (unless dry_run) applies the repair of a failed verdict. Never throws and never
// leaves a half-applied plan: the outcome says what happened ("applied", "planned", "refused",
// "failed", "rolled_back"), with a diff per file and each command.
packs::Remediation Enforce(const Host& host, const ActionRegistry& actions,
                           const packs::Check& check, const packs::Verdict& verdict,
                           const packs::Params& vars, const ApplyOptions& options);

// A file as it was before a change.
struct Snapshot {
  std::string path;  // host path
  uint64_t seq = 0;  // per path, increasing
  std::string time;  // RFC 3339
  enum class Kind { kMissing, kFile, kSymlink, kDirectory } kind = Kind::kMissing;
  std::string content;  // kFile: the bytes; kSymlink: the target; kDirectory: empty
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The snapshots kept for a path, oldest first.
Result<std::vector<Snapshot>> ListSnapshots(const store::Store& store, std::string_view path);
// Puts the file back as the snapshot has it (content, mode, owner; or removes it when it was
// missing). Appends a "snapshot.restored" record when `audit` is given.
Status RestoreSnapshot(const Host& host, const Snapshot& snapshot, audit::AuditChain* audit,
                       std::string_view actor);

}  // namespace vigil::enforcers
