#include "server/task_service.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "enforcers/system_actions.h"

namespace vigil::server {
namespace {

constexpr std::string_view kEnforce = "enforce";
constexpr std::string_view kPackageUpgrade = "package_upgrade";
constexpr size_t kMaxName = 200;
constexpr size_t kTasksReloaded = 1000;

// A check id or package name: printable, no blanks, not too long.
Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (name.size() > kMaxName) {
    return Status::InvalidArgument(std::string(what) + " is longer than " +
                                   std::to_string(kMaxName) + " bytes");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Status::InvalidArgument(std::string(what) + " '" + std::string(name) +
                                     "' holds a blank or control character");
    }
  }
  return Status::Ok();
}

std::string StartDetail(const TaskRecord& t) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  str("kind", t.kind);
  if (!t.check.empty()) str("check", t.check);
  if (t.kind == kPackageUpgrade) {
    w.Key("packages");
    w.StartArray();
    for (const std::string& p : t.packages) {
      w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
    }
    w.EndArray();
  }
  str("target", t.target);
  w.Key("dry_run");
  w.Bool(t.dry_run);
  w.Key("batch");
  w.Uint64(t.batch);
  w.Key("max_failures");
  w.Uint64(t.max_failures);
  w.Key("nodes");
  w.Uint64(t.nodes.size());
  w.EndObject();
  return buffer.GetString();
}

// Whether the service is done with a task: finished, and no answer is awaited (a task stopped
// on failures still records the answers of its batch in flight).
template <typename Nodes>
bool Settled(const TaskRecord& task, const Nodes& nodes) {
  if (task.status == "running") return false;
  for (const auto& [host, n] : nodes) {
    if (n.state == "sent") return false;
  }
  return true;
}

bool Failed(const TaskNodeRecord& n) {
  return (n.state == "answered" && !TaskOutcomeSucceeded(n.outcome)) ||
         (n.state == "timed_out" && n.outcome != "offline");
}

class EmbeddedTaskService final : public TaskService {
 public:
  EmbeddedTaskService(HubStore& store, TaskSeams seams, TaskServiceOptions options)
      : store_(store), seams_(std::move(seams)), options_(std::move(options)) {}
  ~EmbeddedTaskService() override;

  Status Load();
  Result<TaskRecord> Start(const TaskRequest& request, std::string_view created_by) override;
  Result<std::optional<TaskView>> Get(std::string_view id) override;
  Result<std::vector<TaskRecord>> List(size_t limit) override;
  void OnTaskResult(std::string_view node, const wire::TaskResult& result) override;
  void OnNodeOnline(std::string_view node) override;
  void Tick() override;

 private:
  struct Running {
    TaskRecord task;
    std::map<std::string, TaskNodeRecord, std::less<>> nodes;
  };

  int64_t Now() const;
  // Sends the next batches while the current one is complete, stops on failures, finishes the
  // task; the node records it changed are added to `changed`. The caller holds mutex_.
  void Advance(Running& run, std::vector<TaskNodeRecord>& changed);
  // Sends the task to the node: "sent", or pending and offline when it cannot be reached.
  Status SendTo(Running& run, TaskNodeRecord& node);

  HubStore& store_;
  const TaskSeams seams_;
  const TaskServiceOptions options_;

  std::mutex mutex_;
  // The tasks not settled, by id. Guarded by mutex_.
  std::map<std::string, Running, std::less<>> running_;

  std::mutex tick_mutex_;
  std::condition_variable tick_wake_;
  bool stopping_ = false;  // guarded by tick_mutex_
  std::thread ticker_;
};

}  // namespace

bool TaskOutcomeSucceeded(std::string_view outcome) {
  return outcome == "applied" || outcome == "planned" || outcome == "not_needed";
}

