// TaskService over the real embedded hub store, its seams (failing nodes, targets, sending)
// driven by the test and its clock fixed: batches go out one after the other, failures beyond
// max_failures stop the rollout, offline nodes get the task when they reconnect, silent nodes
// time out, and a reopened service carries on with the stored tasks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "server/task_service.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class TaskServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    Open();
  }

  void Open() {
    service_.reset();
    TaskSeams seams;
    seams.failing_nodes = [this](std::string_view check) -> Result<std::vector<std::string>> {
      if (check != "ssh-root-login") return std::vector<std::string>{};
      return failing_;
    };
    seams.resolve_target = [this](std::string_view target) -> Result<std::vector<std::string>> {
      if (target == "all") return all_;
      if (target == "bad[") return Status::InvalidArgument("target bad[: unbalanced [");
      std::vector<std::string> out;
      for (const std::string& n : all_) {
        if (n.starts_with(std::string(target).substr(0, target.find('*')))) out.push_back(n);
      }
      return out;
    };
    seams.send = [this](std::string_view node, const std::string& frame) {
      if (!online_.count(std::string(node)))
        return Status::Unavailable(std::string(node) + " is offline");
      sent_.emplace_back(node);
      frames_.push_back(frame);
      return Status::Ok();
    };
    TaskServiceOptions options;
    options.tick = std::chrono::milliseconds(0);
    options.now_ms = [this] { return now_; };
    auto service = OpenTaskService(*store_, seams, options);
    ASSERT_TRUE(service.ok()) << service.status().message();
    service_ = std::move(*service);
  }

  void Answer(const std::string& node, const std::string& id, const std::string& outcome) {
    wire::TaskResult r;
    r.id = id;
    r.outcome = outcome;
    r.remediation =
        R"({"outcome":")" + outcome + R"(","changes":[],"message":"","audit_seq":null})";
    service_->OnTaskResult(node, r);
  }

  TaskView View(const std::string& id) {
    auto view = service_->Get(id);
    EXPECT_TRUE(view.ok() && *view) << id;
    return view.ok() && *view ? **view : TaskView{};
  }

  std::vector<std::string> TakeSent() { return std::exchange(sent_, {}); }

  testing::TempDir dir_;
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<TaskService> service_;
  std::vector<std::string> all_ = {"a", "b", "c", "d", "e", "web-1"};
  std::vector<std::string> failing_ = {"a", "b", "c", "d", "e"};
  std::set<std::string> online_ = {"a", "b", "c", "d", "e", "web-1"};
  std::vector<std::string> sent_;
  std::vector<std::string> frames_;
  int64_t now_ = 1'000'000;
};

TEST_F(TaskServiceTest, SendsBatchAfterBatchUntilDone) {
  TaskRequest request;
  request.check = "ssh-root-login";
  request.batch = 2;
  auto task = service_->Start(request, "tok_op");
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_EQ(task->id, "t_1");
  EXPECT_EQ(task->nodes, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_THAT(TakeSent(), ElementsAre("a", "b"));

  // The frame is PROTOCOL.md's task.
  auto decoded = wire::Decode(frames_.front());
  ASSERT_TRUE(decoded.ok());
  const auto& message = std::get<wire::Task>(decoded.message());
  EXPECT_EQ(message.id, "t_1");
  EXPECT_EQ(message.kind, wire::Task::Kind::kEnforce);
  EXPECT_EQ(message.check, "ssh-root-login");
  EXPECT_FALSE(message.dry_run);

  Answer("a", "t_1", "applied");
  EXPECT_THAT(TakeSent(), IsEmpty());  // b is still out
  TaskView view = View("t_1");
  EXPECT_EQ(view.totals.succeeded, 1u);
  EXPECT_EQ(view.totals.sent, 1u);
  EXPECT_EQ(view.totals.pending, 3u);
  Answer("b", "t_1", "not_needed");
  EXPECT_THAT(TakeSent(), ElementsAre("c", "d"));
  Answer("c", "t_1", "applied");
  Answer("d", "t_1", "applied");
  EXPECT_THAT(TakeSent(), ElementsAre("e"));
  Answer("e", "t_1", "applied");
  Answer("e", "t_1", "failed");  // a second answer does not count

  view = View("t_1");
  EXPECT_EQ(view.task.status, "done");
  EXPECT_EQ(view.totals.succeeded, 5u);
  EXPECT_EQ(view.totals.failed, 0u);
  ASSERT_EQ(view.nodes.size(), 5u);
  EXPECT_EQ(view.nodes[4].outcome, "applied");
  EXPECT_THAT(view.nodes[4].result_json, HasSubstr("\"type\":\"task_result\""));

  // The start is in the hub's audit chain.
  std::vector<audit::Record> records;
  ASSERT_TRUE(store_->audit()
                  .Read(0,
                        [&](const audit::Record& r) {
                          records.push_back(r);
                          return true;
                        })
                  .ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].actor, "tok_op");
  EXPECT_EQ(records[0].action, "remediation.start");
  EXPECT_EQ(records[0].subject, "t_1");
  EXPECT_THAT(records[0].detail, HasSubstr("\"check\":\"ssh-root-login\""));
}

