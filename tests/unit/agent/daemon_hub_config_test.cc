// The agent takes the hub's signed config (issue 7, "Config"): a real daemon (`vigil daemon
// --hub`) on the debian12 fixture against a real in-process hub whose side is scripted
// (scripted_hub.h), with configs signed by a real Ed25519 key. The key the hub presents at
// enrolment is pinned; a config is adopted only when that key signed it and it is newer; the
// store keeps it as received, and a restart verifies it again before running it. The hub is
// told (config_status) which version the node runs once it adopts one, and on a refusal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/daemon.h"
#include "agent/hub_client.h"
#include "engine/packs/verdict_json.h"
#include "engine/signing.h"
#include "engine/store/store.h"
#include "engine/wire/messages.h"
#include "server/hub.h"
#include "tests/testing/sql_fixture.h"
#include "tests/unit/agent/scripted_hub.h"

namespace vigil::agent {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// One pack, one check: fails when the user named by `who` exists. The pack's default names no
// user (pass); the config's vars name root (fail), so the verdict shows whose vars are in effect.
std::string ConfigJson(uint64_t version, std::string_view query = "") {
  const std::string sql = query.empty()
                              ? "SELECT username FROM users WHERE username = {{vars.who}}"
                              : std::string(query);
  return R"({"type":"config","v":1,"version":)" + std::to_string(version) +
         R"(,"roles":["historian"],"vars":{"who":"root"},"enforce":"dry-run","target_sl":2,)"
         R"("packs":[{"name":"site","vars":{"who":"nobody-here"},"checks":{"no-such-user":)"
         R"({"sr":["SR 1.1"],"query":")" +
         sql + R"("}}}]})";
}

// The agent's config_status messages as the hub received them (the script ignores them).
struct ConfigStatuses {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<wire::ConfigStatus> seen;

  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, pred);
  }
};

// The scripted session, recording config_status on the way.
class RecordingSession : public server::AgentSession {
 public:
  RecordingSession(std::shared_ptr<ConfigStatuses> statuses,
                   std::unique_ptr<server::AgentSession> inner)
      : statuses_(std::move(statuses)), inner_(std::move(inner)) {}

  void OnMessage(std::string_view text) override {
    wire::DecodeResult decoded = wire::Decode(text);
    if (decoded.ok()) {
      if (auto* status = std::get_if<wire::ConfigStatus>(&decoded.message())) {
        std::lock_guard lock(statuses_->mutex);
        statuses_->seen.push_back(*status);
        statuses_->changed.notify_all();
      }
    }
    inner_->OnMessage(text);
  }
  void OnClose() override { inner_->OnClose(); }

 private:
  const std::shared_ptr<ConfigStatuses> statuses_;
  const std::unique_ptr<server::AgentSession> inner_;
};

class HubConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = GenerateSigningKey();
    ASSERT_TRUE(key.ok()) << key.status().message();
    key_ = *key;
    script_ = std::make_shared<scripted::HubScript>();
    script_->public_key = key_.public_key;
    statuses_ = std::make_shared<ConfigStatuses>();
    server::HubOptions options;
    options.state_dir = hub_dir_.path();
    options.threads = 1;
    options.agent_sessions = [script = script_,
                              statuses = statuses_](std::shared_ptr<server::AgentChannel> channel) {
      return std::make_unique<RecordingSession>(
          statuses, std::make_unique<scripted::ScriptedSession>(script, std::move(channel)));
    };
    hub_ = std::make_unique<server::Hub>(std::move(options));
    Status started = hub_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
    dir_.WriteFile("/secret", std::string(scripted::kSecret) + "\n");
  }

  void TearDown() override {
    StopDaemon();
    if (hub_) hub_->Stop();
  }

  DaemonOptions Options() {
    DaemonOptions o;
    o.state_dir = State();
    o.root = testing::FixtureRoot("debian12");
    o.host_identifier = "node-c";
    // A long cycle: a config adopted within seconds was adopted by the wake, not the timer.
    o.cycle = 60s;
    o.hub_url = hub_->url();
    o.hub_fingerprint = hub_->tls_fingerprint();
    o.enroll_secret_file = dir_.path() + "/secret";
    o.hub_backoff_min = 50ms;
    o.hub_backoff_max = 200ms;
    o.log = [this](LogLevel level, const std::string& line) {
      std::lock_guard lock(log_mutex_);
      log_ += std::string(LogLevelName(level)) + " " + line + "\n";
    };
    return o;
  }

  std::string State() const { return dir_.path() + "/state"; }

  void StartDaemon(DaemonOptions options) {
    auto daemon = Daemon::Open(std::move(options));
    ASSERT_TRUE(daemon.ok()) << daemon.status().message();
    daemon_ = std::move(*daemon);
    run_ = std::thread([this] { daemon_->Run(); });
    ASSERT_TRUE(Eventually([&] { return daemon_->status().hub_connected; })) << Log();
  }

  void StopDaemon() {
    if (!daemon_) return;
    daemon_->Stop();
    if (run_.joinable()) run_.join();
    daemon_.reset();
  }

  std::string Signed(const std::string& json, const SigningKey& key) {
    auto message = SignedConfigMessage(key, json);
    EXPECT_TRUE(message.ok()) << message.status().message();
    return message.ok() ? *message : "";
  }
  std::string Signed(const std::string& json) { return Signed(json, key_); }

  // Sends a config message and waits until the daemon runs `version`.
  void Adopt(const std::string& message, uint64_t version) {
    ASSERT_TRUE(script_->Send(message));
    ASSERT_TRUE(Eventually([&] { return daemon_->status().config_version == version; }, 30s))
        << Log();
  }

  // Sends a config message and returns the agent's `error` about it (ref = version).
  std::optional<wire::Error> Refusal(const std::string& message, uint64_t version) {
    const std::string ref = std::to_string(version);
    EXPECT_TRUE(script_->Send(message));
    std::optional<wire::Error> found;
    script_->WaitFor([&] {
      for (const wire::Error& e : script_->errors) {
        if (e.ref == ref) found = e;
      }
      return found.has_value();
    });
    return found;
  }

  std::optional<std::string> StoredConfig() {
    auto store = store::Store::Open(State());
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (!store.ok()) return std::nullopt;
    auto got = (*store)->Get(store::Family::kConfig, "config.current");
    EXPECT_TRUE(got.ok());
    return got.ok() ? *got : std::nullopt;
  }

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
    return log_;
  }

  testing::TempDir hub_dir_;
  testing::TempDir dir_;
  SigningKey key_;
  std::shared_ptr<scripted::HubScript> script_;
  std::shared_ptr<ConfigStatuses> statuses_;
  std::unique_ptr<server::Hub> hub_;
  std::unique_ptr<Daemon> daemon_;
  std::thread run_;
  std::mutex log_mutex_;
  std::string log_;
};

