// The agent's hub link against a real in-process hub (server::Hub over TLS with its self-signed
// certificate). The hub's side of the protocol is played by a small scripted session
// (scripted_hub.h): this tests the agent's client, not the fleet service. The `config` message
// is tested with the daemon in daemon_hub_config_test.cc.
#include "agent/hub_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/agent_status.h"
#include "agent/daemon.h"
#include "agent/net/client.h"
#include "agent/outbox.h"
#include "agent/shared_engine.h"
#include "engine/store/store.h"
#include "engine/wire/messages.h"
#include "server/hub.h"
#include "tables/builtin.h"
#include "tests/testing/sql_fixture.h"
#include "tests/unit/agent/scripted_hub.h"

namespace vigil::agent {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

using scripted::HubScript;
using scripted::kHubKey;
using scripted::kSecret;

class HubClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script_ = std::make_shared<HubScript>();
    StartHub(0);
    auto store = store::Store::Open(agent_dir_.path() + "/state");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    auto outbox = Outbox::Open(*store_);
    ASSERT_TRUE(outbox.ok()) << outbox.status().message();
    outbox_ = std::move(*outbox);
    status_ = std::make_unique<AgentStatus>(agent_dir_.path(), outbox_.get());
    auto host = Host::Open(testing::FixtureRoot("debian12"));
    ASSERT_TRUE(host.ok());
    auto registry = std::make_unique<TableRegistry>();
    ASSERT_TRUE(tables::RegisterBuiltinTables(*registry).ok());
    ASSERT_TRUE(registry->Add(MakeAgentTable(*status_)).ok());
    auto engine = SharedEngine::Open(std::move(*host), std::move(registry));
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(*engine);
  }

  void TearDown() override {
    if (client_) client_->Stop();
    if (hub_) hub_->Stop();
  }

  void StartHub(uint16_t port) {
    hub_ = scripted::StartScriptedHub(hub_dir_.path(), port, script_);
    ASSERT_NE(hub_, nullptr);
  }

  HubClientOptions Options() {
    HubClientOptions o;
    o.client.url = hub_->url();
    o.client.tls.pinned_sha256 = hub_->tls_fingerprint();
    o.client.timeout = 5s;
    o.enroll_secret = kSecret;
    o.host_identifier = "node-a";
    o.hostname = "node-a.example";
    o.os = "Linux";
    o.vigil_version = "test";
    o.backoff_min = 50ms;
    o.backoff_max = 200ms;
    o.refused_backoff = 60s;
    o.log = [this](LogLevel level, const std::string& line) {
      std::lock_guard lock(log_mutex_);
      log_.push_back(std::string(LogLevelName(level)) + " " + line);
    };
    return o;
  }

  void StartClient(HubClientOptions options) {
    client_ = std::make_unique<HubClient>(std::move(options), *store_, *outbox_, *engine_,
                                          *status_);
    client_->Start();
  }

  std::optional<std::string> Stored(std::string_view key) {
    auto got = store_->Get(store::Family::kConfig, key);
    EXPECT_TRUE(got.ok());
    return got.ok() ? *got : std::nullopt;
  }

  // Polls fn() for up to 10 s.
  template <typename F>
  static bool Eventually(F fn, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (fn()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return fn();
  }

  std::string Log() {
    std::lock_guard lock(log_mutex_);
    std::string all;
    for (const std::string& line : log_) all += line + "\n";
    return all;
  }

  void Push(const wire::Query& query) {
    std::shared_ptr<server::AgentChannel> channel;
    {
      std::lock_guard lock(script_->mutex);
      channel = script_->channel;
    }
    ASSERT_NE(channel, nullptr);
    ASSERT_TRUE(channel->Send(wire::Encode(query)));
  }

  testing::TempDir hub_dir_;
  testing::TempDir agent_dir_;
  std::shared_ptr<HubScript> script_;
  std::unique_ptr<server::Hub> hub_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<AgentStatus> status_;
  std::unique_ptr<SharedEngine> engine_;
  std::unique_ptr<HubClient> client_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

TEST_F(HubClientTest, EnrollsWithTheSecretKeepsTheKeyAndReconnectsWithIt) {
  status_->Update([](AgentCounters& c) {
    c.config_version = 7;
    c.roles = {"historian", "dmz"};
  });
  StartClient(Options());
  ASSERT_TRUE(Eventually([&] { return Stored(kHubNodeKey).has_value(); })) << Log();
  EXPECT_EQ(Stored(kHubNodeKey), "node-key-1");
  EXPECT_EQ(Stored(kHubPublicKey), kHubKey);
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    ASSERT_EQ(script_->hellos.size(), 1u);
    const wire::Hello& hello = script_->hellos[0];
    EXPECT_EQ(hello.enroll_secret, kSecret);
    EXPECT_EQ(hello.node_key, std::nullopt);
    EXPECT_EQ(hello.host_identifier, "node-a");
    EXPECT_EQ(hello.hostname, "node-a.example");
    EXPECT_EQ(hello.outbox_next_seq, 1u);
    EXPECT_EQ(hello.config_version, 7u);
    EXPECT_EQ(hello.roles, (std::vector<std::string>{"historian", "dmz"}));
  }
  client_->Stop();
  EXPECT_FALSE(status_->counters().hub_connected);

  // A new process: the key from the store, no secret sent, no new key issued.
  StartClient(Options());
  ASSERT_TRUE(script_->WaitFor([&] { return script_->hellos.size() == 2; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->hellos[1].node_key, "node-key-1");
    EXPECT_EQ(script_->hellos[1].enroll_secret, std::nullopt);
    EXPECT_EQ(script_->issued, 1);
  }
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  EXPECT_EQ(Stored(kHubNodeKey), "node-key-1");
}

TEST_F(HubClientTest, RefusedKeyIsForgottenAndTheNodeEnrollsAgain) {
  ASSERT_TRUE(store_->Put(store::Family::kConfig, kHubNodeKey, "stale-key").ok());
  StartClient(Options());
  ASSERT_TRUE(Eventually([&] { return Stored(kHubNodeKey) == "node-key-1"; })) << Log();
  std::lock_guard lock(script_->mutex);
  ASSERT_GE(script_->hellos.size(), 2u);
  EXPECT_EQ(script_->hellos[0].node_key, "stale-key");
  EXPECT_EQ(script_->hellos[1].enroll_secret, kSecret);
  EXPECT_THAT(Log(), HasSubstr("refused this node's key"));
}

TEST_F(HubClientTest, WrongSecretIsLoggedAndNotRetriedSoon) {
  HubClientOptions options = Options();
  options.enroll_secret = "wrong";
  StartClient(options);
  ASSERT_TRUE(Eventually([&] { return Log().find("refused to enrol") != std::string::npos; }))
      << Log();
  std::this_thread::sleep_for(500ms);  // ten short backoffs' worth
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->hellos.size(), 1u);
  EXPECT_THAT(Log(), HasSubstr("node-a (enroll_refused: wrong enroll secret)"));
  EXPECT_FALSE(Stored(kHubNodeKey).has_value());
}