TEST_F(TaskServiceTest, StopsAfterMoreFailuresThanAllowed) {
  TaskRequest request;
  request.check = "ssh-root-login";
  request.batch = 2;
  request.max_failures = 0;
  auto task = service_->Start(request, "tok_op");
  ASSERT_TRUE(task.ok());
  EXPECT_THAT(TakeSent(), ElementsAre("a", "b"));
  Answer("a", "t_1", "failed");
  // No further batch; the one in flight still reports.
  TaskView view = View("t_1");
  EXPECT_EQ(view.task.status, "stopped_on_failures");
  EXPECT_EQ(view.totals.skipped, 3u);
  Answer("b", "t_1", "applied");
  EXPECT_THAT(TakeSent(), IsEmpty());
  view = View("t_1");
  EXPECT_EQ(view.totals.failed, 1u);
  EXPECT_EQ(view.totals.succeeded, 1u);
  EXPECT_EQ(view.nodes[2].state, "skipped");

  // One failure allowed: the rollout goes on past it and stops at the second.
  request.max_failures = 1;
  auto second = service_->Start(request, "tok_op");
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(TakeSent(), ElementsAre("a", "b"));
  Answer("a", "t_2", "refused");
  Answer("b", "t_2", "applied");
  EXPECT_THAT(TakeSent(), ElementsAre("c", "d"));
  Answer("c", "t_2", "rolled_back");
  EXPECT_EQ(View("t_2").task.status, "stopped_on_failures");
  Answer("d", "t_2", "applied");
  EXPECT_THAT(TakeSent(), IsEmpty());
  EXPECT_EQ(View("t_2").totals.skipped, 1u);
}

TEST_F(TaskServiceTest, OfflineNodesGetTheTaskWhenTheyReconnect) {
  online_.erase("b");
  online_.erase("e");
  TaskRequest request;
  request.check = "ssh-root-login";
  request.batch = 2;
  auto task = service_->Start(request, "tok_op");
  ASSERT_TRUE(task.ok());
  EXPECT_THAT(TakeSent(), ElementsAre("a"));
  EXPECT_EQ(View("t_1").totals.offline, 1u);
  Answer("a", "t_1", "planned");
  EXPECT_THAT(TakeSent(), ElementsAre("c", "d"));  // b's absence does not hold the rollout
  online_.insert("b");
  service_->OnNodeOnline("b");
  EXPECT_THAT(TakeSent(), ElementsAre("b"));
  service_->OnNodeOnline("b");  // once only
  EXPECT_THAT(TakeSent(), IsEmpty());
  Answer("b", "t_1", "planned");
  Answer("c", "t_1", "planned");
  Answer("d", "t_1", "planned");
  EXPECT_THAT(TakeSent(), IsEmpty());  // e is offline
  TaskView view = View("t_1");
  EXPECT_EQ(view.task.status, "running");
  EXPECT_EQ(view.totals.offline, 1u);
  EXPECT_EQ(view.totals.succeeded, 4u);

  // e never comes back: given up after the node timeout, not a failure.
  now_ += 600'000;
  service_->Tick();
  view = View("t_1");
  EXPECT_EQ(view.task.status, "done");
  EXPECT_EQ(view.totals.gone, 1u);
  EXPECT_EQ(view.totals.failed, 0u);
  EXPECT_EQ(view.nodes[4].outcome, "offline");
}