TEST_F(HubConfigTest, SignedConfigIsAdoptedPromptlyKeptAsReceivedAndReported) {
  StartDaemon(Options());
  AgentCounters before = daemon_->status();
  EXPECT_EQ(before.config_source, "default");
  EXPECT_EQ(before.config_version, 0u);
  EXPECT_TRUE(before.hub_key_pinned);

  // After the first cycle (the built-in default), the next is a minute away.
  ASSERT_TRUE(Eventually([&] { return daemon_->status().cycles >= 1; }, 30s)) << Log();
  const std::string message = Signed(ConfigJson(3));
  const auto sent = std::chrono::steady_clock::now();
  Adopt(message, 3);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 5s) << "adopted by the wake, not the cycle";
  AgentCounters after = daemon_->status();
  EXPECT_EQ(after.config_source, "hub");
  EXPECT_EQ(after.enforce, "dry-run");
  EXPECT_EQ(after.roles, (std::vector<std::string>{"historian"}));
  EXPECT_EQ(after.config_error, "");

  // The config's check ran with the config's vars: root exists, so it fails.
  std::optional<packs::Verdict> verdict;
  ASSERT_TRUE(script_->WaitFor([&] {
    for (const wire::Results& r : script_->results) {
      for (const wire::ResultItem& item : r.items) {
        if (item.kind != wire::ResultItem::Kind::kVerdict) continue;
        auto v = packs::ParseVerdictJson(item.json);
        if (v.ok() && v->check == "no-such-user") verdict = *v;
      }
    }
    return verdict.has_value();
  }))
      << Log();
  EXPECT_EQ(verdict->status, packs::VerdictStatus::kFail);
  EXPECT_EQ(verdict->rows_total, 1u);

  // vigil_agent says where the config came from, through a live query from the hub.
  ASSERT_TRUE(script_->Send(wire::Encode(wire::Query{
      "q1",
      "SELECT config_version, config_source, config_error, hub_key_pinned, enforce "
      "FROM vigil_agent",
      5000, 0})));
  ASSERT_TRUE(script_->WaitFor([&] { return !script_->answers.empty(); })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    const wire::QueryResult& r = script_->answers[0];
    ASSERT_EQ(r.status, wire::QueryResult::Status::kOk) << r.error;
    EXPECT_EQ(r.rows, (std::vector<Row>{{Value(3), Value("hub"), Value(""), Value(1),
                                         Value("dry-run")}}));
  }

  // The next hello names the hub's version and roles.
  std::shared_ptr<server::AgentChannel> channel;
  {
    std::lock_guard lock(script_->mutex);
    channel = script_->channel;
  }
  channel->Close("test: reconnect");
  ASSERT_TRUE(script_->WaitFor([&] { return script_->hellos.size() >= 2; })) << Log();
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->hellos.back().config_version, 3u);
    EXPECT_EQ(script_->hellos.back().roles, (std::vector<std::string>{"historian"}));
    EXPECT_TRUE(script_->errors.empty());
  }

  StopDaemon();
  EXPECT_EQ(StoredConfig(), message) << "kept as received, signature included";
}

TEST_F(HubConfigTest, TamperedUnsignedForeignOlderAndBrokenConfigsAreRefused) {
  StartDaemon(Options());
  Adopt(Signed(ConfigJson(3)), 3);

  // One byte of a pack changed after signing.
  std::string tampered = Signed(ConfigJson(4));
  const size_t at = tampered.find("nobody-here");
  ASSERT_NE(at, std::string::npos);
  tampered[at + 10] = 'a';
  auto refused = Refusal(tampered, 4);
  ASSERT_TRUE(refused) << Log();
  EXPECT_EQ(refused->code, kConfigRefused);
  EXPECT_THAT(refused->message,
              HasSubstr("config 4: the signature does not verify against the hub key pinned"));
  EXPECT_EQ(daemon_->status().config_error, refused->message);
  EXPECT_EQ(daemon_->status().config_version, 3u);

  refused = Refusal(ConfigJson(5), 5);
  ASSERT_TRUE(refused) << Log();
  EXPECT_EQ(refused->message, "config 5 is unsigned");
  EXPECT_EQ(daemon_->status().config_error, "config 5 is unsigned");

  auto other = GenerateSigningKey();
  ASSERT_TRUE(other.ok());
  refused = Refusal(Signed(ConfigJson(6), *other), 6);
  ASSERT_TRUE(refused) << Log();
  EXPECT_THAT(refused->message, HasSubstr("does not verify"));

  refused = Refusal(Signed(ConfigJson(2)), 2);
  ASSERT_TRUE(refused) << Log();
  EXPECT_EQ(refused->message, "config 2 is not newer than config 3, which this agent already has");
  refused = Refusal(Signed(ConfigJson(3)), 3);
  ASSERT_TRUE(refused) << Log();
  EXPECT_THAT(refused->message, HasSubstr("config 3 is not newer"));

  // Signed, newer, but its check does not prepare: refused naming the check.
  refused = Refusal(Signed(ConfigJson(7, "SELECT nope FROM no_such_table")), 7);
  ASSERT_TRUE(refused) << Log();
  EXPECT_THAT(refused->message, HasSubstr("config 7 not taken"));
  EXPECT_THAT(refused->message, HasSubstr("no-such-user"));

  AgentCounters still = daemon_->status();
  EXPECT_EQ(still.config_version, 3u);
  EXPECT_EQ(still.config_source, "hub");
  EXPECT_THAT(Log(), HasSubstr("refused a config from hub"));

  // A good one after all that is taken, and clears the error.
  Adopt(Signed(ConfigJson(8)), 8);
  EXPECT_EQ(daemon_->status().config_error, "");
}