TEST_F(HubClientTest, OutboxIsSentInOrderAndDeletedOnlyAfterTheAck) {
  script_->auto_ack = false;
  ASSERT_TRUE(outbox_->Append(ItemKind::kVerdict, R"({"kind":"verdict","check":"a"})").ok());
  ASSERT_TRUE(outbox_->Append(ItemKind::kLog, R"({"kind":"log","name":"q"})").ok());
  ASSERT_TRUE(outbox_->Append(ItemKind::kAuditHead, R"({"kind":"audit_head","seq":1,"hash":"h"})")
                  .ok());
  StartClient(Options());
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->results.empty(); })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    const wire::Results& first = script_->results[0];
    EXPECT_EQ(first.seq, 1u);
    ASSERT_EQ(first.items.size(), 3u);
    EXPECT_EQ(first.items[0].kind, wire::ResultItem::Kind::kVerdict);
    EXPECT_EQ(first.items[1].json, R"({"kind":"log","name":"q"})");
    EXPECT_EQ(first.items[2].kind, wire::ResultItem::Kind::kAuditHead);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(outbox_->stats().depth, 3u) << "nothing is deleted before the hub's ack";

  // The connection dies before the ack: the agent reconnects and sends the same items again.
  std::shared_ptr<server::AgentChannel> channel;
  {
    std::lock_guard lock(script_->mutex);
    channel = script_->channel;
  }
  channel->Close("test: connection lost");
  ASSERT_TRUE(script_->WaitFor([&] { return script_->results.size() >= 2; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->results[1].seq, 1u);
    EXPECT_EQ(script_->results[1].items, script_->results[0].items);
    channel = script_->channel;
  }
  EXPECT_EQ(outbox_->stats().depth, 3u);
  EXPECT_EQ(status_->counters().hub_reconnects, 1u);

  // An ack of the first two deletes those two only; then new items go in a new message.
  ASSERT_TRUE(channel->Send(wire::Encode(wire::Ack{2})));
  ASSERT_TRUE(Eventually([&] { return outbox_->stats().depth == 1; })) << Log();
  EXPECT_EQ(status_->counters().hub_last_ack_seq, 2u);
  auto left = outbox_->Peek(0, 10, 1 << 20);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].seq, 3u);

  ASSERT_TRUE(outbox_->Append(ItemKind::kVerdict, R"({"kind":"verdict","check":"b"})").ok());
  ASSERT_TRUE(script_->WaitFor([&] { return script_->results.size() >= 3; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->results[2].seq, 4u);
    ASSERT_EQ(script_->results[2].items.size(), 1u);
  }
  ASSERT_TRUE(channel->Send(wire::Encode(wire::Ack{4})));
  ASSERT_TRUE(Eventually([&] { return outbox_->stats().depth == 0; })) << Log();
  EXPECT_EQ(status_->counters().hub_last_ack_seq, 4u);
}

