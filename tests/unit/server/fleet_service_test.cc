// The fleet service driven through its sessions with a recording AgentChannel (the transport's
// seam), over the real embedded HubStore in a temporary directory: enrollment and node keys,
// evidence acks, live-query campaigns by target with exact answers, offline nodes and --wait,
// deadlines, the rate limit, malformed messages, and a restart.
#include "server/fleet_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "server/credentials.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kSecret = "enroll-s3cret";
constexpr auto kBoundedWait = std::chrono::seconds(5);

// The transport's side of one connection: records what the service sends.
class RecordingChannel : public AgentChannel {
 public:
  explicit RecordingChannel(uint64_t id) : id_(id), address_("192.0.2.7:" + std::to_string(id)) {}

  bool Send(std::string text) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!open_ || refuse_sends_) return false;
    frames_.push_back(std::move(text));
    return true;
  }
  void Close(std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
    close_reason_ = std::string(reason);
  }
  bool open() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }
  uint64_t id() const override { return id_; }
  const std::string& remote_address() const override { return address_; }

  std::vector<std::string> frames() const {
    std::lock_guard<std::mutex> lock(mu_);
    return frames_;
  }
  std::string close_reason() const {
    std::lock_guard<std::mutex> lock(mu_);
    return close_reason_;
  }
  void RefuseSends() {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_sends_ = true;
  }

 private:
  const uint64_t id_;
  const std::string address_;
  mutable std::mutex mu_;
  std::vector<std::string> frames_;
  bool open_ = true;
  bool refuse_sends_ = false;
  std::string close_reason_;
};

// Each frame decoded; fails the test on one the codec refuses.
std::vector<wire::Message> Decoded(const std::vector<std::string>& frames) {
  std::vector<wire::Message> out;
  for (const std::string& frame : frames) {
    wire::DecodeResult result = wire::Decode(frame);
    EXPECT_TRUE(result.ok()) << frame;
    if (result.ok()) out.push_back(std::move(result).message());
  }
  return out;
}

// One simulated agent connection.
struct Agent {
  std::shared_ptr<RecordingChannel> channel;
  std::unique_ptr<AgentSession> session;

  void Say(std::string_view text) { session->OnMessage(text); }
  void Say(const wire::Message& message) { session->OnMessage(wire::Encode(message)); }
  void Disconnect() {
    channel->Close("gone");
    session->OnClose();
    session.reset();
  }
  std::vector<wire::Message> messages() const { return Decoded(channel->frames()); }
  // The last frame, decoded.
  wire::Message last() const {
    auto all = messages();
    EXPECT_FALSE(all.empty());
    return all.empty() ? wire::Message(wire::Error{}) : all.back();
  }
  wire::Error last_error() const {
    wire::Message message = last();
    EXPECT_TRUE(std::holds_alternative<wire::Error>(message)) << wire::Encode(message);
    return std::holds_alternative<wire::Error>(message) ? std::get<wire::Error>(message)
                                                        : wire::Error{};
  }
  std::vector<wire::Query> queries() const {
    std::vector<wire::Query> out;
    for (const auto& m : messages()) {
      if (auto* q = std::get_if<wire::Query>(&m)) out.push_back(*q);
    }
    return out;
  }
};

wire::Hello HelloFor(const std::string& host, std::vector<std::string> roles = {}) {
  wire::Hello hello;
  hello.host_identifier = host;
  hello.hostname = host + ".plant.example";
  hello.os = "Debian GNU/Linux 12";
  hello.vigil_version = "0.1.0";
  hello.config_version = 3;
  hello.outbox_next_seq = 1;
  hello.roles = std::move(roles);
  return hello;
}

wire::QueryResult Rows(const std::string& id, std::vector<Row> rows) {
  wire::QueryResult result;
  result.id = id;
  result.columns = {"name", "uid"};
  result.rows_total = rows.size();
  result.rows = std::move(rows);
  result.duration_ms = 1.5;
  return result;
}

CampaignSpec Spec(std::string sql, std::string target, uint64_t deadline_ms = 30'000,
                  uint64_t wait_ms = 0) {
  CampaignSpec spec;
  spec.sql = std::move(sql);
  spec.target = std::move(target);
  spec.deadline_ms = deadline_ms;
  spec.wait_ms = wait_ms;
  spec.created_by = "tok_test";
  return spec;
}

CampaignSpec NoTimeout(CampaignSpec spec) {
  spec.timeout_ms = 0;
  return spec;
}