// The hub learns what the node runs from the node, on the same connection: the version once
// the daemon adopted it, and on a refusal the version it stays on with the reason.
TEST_F(HubConfigTest, TheHubIsToldTheVersionAdoptedAndTheOneKeptOnARefusal) {
  StartDaemon(Options());
  const auto seen = [this] {
    std::lock_guard lock(statuses_->mutex);
    return statuses_->seen;
  };
  // Nothing to tell while the node runs what its hello said.
  ASSERT_TRUE(Eventually([&] { return daemon_->status().cycles >= 1; }, 30s)) << Log();
  EXPECT_TRUE(seen().empty());

  Adopt(Signed(ConfigJson(3)), 3);
  ASSERT_TRUE(statuses_->WaitFor([&] { return !statuses_->seen.empty(); })) << Log();
  EXPECT_EQ(seen(), (std::vector<wire::ConfigStatus>{{3, ""}}));

  // Refused before it is taken (unsigned), and after (its check does not prepare): the hub
  // hears the error and then that the node still runs 3.
  ASSERT_TRUE(Refusal(ConfigJson(5), 5)) << Log();
  ASSERT_TRUE(statuses_->WaitFor([&] { return statuses_->seen.size() >= 2; })) << Log();
  EXPECT_EQ(seen()[1], (wire::ConfigStatus{3, "config 5 is unsigned"}));
  ASSERT_TRUE(Refusal(Signed(ConfigJson(7, "SELECT nope FROM no_such_table")), 7)) << Log();
  ASSERT_TRUE(statuses_->WaitFor([&] { return statuses_->seen.size() >= 3; })) << Log();
  EXPECT_EQ(seen()[2].config_version, 3u);
  EXPECT_THAT(seen()[2].config_error, HasSubstr("config 7 not taken"));

  // A good one after that is adopted and told, with no error left.
  Adopt(Signed(ConfigJson(8)), 8);
  ASSERT_TRUE(statuses_->WaitFor([&] { return statuses_->seen.size() >= 4; })) << Log();
  EXPECT_EQ(seen()[3], (wire::ConfigStatus{8, ""}));
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_EQ(script_->hellos.size(), 1u) << "all of it on the first connection";
  }
  // Told once each: nothing more while the node keeps running 8.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(seen().size(), 4u);
}

TEST_F(HubConfigTest, RestartRunsTheStoredConfigOnceItVerifiesAgain) {
  StartDaemon(Options());
  Adopt(Signed(ConfigJson(3)), 3);
  StopDaemon();

  for (bool with_hub : {true, false}) {
    SCOPED_TRACE(with_hub ? "with --hub" : "standalone");
    DaemonOptions options = Options();
    if (!with_hub) {
      options.hub_url.clear();
      options.hub_fingerprint.clear();
      options.enroll_secret_file.clear();
    }
    auto daemon = Daemon::Open(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status().message();
    AgentCounters status = (*daemon)->status();
    EXPECT_EQ(status.config_source, "stored");
    EXPECT_EQ(status.config_version, 3u);
    EXPECT_EQ(status.enforce, "dry-run");
    EXPECT_EQ(status.config_error, "");
    auto report = (*daemon)->RunCycle(true);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->checks, 1);
    EXPECT_EQ(report->failing, 1);
  }
}