TEST_F(HubClientTest, AckPastWhatWasSentDeletesNothingUnsent) {
  script_->auto_ack = false;
  ASSERT_TRUE(outbox_->Append(ItemKind::kVerdict, R"({"kind":"verdict","check":"a"})").ok());
  StartClient(Options());
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->results.empty(); })) << Log();
  std::shared_ptr<server::AgentChannel> channel;
  {
    std::lock_guard lock(script_->mutex);
    channel = script_->channel;
  }
  ASSERT_TRUE(channel->Send(wire::Encode(wire::Ack{5})));  // only seq 1 was sent
  ASSERT_TRUE(Eventually([&] { return outbox_->stats().depth == 0; })) << Log();
  EXPECT_EQ(status_->counters().hub_last_ack_seq, 1u);
  EXPECT_THAT(Log(), HasSubstr("acknowledged seq 5 but only 1 was sent"));
  // Seq 2 (queued after that ack) stays until it is acknowledged itself.
  ASSERT_TRUE(outbox_->Append(ItemKind::kVerdict, R"({"kind":"verdict","check":"b"})").ok());
  ASSERT_TRUE(script_->WaitFor([&] { return script_->results.size() >= 2; })) << Log();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(outbox_->stats().depth, 1u);
}

TEST_F(HubClientTest, WindowBoundsUnacknowledgedMessages) {
  script_->auto_ack = false;
  HubClientOptions options = Options();
  options.batch_items = 1;
  options.window = 2;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(outbox_
                    ->Append(ItemKind::kVerdict,
                             R"({"kind":"verdict","check":"c)" + std::to_string(i) + R"("})")
                    .ok());
  }
  StartClient(options);
  ASSERT_TRUE(script_->WaitFor([&] { return script_->results.size() >= 2; })) << Log();
  std::this_thread::sleep_for(300ms);
  std::shared_ptr<server::AgentChannel> channel;
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->results.size(), 2u);
    channel = script_->channel;
  }
  ASSERT_TRUE(channel->Send(wire::Encode(wire::Ack{1})));
  ASSERT_TRUE(script_->WaitFor([&] { return script_->results.size() >= 3; })) << Log();
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->results[2].seq, 3u);
}