// Collects a watch's events; waits for them with a bound.
class Recorder {
 public:
  CampaignObserver observer() {
    return [this](const CampaignEvent& event) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(event);
      changed_.notify_all();
    };
  }
  std::vector<CampaignEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  bool WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kBoundedWait, [&] {
      return !events_.empty() && events_.back().kind == CampaignEvent::Kind::kDone;
    });
  }
  std::vector<std::string> answered_nodes() const {
    std::vector<std::string> out;
    for (const auto& event : events()) {
      if (event.kind == CampaignEvent::Kind::kAnswer) out.push_back(event.answer.host_identifier);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<CampaignEvent> events_;
};

class FleetServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Open();
  }
  void TearDown() override {
    agents_.clear();
    fleet_.reset();
  }

  void Open(FleetOptions options = {}) {
    agents_.clear();
    fleet_.reset();
    options.enroll_secret = std::string(kSecret);
    options.log = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    auto fleet = FleetService::Create(*store_, std::move(options));
    ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
    fleet_ = std::move(fleet).value();
  }

  Agent& Connect() {
    auto channel = std::make_shared<RecordingChannel>(++next_channel_);
    Agent& agent = agents_.emplace_back();
    agent.channel = channel;
    agent.session = fleet_->SessionFactory()(channel);
    return agent;
  }

  // Enrolls a node on a new connection and returns its key.
  std::string Enroll(Agent& agent, const std::string& host, std::vector<std::string> roles = {}) {
    wire::Hello hello = HelloFor(host, std::move(roles));
    hello.enroll_secret = std::string(kSecret);
    const size_t before = agent.channel->frames().size();
    agent.Say(hello);
    // The welcome is the reply (a config may follow it).
    auto replies = agent.messages();
    wire::Message reply = replies.size() > before ? replies[before] : wire::Message(wire::Error{});
    EXPECT_TRUE(std::holds_alternative<wire::Welcome>(reply)) << wire::Encode(reply);
    if (!std::holds_alternative<wire::Welcome>(reply)) return {};
    return std::get<wire::Welcome>(reply).node_key.value_or("");
  }

  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  CampaignRecord Start(CampaignSpec spec) {
    auto campaign = fleet_->StartCampaign(spec);
    EXPECT_TRUE(campaign.ok()) << campaign.status().ToString();
    return campaign.ok() ? campaign.value() : CampaignRecord{};
  }

  CampaignTotals TotalsOf(const std::string& id) {
    auto totals = fleet_->Totals(id);
    EXPECT_TRUE(totals.ok()) << totals.status().ToString();
    return totals.ok() ? totals.value() : CampaignTotals{};
  }

  testing::TempDir dir_;
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<FleetService> fleet_;
  std::deque<Agent> agents_;  // destroyed before fleet_: sessions borrow it
  uint64_t next_channel_ = 0;
  mutable std::mutex log_mu_;
  std::vector<std::string> log_;
};

// ---- enrollment

TEST_F(FleetServiceTest, EnrollmentWithTheSecretGivesAKeyStoredHashed) {
  Agent& agent = Connect();
  const std::string key = Enroll(agent, "hist-01", {"historian"});
  EXPECT_THAT(key, StartsWith("vgn_"));
  EXPECT_EQ(key.size(), 4u + 64u);

  auto node = store_->GetNode("hist-01");
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE(node.value().has_value());
  EXPECT_EQ(node.value()->key_hash, SecretHash(key));
  EXPECT_NE(node.value()->key_hash, key);
  EXPECT_EQ(node.value()->hostname, "hist-01.plant.example");
  EXPECT_EQ(node.value()->roles, std::vector<std::string>{"historian"});
  EXPECT_EQ(node.value()->config_version, 3u);
  EXPECT_EQ(node.value()->remote_address, agent.channel->remote_address());
  EXPECT_THAT(fleet_->OnlineNodes(), ElementsAre("hist-01"));
  EXPECT_EQ(fleet_->metrics().nodes_enrolled.load(), 1u);
  EXPECT_EQ(fleet_->metrics().online_nodes.load(), 1);
  EXPECT_TRUE(agent.channel->open());
}

TEST_F(FleetServiceTest, WrongSecretIsRefusedLoggedAndClosed) {
  Agent& agent = Connect();
  wire::Hello hello = HelloFor("hist-01");
  hello.enroll_secret = "guess";
  agent.Say(hello);
  EXPECT_EQ(agent.last_error().code, "enroll_refused");
  EXPECT_FALSE(agent.channel->open());
  EXPECT_THAT(log(), ElementsAre(AllOf(HasSubstr("hist-01"), HasSubstr("wrong enroll secret"),
                                       HasSubstr(agent.channel->remote_address()))));
  EXPECT_FALSE(store_->GetNode("hist-01").value().has_value());
  EXPECT_THAT(fleet_->OnlineNodes(), IsEmpty());
  EXPECT_EQ(fleet_->metrics().auth_failures.load(), 1u);
}

TEST_F(FleetServiceTest, EnrollingAnEnrolledHostIsRefusedUntilRemoved) {
  const std::string key = Enroll(Connect(), "hist-01");
  Agent& again = Connect();
  wire::Hello hello = HelloFor("hist-01");
  hello.enroll_secret = std::string(kSecret);
  again.Say(hello);
  wire::Error error = again.last_error();
  EXPECT_EQ(error.code, "already_enrolled");
  EXPECT_THAT(error.message, HasSubstr("vigilctl nodes remove hist-01"));
  EXPECT_FALSE(again.channel->open());
  // The enrolled node's key is untouched.
  EXPECT_EQ(store_->GetNode("hist-01").value()->key_hash, SecretHash(key));
}

TEST_F(FleetServiceTest, NodeKeyReconnectsAndReplacesTheOldConnection) {
  Agent& first = Connect();
  const std::string key = Enroll(first, "hist-01");

  Agent& second = Connect();
  wire::Hello hello = HelloFor("hist-01", {"historian", "dmz"});
  hello.node_key = key;
  hello.hostname = "renamed.plant.example";
  hello.config_version = 9;
  second.Say(hello);
  wire::Message reply = second.last();
  ASSERT_TRUE(std::holds_alternative<wire::Welcome>(reply)) << wire::Encode(reply);
  EXPECT_FALSE(std::get<wire::Welcome>(reply).node_key.has_value());
  EXPECT_FALSE(first.channel->open());
  EXPECT_THAT(first.channel->close_reason(), HasSubstr("replaced"));

  // The old connection going away does not take the new one offline.
  first.session->OnClose();
  EXPECT_THAT(fleet_->OnlineNodes(), ElementsAre("hist-01"));
  EXPECT_EQ(fleet_->metrics().online_nodes.load(), 1);

  NodeRecord node = *store_->GetNode("hist-01").value();
  EXPECT_EQ(node.hostname, "renamed.plant.example");
  EXPECT_EQ(node.config_version, 9u);
  EXPECT_EQ(node.roles, (std::vector<std::string>{"historian", "dmz"}));
  EXPECT_EQ(node.remote_address, second.channel->remote_address());

  second.Disconnect();
  EXPECT_THAT(fleet_->OnlineNodes(), IsEmpty());
}