TaskTotals CountTaskNodes(const std::vector<TaskNodeRecord>& nodes) {
  TaskTotals t;
  for (const TaskNodeRecord& n : nodes) {
    ++t.nodes;
    if (n.state == "pending") {
      ++(n.offline ? t.offline : t.pending);
    } else if (n.state == "sent") {
      ++t.sent;
    } else if (n.state == "skipped") {
      ++t.skipped;
    } else if (n.state == "timed_out" && n.outcome == "offline") {
      ++t.gone;
    } else if (Failed(n)) {
      ++t.failed;
    } else {
      ++t.succeeded;
    }
  }
  return t;
}

Result<std::vector<std::string>> NodesFailing(const HubStore& store, std::string_view check) {
  std::vector<std::string> nodes;
  VIGIL_RETURN_IF_ERROR(
      store.LatestVerdicts([&](std::string_view host, const std::vector<VerdictSummary>& verdicts) {
        for (const VerdictSummary& v : verdicts) {
          if (v.check == check && v.status == "fail") nodes.emplace_back(host);
        }
        return true;
      }));
  return nodes;
}

Result<std::unique_ptr<TaskService>> OpenTaskService(HubStore& store, TaskSeams seams,
                                                     TaskServiceOptions options) {
  auto service = std::make_unique<EmbeddedTaskService>(store, std::move(seams), std::move(options));
  VIGIL_RETURN_IF_ERROR(service->Load());
  return std::unique_ptr<TaskService>(std::move(service));
}