TEST_F(HubClientTest, QueryIsAnsweredWithExactRowsAndBadSqlWithAnErrorResult) {
  StartClient(Options());
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  Push(wire::Query{"c1", "SELECT username, uid FROM users WHERE uid < 3 ORDER BY uid", 5000, 0});
  ASSERT_TRUE(script_->WaitFor([&] { return script_->answers.size() == 1; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    const wire::QueryResult& r = script_->answers[0];
    EXPECT_EQ(r.id, "c1");
    EXPECT_EQ(r.status, wire::QueryResult::Status::kOk);
    EXPECT_EQ(r.columns, (std::vector<std::string>{"username", "uid"}));
    EXPECT_EQ(r.rows, (std::vector<Row>{{Value("root"), Value(0)},
                                        {Value("daemon"), Value(1)},
                                        {Value("bin"), Value(2)}}));
    EXPECT_EQ(r.rows_total, 3u);
  }

  // max_rows caps the rows sent; rows_total still counts them all.
  Push(wire::Query{"c2", "SELECT username FROM users WHERE uid < 3 ORDER BY uid", 5000, 2});
  // A statement error is an error result on a connection that stays up.
  Push(wire::Query{"c3", "SELEC nonsense", 5000, 0});
  Push(wire::Query{"c4", "DELETE FROM users", 5000, 0});
  Push(wire::Query{"c5", "SELECT hub_connected, hub_url IS NOT NULL FROM vigil_agent", 5000, 0});
  ASSERT_TRUE(script_->WaitFor([&] { return script_->answers.size() == 5; })) << Log();
  std::lock_guard lock(script_->mutex);
  const wire::QueryResult& capped = script_->answers[1];
  EXPECT_EQ(capped.rows, (std::vector<Row>{{Value("root")}, {Value("daemon")}}));
  EXPECT_EQ(capped.rows_total, 3u);
  const wire::QueryResult& syntax = script_->answers[2];
  EXPECT_EQ(syntax.id, "c3");
  EXPECT_EQ(syntax.status, wire::QueryResult::Status::kError);
  EXPECT_THAT(syntax.error, HasSubstr("syntax error"));
  EXPECT_TRUE(syntax.rows.empty());
  const wire::QueryResult& write = script_->answers[3];
  EXPECT_EQ(write.status, wire::QueryResult::Status::kError);
  EXPECT_FALSE(write.error.empty());
  const wire::QueryResult& self = script_->answers[4];
  EXPECT_EQ(self.status, wire::QueryResult::Status::kOk) << self.error;
  EXPECT_EQ(self.rows, (std::vector<Row>{{Value(1), Value(1)}}));
  EXPECT_EQ(script_->hellos.size(), 1u) << "the connection stayed up";
}

TEST_F(HubClientTest, HubDownMeansBackoffAndTheClientReconnectsWhenItReturns) {
  const uint16_t port = hub_->port();
  HubClientOptions options = Options();
  hub_->Stop();
  StartClient(options);
  ASSERT_TRUE(Eventually([&] { return Log().find("cannot connect") != std::string::npos; }))
      << Log();
  EXPECT_FALSE(status_->counters().hub_connected);
  EXPECT_EQ(status_->counters().hub_url, options.client.url);
  // The same hub (same state dir, so the same certificate) back on the same port.
  StartHub(port);
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  EXPECT_EQ(Stored(kHubNodeKey), "node-key-1");
}

TEST_F(HubClientTest, StopIsPromptWhileWaitingOutALongBackoff) {
  HubClientOptions options = Options();
  options.enroll_secret = "wrong";  // refused: a 60 s wait
  StartClient(options);
  ASSERT_TRUE(Eventually([&] { return Log().find("refused to enrol") != std::string::npos; }));
  auto start = std::chrono::steady_clock::now();
  client_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

// --- tasks

// Holds on_task until Release(): a task that takes as long as the test wants.
class TaskGate {
 public:
  void Enter(const std::string& id) {
    std::unique_lock lock(mutex_);
    entered_.push_back(id);
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
  }
  bool WaitEntered(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return entered_.size() >= n; });
  }
  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  std::vector<std::string> entered() {
    std::lock_guard lock(mutex_);
    return entered_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> entered_;
  bool released_ = false;
};

wire::Task EnforceTask(std::string id) {
  wire::Task task;
  task.id = std::move(id);
  task.kind = wire::Task::Kind::kEnforce;
  task.check = "ssh-root-login";
  return task;
}

TEST_F(HubClientTest, TaskRunsOffTheReadingThreadWhileLiveQueriesAreAnswered) {
  auto gate = std::make_shared<TaskGate>();
  std::atomic<std::thread::id> task_thread{};
  HubClientOptions options = Options();
  options.on_task = [gate, &task_thread](const wire::Task& task) -> Result<wire::TaskResult> {
    task_thread = std::this_thread::get_id();
    gate->Enter(task.id);
    if (task.id == "t-bad") return Status::Unavailable("apt-get is locked by another process");
    wire::TaskResult result;
    result.outcome = task.dry_run ? "planned" : "applied";
    result.remediation = R"({"outcome":"applied","message":"set"})";
    return result;
  };
  StartClient(options);
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  ASSERT_TRUE(script_->Send(wire::Encode(EnforceTask("t1"))));
  ASSERT_TRUE(gate->WaitEntered(1)) << Log();
  EXPECT_NE(task_thread.load(), std::this_thread::get_id());

  // The task is still running: a live query is answered all the same.
  Push(wire::Query{"q1", "SELECT username FROM users WHERE uid = 0", 5000, 0});
  ASSERT_TRUE(script_->WaitFor([&] { return script_->answers.size() == 1; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->answers[0].rows, (std::vector<Row>{{Value("root")}}));
    EXPECT_TRUE(script_->task_results.empty());
  }

  wire::Task bad = EnforceTask("t-bad");
  ASSERT_TRUE(script_->Send(wire::Encode(bad)));
  gate->Release();
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->task_results.empty(); })) << Log();
  ASSERT_TRUE(script_->WaitFor([&] {
    return std::any_of(script_->errors.begin(), script_->errors.end(),
                       [](const wire::Error& e) { return e.ref == "t-bad"; });
  })) << Log();
  std::lock_guard lock(script_->mutex);
  ASSERT_EQ(script_->task_results.size(), 1u);
  EXPECT_EQ(script_->task_results[0].id, "t1");
  EXPECT_EQ(script_->task_results[0].outcome, "applied");
  EXPECT_EQ(script_->task_results[0].remediation, R"({"outcome":"applied","message":"set"})");
  const wire::Error& failed = script_->errors.back();
  EXPECT_EQ(failed.code, kTaskFailed);
  EXPECT_THAT(failed.message, HasSubstr("apt-get is locked"));
  EXPECT_EQ(gate->entered(), (std::vector<std::string>{"t1", "t-bad"}));
  EXPECT_EQ(script_->hellos.size(), 1u) << "the connection stayed up";
}