TEST_F(FleetServiceTest, UnknownKeyOrAnotherHostsKeyIsNodeInvalid) {
  const std::string key = Enroll(Connect(), "hist-01");

  Agent& unknown = Connect();
  wire::Hello hello = HelloFor("hist-01");
  hello.node_key = "vgn_0000";
  unknown.Say(hello);
  EXPECT_EQ(unknown.last_error().code, wire::kNodeInvalid);
  EXPECT_FALSE(unknown.channel->open());

  Agent& borrowed = Connect();
  hello = HelloFor("hist-02");
  hello.node_key = key;
  borrowed.Say(hello);
  EXPECT_EQ(borrowed.last_error().code, wire::kNodeInvalid);
  EXPECT_FALSE(borrowed.channel->open());
  EXPECT_EQ(fleet_->metrics().auth_failures.load(), 2u);
  EXPECT_THAT(log(), ElementsAre(HasSubstr("enrolled"), HasSubstr("unknown key"),
                                 HasSubstr("it belongs to 'hist-01'")));
}

TEST_F(FleetServiceTest, TheFirstMessageMustBeHello) {
  Agent& agent = Connect();
  agent.Say(wire::Results{1, {}});
  EXPECT_EQ(agent.last_error().code, "hello_required");
  EXPECT_FALSE(agent.channel->open());
}

TEST_F(FleetServiceTest, RemovedNodeMayEnrollAgain) {
  EXPECT_EQ(fleet_->RemoveNode("nobody").code(), StatusCode::kNotFound);
  Agent& agent = Connect();
  const std::string old_key = Enroll(agent, "hist-01");
  Status removed = fleet_->RemoveNode("hist-01");
  if (removed.code() == StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << "the store cannot delete nodes yet: " << removed.message();
  }
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_FALSE(agent.channel->open());
  EXPECT_THAT(fleet_->OnlineNodes(), IsEmpty());

  Agent& stale = Connect();
  wire::Hello hello = HelloFor("hist-01");
  hello.node_key = old_key;
  stale.Say(hello);
  EXPECT_EQ(stale.last_error().code, wire::kNodeInvalid);

  const std::string new_key = Enroll(Connect(), "hist-01");
  EXPECT_NE(new_key, old_key);
}

// ---- messages after hello

TEST_F(FleetServiceTest, ResultsAreAckedAndABatchSentTwiceIsStoredOnce) {
  Agent& agent = Connect();
  Enroll(agent, "hist-01");
  const wire::Results batch{1,
                            {{wire::ResultItem::Kind::kVerdict, R"({"kind":"verdict","check":"a"})"},
                             {wire::ResultItem::Kind::kLog, R"({"kind":"log","name":"b"})"}}};
  agent.Say(batch);
  ASSERT_TRUE(std::holds_alternative<wire::Ack>(agent.last()));
  EXPECT_EQ(std::get<wire::Ack>(agent.last()).seq, 2u);
  agent.Say(batch);
  EXPECT_EQ(std::get<wire::Ack>(agent.last()).seq, 2u);

  std::vector<std::pair<uint64_t, std::string>> stored;
  ASSERT_TRUE(store_
                  ->ReadEvidence("hist-01", 0,
                                 [&](uint64_t seq, std::string_view json) {
                                   stored.emplace_back(seq, std::string(json));
                                   return true;
                                 })
                  .ok());
  EXPECT_THAT(stored, ElementsAre(std::pair<uint64_t, std::string>{1, batch.items[0].json},
                                  std::pair<uint64_t, std::string>{2, batch.items[1].json}));
  EXPECT_EQ(fleet_->metrics().evidence_items_stored.load(), 2u);
}

TEST_F(FleetServiceTest, MalformedMessageGetsTheCodecsErrorAndTheSessionStaysUsable) {
  Agent& agent = Connect();
  agent.Say("{not json");
  EXPECT_EQ(agent.last_error().code, wire::kMalformed);
  EXPECT_TRUE(agent.channel->open());
  Enroll(agent, "hist-01");  // hello still accepted after a malformed first frame

  agent.Say(R"({"type":"results","v":1,"seq":"one","items":[]})");
  wire::Error error = agent.last_error();
  EXPECT_EQ(error.code, wire::kMalformed);
  EXPECT_THAT(error.message, HasSubstr("\"seq\""));
  agent.Say(R"({"type":"bogus","v":1})");
  EXPECT_EQ(agent.last_error().code, wire::kUnknownType);
  EXPECT_TRUE(agent.channel->open());

  agent.Say(wire::Results{1, {{wire::ResultItem::Kind::kLog, R"({"kind":"log"})"}}});
  ASSERT_TRUE(std::holds_alternative<wire::Ack>(agent.last()));
  EXPECT_EQ(std::get<wire::Ack>(agent.last()).seq, 1u);
  EXPECT_EQ(fleet_->metrics().malformed_messages.load(), 3u);
}

