// The interface every enforcer action implements, and the plan it produces. An action reads the
// host (through the overlay the applier gives it, so a second violation sees the first one's
// planned edit) and says what it would change; it never writes. The applier (applier.h) shows,
// validates, writes, runs, rolls back and records the plan.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/host.h"
#include "engine/packs/action_spec.h"
#include "engine/packs/pack.h"
#include "engine/status.h"

namespace vigil::enforcers {

// The new content of one file.
struct FileEdit {
  std::string path;               // host path
  std::string content;            // the whole new content
  mode_t mode_if_new = 0644;      // an existing file keeps its mode and owner
  bool remove = false;            // delete the file instead
};

// A command of the plan. Validators run before anything is written, against the new content
// (the applier passes real paths of temporary copies through `{{file:HOST_PATH}}` arguments);
// apply commands run after the files are in place, and only on the machine itself (root "/").
struct PlannedCommand {
  enum class When { kValidate, kApply };
  When when = When::kApply;
  std::vector<std::string> argv;
};

struct Plan {
  std::vector<FileEdit> files;
  std::vector<PlannedCommand> commands;
  // Set when the action will not do it, with the reason ("would leave no way to log in").
  std::optional<std::string> refused;
  std::vector<std::string> notes;

  bool empty() const { return files.empty() && commands.empty() && !refused; }
};

class Action {
 public:
  virtual ~Action() = default;
  virtual const packs::ActionSpec& spec() const = 0;

  // Plans the repair of one violation. `args` is the check's `with`, placeholders filled from
  // the violating row and the node's variables; the applier has checked required keys. An
  // already-compliant host yields an empty plan, so applying twice changes nothing.
  virtual Result<Plan> PlanFix(const Host& host, const packs::Params& args) const = 0;
};

}  // namespace vigil::enforcers