TEST_F(HubClientTest, TasksPastTheQueueBoundAreAnsweredBusy) {
  auto gate = std::make_shared<TaskGate>();
  HubClientOptions options = Options();
  options.max_queued_tasks = 2;
  options.on_task = [gate](const wire::Task& task) -> Result<wire::TaskResult> {
    gate->Enter(task.id);
    wire::TaskResult result;
    result.outcome = "applied";
    return result;
  };
  StartClient(options);
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  ASSERT_TRUE(script_->Send(wire::Encode(EnforceTask("t1"))));
  ASSERT_TRUE(gate->WaitEntered(1)) << Log();
  // t1 runs; t2 and t3 wait; t4 finds the queue full.
  for (const char* id : {"t2", "t3", "t4"}) ASSERT_TRUE(script_->Send(wire::Encode(EnforceTask(id))));
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->errors.empty(); })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    ASSERT_EQ(script_->errors.size(), 1u);
    EXPECT_EQ(script_->errors[0].code, kBusy);
    EXPECT_EQ(script_->errors[0].ref, "t4");
  }
  gate->Release();
  ASSERT_TRUE(script_->WaitFor([&] { return script_->task_results.size() == 3; })) << Log();
  std::lock_guard lock(script_->mutex);
  std::vector<std::string> answered;
  for (const wire::TaskResult& r : script_->task_results) answered.push_back(r.id);
  EXPECT_EQ(answered, (std::vector<std::string>{"t1", "t2", "t3"})) << "one at a time, in order";
  EXPECT_EQ(gate->entered(), answered);
}

TEST_F(HubClientTest, TaskWithoutAHandlerIsAnsweredUnsupported) {
  StartClient(Options());
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  ASSERT_TRUE(script_->Send(wire::Encode(EnforceTask("t9"))));
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->errors.empty(); })) << Log();
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->errors[0].code, kTaskUnsupported);
  EXPECT_EQ(script_->errors[0].ref, "t9");
  EXPECT_TRUE(script_->task_results.empty());
}