TEST_F(FleetServiceTest, MessagesOverTheRateAreRefusedAndNotProcessed) {
  std::atomic<int64_t> now{1'795'539'720'000};
  FleetOptions options;
  options.max_messages_per_second = 5;
  options.clock = [&now] { return now.load(); };
  Open(std::move(options));

  Agent& agent = Connect();
  Enroll(agent, "hist-01");  // 1 message
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    agent.Say(wire::Results{seq, {{wire::ResultItem::Kind::kLog, R"({"kind":"log"})"}}});
    ASSERT_TRUE(std::holds_alternative<wire::Ack>(agent.last())) << seq;
  }
  agent.Say(wire::Results{5, {{wire::ResultItem::Kind::kLog, R"({"kind":"log"})"}}});
  EXPECT_EQ(agent.last_error().code, "rate_limited");
  EXPECT_EQ(store_->GetNode("hist-01").value()->acked_seq, 4u);  // not processed
  EXPECT_EQ(fleet_->metrics().rate_limited.load(), 1u);
  EXPECT_TRUE(agent.channel->open());

  now += 1000;  // a second later the bucket is full again
  agent.Say(wire::Results{5, {{wire::ResultItem::Kind::kLog, R"({"kind":"log"})"}}});
  ASSERT_TRUE(std::holds_alternative<wire::Ack>(agent.last()));
  EXPECT_EQ(std::get<wire::Ack>(agent.last()).seq, 5u);
}

// ---- the published config and tasks (the seams a ConfigService and a TaskService fill)

// A config "service" for the fleet's seams: version N gives every node except "plc-*" a config
// naming it, and the roles [historian] for "hist-*", [web] for the rest.
struct FakePublished {
  std::atomic<uint64_t> version{0};
  std::atomic<int> rendered{0};

  void Wire(FleetOptions& options) {
    options.config_version = [this] { return version.load(); };
    options.config_message = [this](std::string_view host, std::string_view)
        -> Result<std::optional<std::string>> {
      if (host.substr(0, 4) == "plc-") return std::optional<std::string>();
      ++rendered;
      const std::string v = std::to_string(version.load());
      wire::Config config;
      config.version = version.load();
      config.json = R"({"type":"config","v":1,"version":)" + v + R"(,"roles":[")" +
                    std::string(host) + R"("],"signature":"c2ln"})";
      return std::optional<std::string>(wire::Encode(config));
    };
    options.roles_for = [](std::string_view host, std::string_view) {
      return std::vector<std::string>{host.substr(0, 5) == "hist-" ? "historian" : "web"};
    };
  }
};

std::vector<uint64_t> ConfigVersions(const Agent& agent) {
  std::vector<uint64_t> out;
  for (const auto& m : agent.messages()) {
    if (auto* c = std::get_if<wire::Config>(&m)) out.push_back(c->version);
  }
  return out;
}

TEST_F(FleetServiceTest, NodesGetTheCurrentConfigOnHelloAndOnANewVersion) {
  FakePublished published;
  FleetOptions options;
  published.Wire(options);
  Open(std::move(options));

  // Nothing published: no config.
  Agent& a = Connect();
  Enroll(a, "hist-01");  // its hello says it runs version 3
  EXPECT_THAT(ConfigVersions(a), IsEmpty());

  // Version 3 is what the node runs: still nothing; version 4 goes to it at once.
  published.version = 3;
  EXPECT_EQ(fleet_->ConfigChanged(), 0u);
  published.version = 4;
  EXPECT_EQ(fleet_->ConfigChanged(), 1u);
  EXPECT_THAT(ConfigVersions(a), ElementsAre(4u));
  EXPECT_EQ(fleet_->ConfigChanged(), 0u);  // sent once per version
  EXPECT_EQ(fleet_->metrics().configs_sent.load(), 1u);

  // A node that connects later gets it right after its welcome; one no rule matches gets none.
  Agent& b = Connect();
  Enroll(b, "web-07");
  auto messages = b.messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<wire::Welcome>(messages[0]));
  EXPECT_THAT(ConfigVersions(b), ElementsAre(4u));
  Agent& plc = Connect();
  Enroll(plc, "plc-1");
  EXPECT_THAT(ConfigVersions(plc), IsEmpty());

  // The published roles win over the hello's, in the store and for role: targets.
  EXPECT_THAT(store_->GetNode("web-07").value()->roles, ElementsAre("web"));
  EXPECT_THAT(fleet_->StartCampaign(Spec("SELECT 1", "role:historian")).value().expected,
              ElementsAre("hist-01"));

  // An agent's refusal is counted.
  a.Say(wire::Error{"config_refused", "signature does not verify", "4"});
  EXPECT_EQ(fleet_->metrics().configs_refused.load(), 1u);
  EXPECT_TRUE(a.channel->open());
}

uint64_t StoredVersion(HubStore& store, const std::string& host) {
  auto node = store.GetNode(host);
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_TRUE(node.ok() && node.value().has_value()) << host << " is not stored";
  return node.ok() && node.value() ? node.value()->config_version : 0;
}

std::string StoredConfigError(HubStore& store, const std::string& host) {
  auto node = store.GetNode(host);
  return node.ok() && node.value() ? node.value()->config_error : "(not stored)";
}

