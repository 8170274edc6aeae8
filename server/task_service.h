// Remediation and tasks dispatched from the hub to nodes (DESIGN.md, "The hub"; PROTOCOL.md
// `task` / `task_result`, POST /api/v1/remediations and /api/v1/tasks).
//
//   auto tasks = OpenTaskService(store, {.failing_nodes = ..., .resolve_target = ...,
//                                        .send = ...});
//   Result<TaskRecord> task = (*tasks)->Start({.check = "ssh-root-login"}, "tok_1");
//   ... the fleet calls OnTaskResult(node, result) and OnNodeOnline(node) ...
//
// A task goes to its nodes in batches of `batch`: the next batch is sent once every node of
// the current one has answered, timed out (node_timeout after it was sent) or was offline.
// A node offline when its batch comes is counted as offline and gets the task when it
// reconnects while the task runs; one that does not reconnect within node_timeout of its
// batch is given up ("timed_out", outcome "offline", not a failure).
//
// Failures: an answer whose outcome is not applied, planned or not_needed (failed, refused,
// rolled_back, ...) and a sent node that did not answer in time. Once failures exceed
// max_failures no further batch is sent (the nodes not sent become "skipped") and the task is
// stopped_on_failures (also when the failure came in the last batch: the status says the
// limit was passed). Answers of the batch in flight are still recorded. max_failures defaults
// to 0: the first failure stops the rollout after the batch in flight, the careful default for
// changes to production nodes.
//
// Remediation of CHECK targets the nodes whose latest verdict fails it (failing_nodes),
// intersected with the target's nodes when a target is given; a package upgrade targets the
// target's nodes ("all" when none is given). Every task start is appended to the hub's audit
// chain ("remediation.start" / "task.start", the creator as actor, the task id as subject).
//
// Tasks and each node's state are in the HubStore (synced), so a restarted hub carries on:
// running tasks are reloaded, sent nodes keep their time of sending.
//
// Thread safety: every method may be called from any thread; one mutex guards the running
// tasks, and the `send` seam is called under it (it must not call back into the service).
// With options.tick > 0 a thread of the service checks time-outs that often.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/wire/messages.h"
#include "server/hub_store.h"

namespace vigil::server {

// What a person asks for.
struct TaskRequest {
  std::string kind = "enforce";       // "enforce" (a remediation) or "package_upgrade"
  std::string check;                  // enforce: required
  std::vector<std::string> packages;  // package_upgrade: empty upgrades every package
  std::string target;                 // "" : the kind's default (see the file comment)
  bool dry_run = false;
  uint64_t batch = 10;  // >= 1
  uint64_t max_failures = 0;
  std::chrono::milliseconds node_timeout{600'000};
};

// Counts of one task's nodes.
struct TaskTotals {
  uint64_t nodes = 0;
  uint64_t pending = 0;    // not sent yet (a later batch)
  uint64_t sent = 0;       // sent, no answer yet
  uint64_t offline = 0;    // its batch came while it was offline; waiting for it to reconnect
  uint64_t succeeded = 0;  // answered applied, planned or not_needed
  uint64_t failed = 0;     // answered otherwise, or timed out after it was sent
  uint64_t gone = 0;       // never reconnected in time (outcome "offline")
  uint64_t skipped = 0;    // not sent: the task stopped on failures
  friend bool operator==(const TaskTotals&, const TaskTotals&) = default;
};

struct TaskView {
  TaskRecord task;
  std::vector<TaskNodeRecord> nodes;  // host_identifier order
  TaskTotals totals;
};

// The hub's side, given by whoever wires the service (hub.cc over the fleet).
struct TaskSeams {
  // Nodes whose latest verdict of `check` is fail, sorted (NodesFailing() over the store).
  std::function<Result<std::vector<std::string>>(std::string_view check)> failing_nodes;
  // Nodes a target names ("all", "role:NAME", "web-*,db-1"), sorted; InvalidArgument when
  // malformed.
  std::function<Result<std::vector<std::string>>(std::string_view target)> resolve_target;
  // Sends one frame to a node; Unavailable when it is not connected.
  std::function<Status(std::string_view node, const std::string& frame)> send;
};

struct TaskServiceOptions {
  std::chrono::milliseconds tick{5'000};  // time-out checks; 0: only when Tick() is called
  std::function<int64_t()> now_ms;        // unix milliseconds; default the system clock
  uint64_t max_batch = 10'000;
  uint64_t max_packages = 1'000;
};

// The service the API and the fleet use; OpenTaskService() makes the one over the HubStore.
// An interface (like Fleet) so that callers and tests can stand in for it.
class TaskService {
 public:
  virtual ~TaskService() = default;

  // Validates the request (InvalidArgument naming the field), picks the nodes, stores the task,
  // records it in the audit chain and sends the first batch. Unavailable when the seams are
  // not given.
  virtual Result<TaskRecord> Start(const TaskRequest& request, std::string_view created_by) = 0;
  // nullopt for an unknown id.
  virtual Result<std::optional<TaskView>> Get(std::string_view id) = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<TaskRecord>> List(size_t limit) = 0;

  // A node's task_result (the fleet calls this). The first answer of a sent node counts; an
  // answer for an unknown or settled task, a node not in it, a node whose wait timed out, or a
  // second answer is ignored.
  virtual void OnTaskResult(std::string_view node, const wire::TaskResult& result) = 0;
  // A node (re)connected: tasks whose batch it missed while offline are sent to it.
  virtual void OnNodeOnline(std::string_view node) = 0;
  // Times out overdue nodes and moves on to the next batches (the service's own thread calls
  // it every options.tick).
  virtual void Tick() = 0;
};

// Reloads the tasks still running (or awaiting answers) from `store`, which must outlive the
// service; the service's thread is stopped by its destructor.
Result<std::unique_ptr<TaskService>> OpenTaskService(HubStore& store, TaskSeams seams,
                                                     TaskServiceOptions options = {});

// The nodes whose latest stored verdict of `check` is `fail` (an `error` is not one an enforcer
// can repair), in host_identifier order: the failing_nodes seam over the HubStore.
Result<std::vector<std::string>> NodesFailing(const HubStore& store, std::string_view check);

// The totals of a task's nodes.
TaskTotals CountTaskNodes(const std::vector<TaskNodeRecord>& nodes);
// Whether an outcome counts as success (applied, planned, not_needed).
bool TaskOutcomeSucceeded(std::string_view outcome);

}  // namespace vigil::server