TEST_F(HubClientTest, TaskAnswerMadeWhileDisconnectedIsSentOnTheNextConnection) {
  auto gate = std::make_shared<TaskGate>();
  HubClientOptions options = Options();
  options.on_task = [gate](const wire::Task& task) -> Result<wire::TaskResult> {
    gate->Enter(task.id);
    wire::TaskResult result;
    result.outcome = "planned";
    return result;
  };
  StartClient(options);
  ASSERT_TRUE(Eventually([&] { return status_->counters().hub_connected; })) << Log();
  ASSERT_TRUE(script_->Send(wire::Encode(EnforceTask("t1"))));
  ASSERT_TRUE(gate->WaitEntered(1)) << Log();
  // The hub goes away while the task runs; the task ends with no connection to answer on.
  const uint16_t port = hub_->port();
  hub_->Stop();
  ASSERT_TRUE(Eventually([&] { return !status_->counters().hub_connected; })) << Log();
  gate->Release();
  ASSERT_TRUE(Eventually([&] { return Log().find("task t1: planned") != std::string::npos; }))
      << Log();
  StartHub(port);
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->task_results.empty(); })) << Log();
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->hellos.size(), 2u);
  EXPECT_EQ(script_->task_results[0].id, "t1");
  EXPECT_EQ(script_->task_results[0].outcome, "planned");
}

// --- the daemon with a hub

TEST_F(HubClientTest, DaemonSendsItsVerdictsThroughTheHubLink) {
  testing::TempDir daemon_dir;
  daemon_dir.WriteFile("/secret", std::string(kSecret) + "\n");
  DaemonOptions o;
  o.state_dir = daemon_dir.path() + "/state";
  o.root = testing::FixtureRoot("debian12");
  o.host_identifier = "node-d";
  o.hub_url = hub_->url();
  o.hub_fingerprint = hub_->tls_fingerprint();
  o.enroll_secret_file = daemon_dir.path() + "/secret";
  o.hub_backoff_min = 50ms;
  o.log = [this](LogLevel level, const std::string& line) {
    std::lock_guard lock(log_mutex_);
    log_.push_back(std::string(LogLevelName(level)) + " " + line);
  };
  auto daemon = Daemon::Open(o);
  ASSERT_TRUE(daemon.ok()) << daemon.status().message();
  std::thread run([&] { (*daemon)->Run(); });
  bool verdicts = script_->WaitFor(
      [&] {
        for (const wire::Results& r : script_->results) {
          for (const wire::ResultItem& item : r.items) {
            if (item.kind == wire::ResultItem::Kind::kVerdict) return true;
          }
        }
        return false;
      },
      60s);
  (*daemon)->Stop();
  run.join();
  ASSERT_TRUE(verdicts) << Log();
  std::lock_guard lock(script_->mutex);
  ASSERT_FALSE(script_->hellos.empty());
  EXPECT_EQ(script_->hellos[0].host_identifier, "node-d");
  EXPECT_EQ(script_->hellos[0].enroll_secret, kSecret);
  EXPECT_EQ(script_->results[0].seq, 1u);
}

TEST_F(HubClientTest, DaemonRefusesBadHubSettingsNamingThem) {
  testing::TempDir daemon_dir;
  daemon_dir.WriteFile("/empty", " \n");
  DaemonOptions o;
  o.state_dir = daemon_dir.path() + "/state";
  o.root = testing::FixtureRoot("debian12");
  o.host_identifier = "node-d";
  o.hub_url = hub_->url();
  o.log = [](LogLevel, const std::string&) {};

  DaemonOptions missing = o;
  missing.enroll_secret_file = daemon_dir.path() + "/nope";
  auto opened = Daemon::Open(missing);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr(daemon_dir.path() + "/nope"));

  DaemonOptions empty = o;
  empty.enroll_secret_file = daemon_dir.path() + "/empty";
  opened = Daemon::Open(empty);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr("the file is empty"));

  DaemonOptions plain = o;
  plain.hub_url = "http://hub.example.com:8080";
  opened = Daemon::Open(plain);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr("only to a loopback host"));

  DaemonOptions both = o;
  both.hub_ca_file = hub_->tls_cert_file();
  both.hub_fingerprint = hub_->tls_fingerprint();
  opened = Daemon::Open(both);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr("not both"));
}