TEST_F(FleetServiceTest, TheRecordShowsTheVersionTheNodeSaysItRunsNotTheOneSent) {
  FakePublished published;
  published.version = 4;
  FleetOptions options;
  published.Wire(options);
  Open(std::move(options));
  Agent& a = Connect();
  const std::string key = Enroll(a, "hist-01");  // runs 3, is sent 4 after its welcome
  ASSERT_THAT(ConfigVersions(a), ElementsAre(4u));

  // Sending is not adopting: the record keeps the hello's version until the node says more.
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 3u);
  EXPECT_EQ(fleet_->ConfigChanged(), 0u) << "version 4 was sent on this connection already";

  // The node adopted it.
  const size_t frames = a.channel->frames().size();
  a.Say(wire::ConfigStatus{4, ""});
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 4u);
  EXPECT_EQ(a.channel->frames().size(), frames) << "a config_status is not answered";
  EXPECT_THAT(log(), ::testing::Contains(HasSubstr("node 'hist-01' runs config 4")));

  // Version 5 is refused: the node says so and stays on 4, and so does its record.
  published.version = 5;
  EXPECT_EQ(fleet_->ConfigChanged(), 1u);
  a.Say(wire::Error{"config_refused", "config 5: the signature does not verify", "5"});
  a.Say(wire::ConfigStatus{4, "config 5: the signature does not verify"});
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 4u);
  EXPECT_EQ(StoredConfigError(*store_, "hist-01"), "config 5: the signature does not verify");
  EXPECT_EQ(fleet_->metrics().configs_refused.load(), 1u);
  // Not sent again on this connection (the node would refuse it again); a new one gets it.
  EXPECT_EQ(fleet_->ConfigChanged(), 0u);
  EXPECT_THAT(ConfigVersions(a), ElementsAre(4u, 5u));
  Agent& again = Connect();
  wire::Hello hello = HelloFor("hist-01");
  hello.node_key = key;
  hello.config_version = 4;
  again.Say(hello);
  EXPECT_THAT(ConfigVersions(again), ElementsAre(5u));
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 4u);
  EXPECT_EQ(StoredConfigError(*store_, "hist-01"), "config 5: the signature does not verify")
      << "a hello does not say whether the refusal still holds";

  // A node that runs the current version is not sent it again when it says so.
  again.Say(wire::ConfigStatus{5, ""});
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 5u);
  EXPECT_EQ(StoredConfigError(*store_, "hist-01"), "");
  published.version = 6;
  EXPECT_EQ(fleet_->ConfigChanged(), 1u);
  EXPECT_THAT(ConfigVersions(again), ElementsAre(5u, 6u));
}

TEST_F(FleetServiceTest, ConfigStatusOfAReplacedConnectionOrARemovedNodeChangesNothing) {
  Agent& first = Connect();
  const std::string key = Enroll(first, "hist-01");
  Agent& second = Connect();
  wire::Hello hello = HelloFor("hist-01");
  hello.node_key = key;
  hello.config_version = 6;
  second.Say(hello);
  ASSERT_FALSE(first.channel->open());

  // What the old connection says last is older than the new connection's hello.
  first.Say(wire::ConfigStatus{5, ""});
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 6u);
  second.Say(wire::ConfigStatus{7, ""});
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 7u);

  // A removed node is not written back by its connection's last words.
  Status removed = fleet_->RemoveNode("hist-01");
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  second.Say(wire::ConfigStatus{8, ""});
  auto node = store_->GetNode("hist-01");
  ASSERT_TRUE(node.ok());
  EXPECT_FALSE(node.value().has_value()) << "the removed node came back";
}

TEST_F(FleetServiceTest, MalformedConfigStatusIsRefusedAndChangesNothing) {
  Agent& agent = Connect();
  Enroll(agent, "hist-01");
  agent.Say(R"({"type":"config_status","v":1,"config_version":-4})");
  wire::Error error = agent.last_error();
  EXPECT_EQ(error.code, wire::kMalformed);
  EXPECT_THAT(error.message, HasSubstr("\"config_version\""));
  agent.Say(R"({"type":"config_status","v":1,"config_version":"4"})");
  EXPECT_EQ(agent.last_error().code, wire::kMalformed);
  EXPECT_TRUE(agent.channel->open());
  EXPECT_EQ(StoredVersion(*store_, "hist-01"), 3u);
  // Before a hello it is refused like anything else.
  Agent& early = Connect();
  early.Say(wire::ConfigStatus{4, ""});
  EXPECT_EQ(early.last_error().code, "hello_required");
}

TEST_F(FleetServiceTest, TaskFramesGoToOnlineNodesAndResultsComeBack) {
  std::mutex mu;
  std::vector<std::string> results, online;
  FleetOptions options;
  options.on_task_result = [&](std::string_view host, const wire::TaskResult& result) {
    std::lock_guard<std::mutex> lock(mu);
    results.push_back(std::string(host) + ":" + result.id + ":" + result.outcome);
  };
  options.on_online = [&](std::string_view host) {
    std::lock_guard<std::mutex> lock(mu);
    online.emplace_back(host);
  };
  Open(std::move(options));
  Agent& a = Connect();
  Enroll(a, "hist-01");
  EXPECT_THAT(online, ElementsAre("hist-01"));

  wire::Task task;
  task.id = "t_1";
  task.kind = wire::Task::Kind::kEnforce;
  task.check = "ssh-root-login";
  task.dry_run = true;
  ASSERT_TRUE(fleet_->SendToNode("hist-01", wire::Encode(task)).ok());
  ASSERT_TRUE(std::holds_alternative<wire::Task>(a.last()));
  EXPECT_EQ(std::get<wire::Task>(a.last()).id, "t_1");
  EXPECT_EQ(fleet_->SendToNode("hist-02", wire::Encode(task)).code(), StatusCode::kUnavailable);

  wire::TaskResult result;
  result.id = "t_1";
  result.outcome = "planned";
  a.Say(result);
  EXPECT_THAT(results, ElementsAre("hist-01:t_1:planned"));

  a.channel->RefuseSends();
  EXPECT_EQ(fleet_->SendToNode("hist-01", wire::Encode(task)).code(), StatusCode::kUnavailable);
}