Status EmbeddedTaskService::Load() {
  // The tasks still running or awaiting answers are among the newest.
  VIGIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_.ListTasks(kTasksReloaded));
  for (TaskRecord& task : tasks) {
    Running run;
    VIGIL_ASSIGN_OR_RETURN(std::vector<TaskNodeRecord> nodes, store_.TaskNodes(task.id));
    for (TaskNodeRecord& n : nodes) run.nodes.emplace(n.host_identifier, std::move(n));
    run.task = std::move(task);
    if (Settled(run.task, run.nodes)) continue;
    running_.emplace(run.task.id, std::move(run));
  }
  if (options_.tick.count() > 0) {
    ticker_ = std::thread([this] {
      std::unique_lock lock(tick_mutex_);
      while (!stopping_) {
        tick_wake_.wait_for(lock, options_.tick, [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        Tick();
        lock.lock();
      }
    });
  }
  return Status::Ok();
}

EmbeddedTaskService::~EmbeddedTaskService() {
  {
    std::lock_guard lock(tick_mutex_);
    stopping_ = true;
  }
  tick_wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

int64_t EmbeddedTaskService::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<TaskRecord> EmbeddedTaskService::Start(const TaskRequest& request,
                                              std::string_view created_by) {
  TaskRecord task;
  task.kind = request.kind;
  task.dry_run = request.dry_run;
  task.target = request.target;
  task.batch = request.batch;
  task.max_failures = request.max_failures;
  task.node_timeout_ms = request.node_timeout.count();
  task.created_by = std::string(created_by);
  if (request.kind == kEnforce) {
    VIGIL_RETURN_IF_ERROR(CheckName("check", request.check));
    if (!request.packages.empty()) {
      return Status::InvalidArgument("packages: only a package_upgrade task takes packages");
    }
    task.check = request.check;
  } else if (request.kind == kPackageUpgrade) {
    if (!request.check.empty()) {
      return Status::InvalidArgument("check: a package_upgrade task takes no check");
    }
    if (request.packages.size() > options_.max_packages) {
      return Status::InvalidArgument("packages: more than " +
                                     std::to_string(options_.max_packages));
    }
    for (const std::string& p : request.packages) {
      VIGIL_RETURN_IF_ERROR(CheckName("package", p));
      // The agents refuse anything else (an apt option, say): refuse it before a node is asked.
      VIGIL_RETURN_IF_ERROR(enforcers::CheckPackageName(kPackageUpgrade, p));
    }
    task.packages = request.packages;
  } else {
    return Status::InvalidArgument("kind '" + request.kind +
                                   "' is not a task kind (enforce, package_upgrade)");
  }
  if (request.batch < 1 || request.batch > options_.max_batch) {
    return Status::InvalidArgument("batch " + std::to_string(request.batch) + " is not from 1 to " +
                                   std::to_string(options_.max_batch));
  }
  if (request.node_timeout.count() <= 0) {
    return Status::InvalidArgument("the node timeout must be positive");
  }

  // The nodes.
  if (!seams_.resolve_target || !seams_.failing_nodes || !seams_.send) {
    return Status::Unavailable("tasks are not connected to the fleet");
  }
  std::vector<std::string> nodes;
  if (task.kind == kEnforce) {
    auto failing = seams_.failing_nodes(task.check);
    if (!failing.ok()) return Status(failing.status()).WithContext("nodes failing " + task.check);
    nodes = std::move(*failing);
    if (!task.target.empty()) {
      VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> targeted, seams_.resolve_target(task.target));
      std::set<std::string> in(targeted.begin(), targeted.end());
      std::erase_if(nodes, [&](const std::string& n) { return !in.count(n); });
    }
  } else {
    VIGIL_ASSIGN_OR_RETURN(nodes, seams_.resolve_target(task.target.empty() ? "all" : task.target));
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  task.nodes = nodes;

  VIGIL_ASSIGN_OR_RETURN(task.id, store_.NextTaskId());
  task.created_at = Now();
  auto recorded = store_.audit().Append(task.created_by,
                                        task.kind == kEnforce ? "remediation.start" : "task.start",
                                        task.id, StartDetail(task));
  if (!recorded.ok()) {
    return Status(recorded.status())
        .WithContext("recording task " + task.id + " in the audit chain");
  }

  std::lock_guard lock(mutex_);
  Running run;
  run.task = task;
  for (size_t i = 0; i < nodes.size(); ++i) {
    TaskNodeRecord n;
    n.task_id = task.id;
    n.host_identifier = nodes[i];
    n.batch = i / task.batch;
    run.nodes.emplace(n.host_identifier, std::move(n));
  }
  std::vector<TaskNodeRecord> changed;
  Advance(run, changed);
  // Every node record, as Advance left it.
  std::vector<TaskNodeRecord> all;
  for (const auto& [host, n] : run.nodes) all.push_back(n);
  VIGIL_RETURN_IF_ERROR(store_.PutTask(run.task, all));
  TaskRecord started = run.task;
  if (!Settled(run.task, run.nodes)) running_.emplace(started.id, std::move(run));
  return started;
}

Status EmbeddedTaskService::SendTo(Running& run, TaskNodeRecord& node) {
  wire::Task message;
  message.id = run.task.id;
  message.kind = run.task.kind == kPackageUpgrade ? wire::Task::Kind::kPackageUpgrade
                                                  : wire::Task::Kind::kEnforce;
  message.check = run.task.check;
  message.dry_run = run.task.dry_run;
  if (!run.task.packages.empty()) message.args["packages"] = {run.task.packages, true};
  Status sent = seams_.send(node.host_identifier, wire::Encode(message));
  node.sent_at = Now();
  if (sent.ok()) {
    node.state = "sent";
  } else {
    node.offline = true;  // stays pending until it reconnects
  }
  return sent;
}

void EmbeddedTaskService::Advance(Running& run, std::vector<TaskNodeRecord>& changed) {
  TaskRecord& task = run.task;
  auto finish = [&](const char* status) {
    task.status = status;
    task.finished_at = Now();
  };
  while (task.status == "running") {
    uint64_t failures = 0, in_flight = 0, waiting = 0;
    std::optional<uint64_t> next;  // the first batch not dispatched
    for (const auto& [host, n] : run.nodes) {
      if (Failed(n)) ++failures;
      if (n.state == "sent") ++in_flight;
      if (n.state == "pending" && n.offline) ++waiting;
      if (n.state == "pending" && !n.offline) next = next ? std::min(*next, n.batch) : n.batch;
    }
    if (failures > task.max_failures) {
      // No more batches; nodes not sent (offline ones included) are skipped.
      for (auto& [host, n] : run.nodes) {
        if (n.state != "pending") continue;
        n.state = "skipped";
        changed.push_back(n);
      }
      finish("stopped_on_failures");
      break;
    }
    if (in_flight > 0) break;  // the current batch is still out
    if (!next) {
      if (waiting == 0) finish("done");
      break;
    }
    for (auto& [host, n] : run.nodes) {
      if (n.state != "pending" || n.offline || n.batch != *next) continue;
      (void)SendTo(run, n);  // an offline node waits for OnNodeOnline
      changed.push_back(n);
    }
  }
}

void EmbeddedTaskService::OnTaskResult(std::string_view node, const wire::TaskResult& result) {
  std::lock_guard lock(mutex_);
  auto it = running_.find(result.id);
  if (it == running_.end()) return;
  Running& run = it->second;
  auto at = run.nodes.find(node);
  if (at == run.nodes.end() || at->second.state != "sent") return;
  TaskNodeRecord& n = at->second;
  n.state = "answered";
  n.answered_at = Now();
  n.outcome = result.outcome;
  n.result_json = wire::Encode(result);
  std::vector<TaskNodeRecord> changed = {n};
  Advance(run, changed);
  (void)store_.PutTask(run.task, changed);
  if (Settled(run.task, run.nodes)) running_.erase(it);
}

void EmbeddedTaskService::OnNodeOnline(std::string_view node) {
  std::lock_guard lock(mutex_);
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    Running& run = it->second;
    auto at = run.nodes.find(node);
    if (at == run.nodes.end() || at->second.state != "pending" || !at->second.offline) continue;
    if (SendTo(run, at->second).ok()) at->second.offline = false;
    (void)store_.PutTask(run.task, {at->second});
  }
}

void EmbeddedTaskService::Tick() {
  std::lock_guard lock(mutex_);
  const int64_t now = Now();
  for (auto it = running_.begin(); it != running_.end();) {
    Running& run = it->second;
    std::vector<TaskNodeRecord> changed;
    for (auto& [host, n] : run.nodes) {
      const bool overdue = now - n.sent_at >= run.task.node_timeout_ms;
      if (n.state == "sent" && overdue) {
        n.state = "timed_out";
        n.outcome = "timed_out";
      } else if (n.state == "pending" && n.offline && overdue) {
        n.state = "timed_out";
        n.outcome = "offline";
      } else {
        continue;
      }
      changed.push_back(n);
    }
    if (changed.empty()) {
      ++it;
      continue;
    }
    Advance(run, changed);
    (void)store_.PutTask(run.task, changed);
    it = Settled(run.task, run.nodes) ? running_.erase(it) : std::next(it);
  }
}

Result<std::optional<TaskView>> EmbeddedTaskService::Get(std::string_view id) {
  TaskView view;
  {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(id); it != running_.end()) {
      view.task = it->second.task;
      for (const auto& [host, n] : it->second.nodes) view.nodes.push_back(n);
      view.totals = CountTaskNodes(view.nodes);
      return std::optional<TaskView>(std::move(view));
    }
  }
  VIGIL_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_.GetTask(id));
  if (!task) return std::optional<TaskView>();
  view.task = std::move(*task);
  VIGIL_ASSIGN_OR_RETURN(view.nodes, store_.TaskNodes(id));
  view.totals = CountTaskNodes(view.nodes);
  return std::optional<TaskView>(std::move(view));
}

Result<std::vector<TaskRecord>> EmbeddedTaskService::List(size_t limit) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_.ListTasks(limit));
  std::lock_guard lock(mutex_);
  for (TaskRecord& t : tasks) {
    if (auto it = running_.find(t.id); it != running_.end()) t = it->second.task;
  }
  return tasks;
}

}  // namespace vigil::server