TEST_F(TaskServiceTest, ASilentNodeTimesOutAsAFailure) {
  TaskRequest request;
  request.check = "ssh-root-login";
  request.batch = 5;
  request.max_failures = 1;
  request.node_timeout = std::chrono::milliseconds(1000);
  ASSERT_TRUE(service_->Start(request, "tok_op").ok());
  EXPECT_EQ(TakeSent().size(), 5u);
  for (const char* n : {"a", "b", "c", "d"}) Answer(n, "t_1", "applied");
  now_ += 999;
  service_->Tick();
  EXPECT_EQ(View("t_1").task.status, "running");
  now_ += 1;
  service_->Tick();
  TaskView view = View("t_1");
  EXPECT_EQ(view.task.status, "done");
  EXPECT_EQ(view.totals.failed, 1u);
  EXPECT_EQ(view.nodes[4].state, "timed_out");
  Answer("e", "t_1", "applied");  // too late
  EXPECT_EQ(View("t_1").nodes[4].state, "timed_out");
}

TEST_F(TaskServiceTest, AReopenedServiceCarriesOn) {
  TaskRequest request;
  request.check = "ssh-root-login";
  request.batch = 3;
  ASSERT_TRUE(service_->Start(request, "tok_op").ok());
  EXPECT_THAT(TakeSent(), ElementsAre("a", "b", "c"));
  Answer("a", "t_1", "applied");

  // The hub restarts: the store is reopened, the service reloads the running task.
  service_.reset();
  store_.reset();
  auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);
  Open();
  TaskView view = View("t_1");
  EXPECT_EQ(view.task.status, "running");
  EXPECT_EQ(view.totals.succeeded, 1u);
  EXPECT_EQ(view.totals.sent, 2u);
  Answer("b", "t_1", "applied");
  Answer("c", "t_1", "applied");
  EXPECT_THAT(TakeSent(), ElementsAre("d", "e"));
  auto listed = service_->List(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, "t_1");
  // Ids keep counting.
  auto next = service_->Start(request, "tok_op");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->id, "t_2");
}

TEST_F(TaskServiceTest, TargetsAndPackageUpgrades) {
  failing_ = {"a", "web-1"};
  TaskRequest remediation;
  remediation.check = "ssh-root-login";
  remediation.target = "web-*";
  auto narrowed = service_->Start(remediation, "tok_op");
  ASSERT_TRUE(narrowed.ok());
  EXPECT_EQ(narrowed->nodes, std::vector<std::string>{"web-1"});

  // No failing node: a task with nothing to do, done at once.
  remediation.check = "other-check";
  remediation.target = "";
  auto nothing = service_->Start(remediation, "tok_op");
  ASSERT_TRUE(nothing.ok());
  EXPECT_THAT(nothing->nodes, IsEmpty());
  EXPECT_EQ(nothing->status, "done");
  TakeSent();

  TaskRequest upgrade;
  upgrade.kind = "package_upgrade";
  upgrade.packages = {"openssl", "libssl3"};
  upgrade.dry_run = true;
  upgrade.batch = 10;
  frames_.clear();
  auto task = service_->Start(upgrade, "tok_op");
  ASSERT_TRUE(task.ok());
  EXPECT_EQ(task->nodes, all_);
  ASSERT_EQ(frames_.size(), all_.size());
  auto decoded = wire::Decode(frames_.front());
  ASSERT_TRUE(decoded.ok());
  const auto& message = std::get<wire::Task>(decoded.message());
  EXPECT_EQ(message.kind, wire::Task::Kind::kPackageUpgrade);
  EXPECT_TRUE(message.dry_run);
  ASSERT_TRUE(message.args.count("packages"));
  EXPECT_EQ(message.args.at("packages").items, (std::vector<std::string>{"openssl", "libssl3"}));

  std::vector<audit::Record> records;
  ASSERT_TRUE(store_->audit()
                  .Read(0,
                        [&](const audit::Record& r) {
                          records.push_back(r);
                          return true;
                        })
                  .ok());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].action, "task.start");
}