// ---- campaigns

class CampaignTest : public FleetServiceTest {
 protected:
  void SetUp() override {
    FleetServiceTest::SetUp();
    web1_ = &Connect();
    Enroll(*web1_, "web-1", {"web"});
    web2_ = &Connect();
    Enroll(*web2_, "web-2", {"web"});
    db1_ = &Connect();
    Enroll(*db1_, "db-1", {"historian"});
  }

  // The answer each node gives: its own name and a number.
  void Answer(Agent& agent, const std::string& id, const std::string& host, int64_t uid) {
    agent.Say(Rows(id, {{Value(host), Value(uid)}, {Value("shared"), Value()}}));
  }

  Agent* web1_ = nullptr;
  Agent* web2_ = nullptr;
  Agent* db1_ = nullptr;
};

TEST_F(CampaignTest, QueryToAllGetsEachNodesRowsExactly) {
  CampaignRecord campaign = Start(Spec("SELECT name, uid FROM users", "all"));
  EXPECT_EQ(campaign.id, "q_1");
  EXPECT_THAT(campaign.expected, ElementsAre("db-1", "web-1", "web-2"));
  for (Agent* agent : {web1_, web2_, db1_}) {
    ASSERT_EQ(agent->queries().size(), 1u);
    EXPECT_EQ(agent->queries()[0], (wire::Query{"q_1", "SELECT name, uid FROM users", 10'000,
                                                10'000}));
  }
  EXPECT_EQ(TotalsOf(campaign.id), (CampaignTotals{3, 0, 0, 0}));

  Recorder recorder;
  auto watch = fleet_->WatchCampaign(campaign.id, recorder.observer());
  ASSERT_TRUE(watch.ok());
  Answer(*web1_, campaign.id, "web-1", 1);
  Answer(*db1_, campaign.id, "db-1", 3);
  Answer(*web2_, campaign.id, "web-2", 2);
  Answer(*web2_, campaign.id, "web-2", 99);  // a second answer is ignored

  EXPECT_EQ(TotalsOf(campaign.id), (CampaignTotals{3, 3, 0, 0}));
  EXPECT_THAT(recorder.answered_nodes(), ElementsAre("web-1", "db-1", "web-2"));
  auto answers = store_->Answers(campaign.id);
  ASSERT_TRUE(answers.ok());
  ASSERT_EQ(answers->size(), 3u);
  EXPECT_EQ((*answers)[0].host_identifier, "db-1");
  EXPECT_EQ((*answers)[0].rows_json, R"([["db-1",3],["shared",null]])");
  EXPECT_EQ((*answers)[1].rows_json, R"([["web-1",1],["shared",null]])");
  EXPECT_EQ((*answers)[2].rows_json, R"([["web-2",2],["shared",null]])");
  EXPECT_EQ((*answers)[2].columns, (std::vector<std::string>{"name", "uid"}));
  EXPECT_EQ((*answers)[2].rows, 2u);
  EXPECT_EQ(fleet_->metrics().answers_stored.load(), 3u);
  EXPECT_EQ(fleet_->metrics().answers_ignored.load(), 1u);

  // Every node answered: the campaign ends now, not at its deadline 30 s away.
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));
  auto stored = store_->GetCampaign(campaign.id);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_TRUE((*stored)->finished);

  // The events in order, each with the totals after it.
  std::vector<CampaignEvent> events = recorder.events();
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].kind, CampaignEvent::Kind::kTotals);
  EXPECT_EQ(events[0].totals, (CampaignTotals{3, 0, 0, 0}));
  EXPECT_EQ(events[3].answer.rows_json, R"([["web-2",2],["shared",null]])");
  EXPECT_EQ(events[3].totals, (CampaignTotals{3, 3, 0, 0}));
  EXPECT_EQ(events[4].kind, CampaignEvent::Kind::kTotals);
  EXPECT_EQ(events[5].kind, CampaignEvent::Kind::kDone);
  EXPECT_EQ(events[5].totals, (CampaignTotals{3, 3, 0, 0}));
}

TEST_F(CampaignTest, OfflineNodesWithoutAWaitDoNotHoldTheCampaignOpen) {
  db1_->Disconnect();
  CampaignRecord campaign = Start(Spec("SELECT 1", "all"));
  Recorder recorder;
  auto watch = fleet_->WatchCampaign(campaign.id, recorder.observer());
  ASSERT_TRUE(watch.ok());
  Answer(*web1_, campaign.id, "web-1", 1);
  Answer(*web2_, campaign.id, "web-2", 2);
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_EQ(recorder.events().back().totals, (CampaignTotals{3, 2, 0, 1}));
}