TEST_F(HubConfigTest, StoredConfigWhoseSignatureNoLongerVerifiesIsNotUsed) {
  StartDaemon(Options());
  Adopt(Signed(ConfigJson(3)), 3);
  StopDaemon();
  {
    auto store = store::Store::Open(State());
    ASSERT_TRUE(store.ok());
    auto kept = (*store)->Get(store::Family::kConfig, "config.current");
    ASSERT_TRUE(kept.ok() && *kept);
    std::string changed = **kept;
    changed.replace(changed.find("\"root\""), 6, "\"rout\"");
    ASSERT_TRUE((*store)->Put(store::Family::kConfig, "config.current", changed).ok());
  }
  auto daemon = Daemon::Open(Options());
  ASSERT_TRUE(daemon.ok()) << daemon.status().message();
  AgentCounters status = (*daemon)->status();
  EXPECT_EQ(status.config_source, "default");
  EXPECT_EQ(status.config_version, 0u);
  EXPECT_THAT(status.config_error, HasSubstr("the hub's config kept in " + State()));
  EXPECT_THAT(status.config_error, HasSubstr("the signature does not verify"));
  EXPECT_THAT(Log(), HasSubstr("running the built-in default until the hub sends a config"));
  auto report = (*daemon)->RunCycle(true);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_GT(report->checks, 1) << "the built-in iec62443 bundle, not the stored config";
}

TEST_F(HubConfigTest, StoredConfigSignedByAnotherKeyThanThePinnedOneIsNotUsed) {
  StartDaemon(Options());
  Adopt(Signed(ConfigJson(3)), 3);
  StopDaemon();
  {
    auto store = store::Store::Open(State());
    ASSERT_TRUE(store.ok());
    auto other = GenerateSigningKey();
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*store)->Put(store::Family::kConfig, kHubPublicKey, other->public_key).ok());
  }
  DaemonOptions standalone = Options();
  standalone.hub_url.clear();
  standalone.hub_fingerprint.clear();
  standalone.enroll_secret_file.clear();
  auto daemon = Daemon::Open(standalone);
  ASSERT_TRUE(daemon.ok()) << daemon.status().message();
  EXPECT_EQ((*daemon)->status().config_source, "default");
  EXPECT_THAT((*daemon)->status().config_error, HasSubstr("does not verify"));
}

TEST_F(HubConfigTest, ConfigFileWithAHubIsRefused) {
  dir_.WriteFile("/node.json", R"({"version": 1, "packs": ["iec62443"]})");
  DaemonOptions options = Options();
  options.config_path = dir_.path() + "/node.json";
  auto daemon = Daemon::Open(options);
  ASSERT_FALSE(daemon.ok());
  EXPECT_EQ(daemon.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(daemon.status().message(), HasSubstr("give --config FILE or --hub URL, not both"));
}

TEST_F(HubConfigTest, StoredFileConfigIsNotRunWithAHub) {
  dir_.WriteFile("/node.json", R"({"version": 9, "packs": ["iec62443"], "enforce": "auto"})");
  {
    DaemonOptions standalone = Options();
    standalone.hub_url.clear();
    standalone.hub_fingerprint.clear();
    standalone.enroll_secret_file.clear();
    standalone.config_path = dir_.path() + "/node.json";
    auto daemon = Daemon::Open(standalone);
    ASSERT_TRUE(daemon.ok()) << daemon.status().message();
    EXPECT_EQ((*daemon)->status().config_source, "file");
    EXPECT_EQ((*daemon)->status().config_version, 9u);
  }
  auto daemon = Daemon::Open(Options());
  ASSERT_TRUE(daemon.ok()) << daemon.status().message();
  EXPECT_EQ((*daemon)->status().config_source, "default");
  EXPECT_EQ((*daemon)->status().enforce, "off");
  EXPECT_THAT((*daemon)->status().config_error, HasSubstr("came from a --config file"));
}

}  // namespace
}  // namespace vigil::agent