TEST_F(TaskServiceTest, BadRequestsAreRefusedNamingTheField) {
  auto start = [&](TaskRequest r) { return service_->Start(r, "tok_op").status(); };
  TaskRequest r;
  r.check = "";
  EXPECT_THAT(start(r).message(), HasSubstr("check is empty"));
  r.check = "ssh-root-login";
  r.kind = "reboot";
  EXPECT_THAT(start(r).message(), HasSubstr("kind 'reboot' is not a task kind"));
  r.kind = "enforce";
  r.batch = 0;
  EXPECT_THAT(start(r).message(), HasSubstr("batch 0"));
  r.batch = 1;
  r.packages = {"x"};
  EXPECT_THAT(start(r).message(), HasSubstr("only a package_upgrade task takes packages"));
  r.packages = {};
  r.target = "bad[";
  EXPECT_EQ(start(r).code(), StatusCode::kInvalidArgument);
  TaskRequest u;
  u.kind = "package_upgrade";
  u.packages = {"bad name"};
  EXPECT_THAT(start(u).message(), HasSubstr("package 'bad name' holds a blank"));
  u.packages = {"openssl", "--allow-downgrades"};  // an apt option is no package name
  EXPECT_THAT(start(u).message(),
              HasSubstr("packages item '--allow-downgrades' is not a Debian package name"));
  u.packages = {"libssl3:amd64"};  // name:arch is one
  u.target = "bad[";
  EXPECT_THAT(start(u).message(), Not(HasSubstr("package")));
  // Nothing was started.
  auto listed = service_->List(10);
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, IsEmpty());
}

// The failing_nodes seam over the store: the nodes whose latest verdict of the check fails, a
// node repaired since (its newer verdict is fixed) and one in error left out.
TEST_F(TaskServiceTest, NodesFailingReadsTheLatestVerdicts) {
  auto verdict = [](const std::string& check, const std::string& status, const std::string& time) {
    return R"({"kind":"verdict","check":")" + check +
           R"(","pack":"p","sr":["SR 1.1"],"sl":1,"status":")" + status +
           R"(","rows":[],"rows_total":0,"error":null,"duration_ms":0.1,"time":")" + time +
           R"(","enforcer":"sshd.set","remediation":null})";
  };
  for (const char* host : {"a", "b", "c", "d"}) {
    NodeRecord node;
    node.host_identifier = host;
    node.key_hash = std::string("kh-") + host;
    ASSERT_TRUE(store_->PutNode(node).ok());
  }
  ASSERT_TRUE(
      store_->StoreEvidence("a", 1, {verdict("root-login", "fail", "2026-11-25T10:00:00Z")}).ok());
  ASSERT_TRUE(store_
                  ->StoreEvidence("b", 1,
                                  {verdict("root-login", "fail", "2026-11-25T10:00:00Z"),
                                   verdict("root-login", "fixed", "2026-11-25T10:01:00Z")})
                  .ok());
  ASSERT_TRUE(
      store_->StoreEvidence("c", 1, {verdict("root-login", "error", "2026-11-25T10:00:00Z")}).ok());
  ASSERT_TRUE(store_
                  ->StoreEvidence("d", 1,
                                  {verdict("other", "fail", "2026-11-25T10:00:00Z"),
                                   verdict("root-login", "fail", "2026-11-25T10:00:00Z")})
                  .ok());
  auto failing = NodesFailing(*store_, "root-login");
  ASSERT_TRUE(failing.ok()) << failing.status().message();
  EXPECT_THAT(*failing, ElementsAre("a", "d"));
  auto none = NodesFailing(*store_, "unknown");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

}  // namespace
}  // namespace vigil::server