TEST_F(CampaignTest, TargetsByGlobRoleAndList) {
  EXPECT_THAT(Start(Spec("SELECT 1", "web-*")).expected,
              ElementsAre("web-1", "web-2"));
  EXPECT_THAT(Start(Spec("SELECT 1", "db-*.plant.example")).expected,
              ElementsAre("db-1"));  // hostnames match too
  EXPECT_THAT(Start(Spec("SELECT 1", "role:historian")).expected,
              ElementsAre("db-1"));
  EXPECT_THAT(Start(Spec("SELECT 1", " web-2 , db-1")).expected,
              ElementsAre("db-1", "web-2"));
  EXPECT_THAT(Start(Spec("SELECT 1", "role:web,db-?")).expected,
              ElementsAre("db-1", "web-1", "web-2"));
  // Nothing matched is a campaign of none, not an error.
  CampaignRecord none = Start(Spec("SELECT 1", "role:nobody"));
  EXPECT_THAT(none.expected, IsEmpty());
  EXPECT_EQ(TotalsOf(none.id), (CampaignTotals{}));
  EXPECT_THAT(Start(Spec("SELECT 1", "plc-*")).expected, IsEmpty());
  // Only the matched nodes got the queries.
  EXPECT_EQ(web1_->queries().size(), 2u);
  EXPECT_EQ(web2_->queries().size(), 3u);
  EXPECT_EQ(db1_->queries().size(), 4u);
}

