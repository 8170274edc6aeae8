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

// One change to one file: new content, a new mode or owner, a symlink, or removal. Fields left
// unset keep what the file has; a new file gets `mode_if_new` and root ownership.
struct FileEdit {
  std::string path;                          // host path
  std::optional<std::string> content;        // the whole new content
  std::optional<mode_t> mode;                // permission bits (07777), e.g. 0640
  std::optional<std::string> owner;          // user name, resolved in the host's /etc/passwd
  std::optional<std::string> group;          // group name, resolved in the host's /etc/group
  std::optional<std::string> symlink_to;     // make the path a symlink with this target
  bool remove = false;                       // delete the file (or symlink)
  mode_t mode_if_new = 0644;
};

// A command of the plan. Arguments may hold `{{file:HOST_PATH}}`, replaced by the real path of
// that host path under the root ("/srv/fixture/etc/ssh/sshd_config"). The applier writes the
// plan's files first (keeping snapshots), then runs the validators, on any root; one that
// exits non-zero restores every file of the plan byte for byte. Apply commands run after the
// validators, and only on the machine itself (root "/"); elsewhere they are listed, not run.
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