// --- the client alone

TEST_F(HubClientTest, PinnedFingerprintMismatchIsRefusedNamingBoth) {
  net::ClientOptions options;
  options.url = hub_->url();
  options.timeout = 5s;
  options.tls.pinned_sha256 = std::string(95, 'A');
  for (size_t i = 2; i < 95; i += 3) options.tls.pinned_sha256[i] = ':';
  auto ws = net::WebSocketClient::Connect(options, "/api/v1/agent", {});
  ASSERT_FALSE(ws.ok());
  EXPECT_THAT(ws.status().message(),
              HasSubstr("certificate fingerprint " + hub_->tls_fingerprint() +
                        " does not match the pinned " + options.tls.pinned_sha256));
  EXPECT_THAT(ws.status().message(), HasSubstr(hub_->url()));

  // The right one, in lower case without colons, connects.
  std::string plain;
  for (char c : hub_->tls_fingerprint()) {
    if (c != ':') plain += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  options.tls.pinned_sha256 = plain;
  auto ok = net::WebSocketClient::Connect(options, "/api/v1/agent", {});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  (*ok)->Close();
}

TEST_F(HubClientTest, CaFileTrustsTheHubAndTheSystemCasDoNot) {
  net::ClientOptions options;
  options.url = hub_->url();
  options.timeout = 5s;
  options.tls.ca_file = hub_->tls_cert_file();
  auto reply = net::HttpCall(options, "GET", "/healthz", {}, "");
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(reply->status, 200);

  options.tls.ca_file.clear();  // the system's CAs know nothing of a self-signed hub
  auto refused = net::HttpCall(options, "GET", "/healthz", {}, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("certificate is not trusted"));
  EXPECT_THAT(refused.status().message(), HasSubstr(hub_->url()));
}

TEST_F(HubClientTest, RefusedUpgradeNamesTheStatusAndTheHubsMessage) {
  net::ClientOptions options;
  options.url = hub_->url();
  options.timeout = 5s;
  options.tls.ca_file = hub_->tls_cert_file();
  auto ws = net::WebSocketClient::Connect(options, "/api/v1/no-such-thing", {});
  ASSERT_FALSE(ws.ok());
  EXPECT_THAT(ws.status().message(), HasSubstr("refused the WebSocket upgrade: HTTP 404"));
}

TEST(HubClientOptionsTest, BadUrlsAndFingerprintsAreRefusedBeforeAnyConnection) {
  net::ClientOptions options;
  options.url = "http://hub.example.com:8080";
  EXPECT_THAT(net::CheckOptions(options).message(),
              HasSubstr("plain http is allowed only to a loopback host"));
  options.url = "ftp://127.0.0.1";
  EXPECT_THAT(net::CheckOptions(options).message(), HasSubstr("scheme"));
  options.url = "https://127.0.0.1:99999";
  EXPECT_THAT(net::CheckOptions(options).message(), HasSubstr("\"99999\""));
  options.url = "https://127.0.0.1:8443";
  options.tls.pinned_sha256 = "AB:CD";
  EXPECT_THAT(net::CheckOptions(options).message(), HasSubstr("not a SHA-256"));
  options.tls.pinned_sha256.clear();
  EXPECT_TRUE(net::CheckOptions(options).ok());
  options.url = "http://127.0.0.1:8080";
  EXPECT_TRUE(net::CheckOptions(options).ok());
  options.url = "http://[::1]:8080/";
  EXPECT_TRUE(net::CheckOptions(options).ok());
}

TEST(HubClientOptionsTest, ErrorMessageOfReadsTheHubsJsonErrorElseTheBody) {
  EXPECT_EQ(net::ErrorMessageOf(R"({"error": {"code": "unauthorized", "message": "no token"}})"),
            "no token");
  EXPECT_EQ(net::ErrorMessageOf("Not Found\n"), "Not Found");
  EXPECT_EQ(net::ErrorMessageOf(std::string(1000, 'x')), std::string(300, 'x') + "...");
}

}  // namespace
}  // namespace vigil::agent