TEST_F(CampaignTest, MalformedSpecsAreInvalidArguments) {
  const struct {
    CampaignSpec spec;
    std::string message;
  } cases[] = {
      {Spec("SELECT 1", "web-1,,db-1"), "item 2 is empty"},
      {Spec("SELECT 1", "role:"), "\"role:\" names no role"},
      {Spec("SELECT 1", ""), "campaign target is empty"},
      {Spec("  ", "all"), "the SQL is empty"},
      {NoTimeout(Spec("SELECT 1", "all")), "timeout_ms"},
  };
  for (const auto& c : cases) {
    auto campaign = fleet_->StartCampaign(c.spec);
    ASSERT_FALSE(campaign.ok()) << c.message;
    EXPECT_EQ(campaign.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(campaign.status().message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(web1_->queries().empty());
}

TEST_F(CampaignTest, CampaignOverTheSizeLimitIsRefused) {
  FleetOptions options;
  options.max_campaign_nodes = 2;
  Open(std::move(options));
  auto campaign = fleet_->StartCampaign(Spec("SELECT 1", "all"));
  ASSERT_FALSE(campaign.ok());
  EXPECT_EQ(campaign.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(campaign.status().message(), HasSubstr("3 nodes, more than the limit of 2"));
}

TEST_F(CampaignTest, ErrorAnswerCountsAsFailedAndStrayAnswersAreIgnored) {
  CampaignRecord campaign = Start(Spec("SELECT * FROM userz", "role:web"));
  wire::QueryResult failed;
  failed.id = campaign.id;
  failed.status = wire::QueryResult::Status::kError;
  failed.error = "no such table: userz";
  web1_->Say(failed);
  Answer(*db1_, campaign.id, "db-1", 3);  // db-1 was not asked
  Answer(*web2_, "q_404", "web-2", 2);    // no such campaign
  EXPECT_TRUE(db1_->channel->open());

  EXPECT_EQ(TotalsOf(campaign.id), (CampaignTotals{2, 0, 1, 0}));
  auto answers = store_->Answers(campaign.id).value();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, AnswerRecord::Status::kError);
  EXPECT_EQ(answers[0].error, "no such table: userz");
  EXPECT_EQ(fleet_->metrics().answers_ignored.load(), 2u);
}

TEST_F(CampaignTest, OfflineNodeIsCountedAndAnswersWhenItConnectsWithinTheWait) {
  // db-1 goes away; its key is the one its welcome gave.
  std::string db_key;
  for (const auto& m : db1_->messages()) {
    if (auto* w = std::get_if<wire::Welcome>(&m)) db_key = w->node_key.value_or("");
  }
  db1_->Disconnect();

  CampaignRecord waiting =
      Start(Spec("SELECT 1", "all", 10'000, 5'000));
  CampaignRecord not_waiting = Start(Spec("SELECT 2", "all"));
  EXPECT_EQ(TotalsOf(waiting.id), (CampaignTotals{3, 0, 0, 1}));
  EXPECT_EQ(TotalsOf(not_waiting.id), (CampaignTotals{3, 0, 0, 1}));
  Recorder recorder;
  auto watch = fleet_->WatchCampaign(waiting.id, recorder.observer());
  ASSERT_TRUE(watch.ok());

  Agent& back = Connect();
  wire::Hello hello = HelloFor("db-1", {"historian"});
  hello.node_key = db_key;
  back.Say(hello);
  // It gets the waiting campaign only.
  ASSERT_EQ(back.queries().size(), 1u);
  EXPECT_EQ(back.queries()[0].id, waiting.id);
  EXPECT_EQ(TotalsOf(waiting.id), (CampaignTotals{3, 0, 0, 0}));
  EXPECT_EQ(TotalsOf(not_waiting.id), (CampaignTotals{3, 0, 0, 1}));

  Answer(back, waiting.id, "db-1", 3);
  EXPECT_EQ(TotalsOf(waiting.id), (CampaignTotals{3, 1, 0, 0}));
  EXPECT_THAT(recorder.answered_nodes(), ElementsAre("db-1"));
  std::vector<CampaignEvent> events = recorder.events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].totals, (CampaignTotals{3, 0, 0, 1}));  // replayed on watching
  EXPECT_EQ(events[1].totals, (CampaignTotals{3, 0, 0, 0}));  // db-1 has it now
}

TEST_F(CampaignTest, FailedSendCountsTheNodeOffline) {
  web2_->channel->RefuseSends();
  CampaignRecord campaign = Start(Spec("SELECT 1", "role:web"));
  EXPECT_EQ(TotalsOf(campaign.id), (CampaignTotals{2, 0, 0, 1}));
  EXPECT_EQ(web1_->queries().size(), 1u);
}

TEST_F(CampaignTest, DeadlineFinishesTheCampaignAndWatchersGetDone) {
  CampaignRecord campaign = Start(Spec("SELECT 1", "all", 200));
  Recorder recorder;
  auto watch = fleet_->WatchCampaign(campaign.id, recorder.observer());
  ASSERT_TRUE(watch.ok());
  Answer(*web1_, campaign.id, "web-1", 1);
  ASSERT_TRUE(recorder.WaitDone());

  std::vector<CampaignEvent> events = recorder.events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[events.size() - 2].kind, CampaignEvent::Kind::kTotals);
  // Nodes that had the query and never answered count as offline once it is over.
  EXPECT_EQ(events.back().totals, (CampaignTotals{3, 1, 0, 2}));
  EXPECT_TRUE(store_->GetCampaign(campaign.id).value()->finished);
  EXPECT_EQ(TotalsOf(campaign.id), (CampaignTotals{3, 1, 0, 2}));

  // Too late: ignored, and not stored.
  Answer(*web2_, campaign.id, "web-2", 2);
  EXPECT_EQ(store_->Answers(campaign.id).value().size(), 1u);
  EXPECT_EQ(fleet_->metrics().answers_ignored.load(), 1u);

  // Watching a finished campaign replays it, done last, before WatchCampaign returns.
  Recorder late;
  auto replay = fleet_->WatchCampaign(campaign.id, late.observer());
  ASSERT_TRUE(replay.ok());
  events = late.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, CampaignEvent::Kind::kAnswer);
  EXPECT_EQ(events[0].answer.rows_json, R"([["web-1",1],["shared",null]])");
  EXPECT_EQ(events[1].kind, CampaignEvent::Kind::kTotals);
  EXPECT_EQ(events[2].kind, CampaignEvent::Kind::kDone);
  EXPECT_EQ(events[2].totals, (CampaignTotals{3, 1, 0, 2}));

  EXPECT_EQ(fleet_->WatchCampaign("q_404", late.observer()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(fleet_->Totals("q_404").status().code(), StatusCode::kNotFound);
}

TEST_F(CampaignTest, ADroppedWatchIsNotCalledAgain) {
  CampaignRecord campaign = Start(Spec("SELECT 1", "all"));
  Recorder recorder;
  auto watch = fleet_->WatchCampaign(campaign.id, recorder.observer());
  ASSERT_TRUE(watch.ok());
  Answer(*web1_, campaign.id, "web-1", 1);
  const size_t seen = recorder.events().size();
  watch.value().reset();
  Answer(*web2_, campaign.id, "web-2", 2);
  EXPECT_EQ(recorder.events().size(), seen);
}

TEST_F(CampaignTest, ARestartFinishesPastDeadlineCampaignsAndResumesTheOthers) {
  std::atomic<int64_t> now{1'795'539'720'000};
  FleetOptions options;
  options.clock = [&now] { return now.load(); };
  Open(options);
  // The agents of SetUp went with the old service; two new nodes, b offline.
  Agent& a = Connect();
  Enroll(a, "a-new");
  Agent& b = Connect();
  const std::string b_key = Enroll(b, "b-new");
  b.Disconnect();
  CampaignRecord short_one = Start(Spec("SELECT 1", "*-new", 1'000));
  CampaignRecord long_one =
      Start(Spec("SELECT 2", "*-new", 60'000, 60'000));
  Answer(a, long_one.id, "a-new", 1);
  EXPECT_EQ(TotalsOf(long_one.id), (CampaignTotals{2, 1, 0, 1}));

  now += 2'000;  // the hub is down while the short campaign's deadline passes
  Open(options);
  EXPECT_TRUE(store_->GetCampaign(short_one.id).value()->finished);
  EXPECT_EQ(TotalsOf(short_one.id), (CampaignTotals{2, 0, 0, 2}));
  EXPECT_FALSE(store_->GetCampaign(long_one.id).value()->finished);
  EXPECT_EQ(TotalsOf(long_one.id), (CampaignTotals{2, 1, 0, 1}));

  // b-new comes back within the wait and gets the resumed campaign, not the finished one.
  Agent& back = Connect();
  wire::Hello hello = HelloFor("b-new");
  hello.node_key = b_key;
  back.Say(hello);
  ASSERT_EQ(back.queries().size(), 1u);
  EXPECT_EQ(back.queries()[0].id, long_one.id);
  Answer(back, long_one.id, "b-new", 2);
  EXPECT_EQ(TotalsOf(long_one.id), (CampaignTotals{2, 2, 0, 0}));

  // Every node answered: it ends without waiting for its deadline (the timer stores it
  // finished, by the clock it was given).
  Recorder recorder;
  auto watch = fleet_->WatchCampaign(long_one.id, recorder.observer());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(recorder.WaitDone());
  const auto end = std::chrono::steady_clock::now() + kBoundedWait;
  while (!store_->GetCampaign(long_one.id).value()->finished &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(store_->GetCampaign(long_one.id).value()->finished);
  EXPECT_LE(store_->GetCampaign(long_one.id).value()->deadline, now.load());
}

}  // namespace
}  // namespace vigil::server
