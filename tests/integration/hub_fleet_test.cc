// The fleet end to end, every part real: a vigil-hub on 127.0.0.1 with its self-signed
// certificate, three `vigil daemon --hub` agents with their own host identifiers, fixture roots
// and roles, and vigilctl as an analyst uses it. Enrollment (a wrong secret refused), live
// queries to all, by glob and by role with the exact rows each node has, a bad statement
// answered as per-node errors, an offline node counted and later answering with --wait, roles
// enforced, a hub restart that loses nothing, the config version each node runs (adopted or a
// refused one), and malformed and oversized frames that harm no other agent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/net/client.h"
#include "tests/testing/background.h"
#include "tests/testing/hub_process.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::BackgroundProcess;
using testing::Eventually;
using testing::LineValue;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;

constexpr auto kLong = std::chrono::seconds(60);

struct Agent {
  std::string id;
  std::string fixture;  // under tests/fixtures/hosts
  std::string role;
  std::string hostname;  // what the fixture's /etc/hostname says
};

// node-a and node-b are historians, node-c a jump host; their fixture roots differ.
const std::vector<Agent> kAgents = {
    {"node-a", "iec-weak", "historian", "hist02"},
    {"node-b", "iec-hardened", "historian", "hist02"},
    {"node-c", "debian12", "jump", "historian01"},
};

std::map<std::string, std::vector<std::string>> RowsByNode(const rapidjson::Value& stored) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& node : stored["nodes"].GetArray()) {
    std::vector<std::string>& rows = out[node["node"].GetString()];
    if (std::string(node["status"].GetString()) != "ok") {
      rows.push_back(std::string("error: ") + node["error"].GetString());
      continue;
    }
    for (const auto& row : node["rows"].GetArray()) {
      std::string line;
      for (const auto& cell : row.GetArray()) {
        if (!line.empty()) line += "|";
        line += cell.IsString() ? cell.GetString() : cell.IsNull() ? "NULL" : "?";
      }
      rows.push_back(line);
    }
  }
  return out;
}

class HubFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_dir_ = dir_.path() + "/hub";
    // The first admin is made on the hub host before the hub runs.
    admin_ = MakeToken("admin");
    analyst_ = MakeToken("analyst");
    viewer_ = MakeToken("viewer");
    StartHub("127.0.0.1:0");
    PublishRoles();
    for (const Agent& agent : kAgents) StartAgent(agent, secret_file_);
    ASSERT_TRUE(Eventually([&] { return OnlineNodes().size() == kAgents.size(); }, kLong))
        << Logs();
  }

  std::string MakeToken(const std::string& role) {
    ProcessResult made = RunProcess({VIGIL_HUB_BIN, "token", "create", "--role", role, "--name",
                                     role + "-person", "--state-dir", hub_dir_});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return LineValue(made.out, "token");
  }

  void StartHub(const std::string& listen) {
    hub_.reset();
    hub_ = std::make_unique<testing::HubProcess>(
        VIGIL_HUB_BIN, dir_.path(),
        std::vector<std::string>{"--listen", listen, "--state-dir", hub_dir_});
    ASSERT_TRUE(hub_->WaitListening()) << hub_->err();
    url_ = hub_->url();
    fingerprint_ = hub_->fingerprint();
    secret_file_ = hub_->enroll_secret_file();
    ASSERT_FALSE(fingerprint_.empty());
    ASSERT_FALSE(secret_file_.empty());
  }

  // The roles of kAgents, published as the fleet config (no packs: these tests ask live
  // questions only). An agent gets its roles when it connects.
  void PublishRoles() {
    const std::string fleet = dir_.path() + "/fleet";
    fs::create_directories(fleet);
    std::ofstream(fleet + "/fleet.yaml") << R"(nodes:
  - match: "node-[ab]"
    roles: [historian]
  - match: "*"
    roles: [jump]
roles:
  historian:
    packs: []
  jump:
    packs: []
)";
    ProcessResult published = Ctl({"config", "publish", fleet}, admin_);
    ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  }

  void StartAgent(const Agent& agent, const std::string& secret_file) {
    const std::string root = dir_.path() + "/roots/" + agent.id;
    if (!fs::exists(root)) {
      // cp -a: the fixtures hold symlinks that point nowhere on this machine, as on a real host.
      fs::create_directories(dir_.path() + "/roots");
      ProcessResult copied = RunProcess(
          {"/bin/cp", "-a", std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/hosts/" + agent.fixture,
           root});
      ASSERT_EQ(copied.exit_code, 0) << copied.err;
    }
    agents_[agent.id] = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{VIGIL_BIN, "daemon", "--state-dir",
                                 dir_.path() + "/state/" + agent.id, "--root", root,
                                 "--host-identifier", agent.id, "--cycle", "2s",
                                 "--disable-extensions", "--hub", url_, "--hub-fingerprint",
                                 fingerprint_, "--enroll-secret-file", secret_file},
        "", dir_.path() + "/" + agent.id + ".log");
  }

  ProcessResult Ctl(std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), {VIGILCTL_BIN, "--hub", url_, "--hub-fingerprint", fingerprint_,
                               "--token", token});
    return RunProcess(args, "", std::chrono::seconds(120));
  }

  // Each node's config_version as `vigilctl nodes --json` (GET /api/v1/nodes) shows it.
  std::map<std::string, uint64_t> ConfigVersions() {
    ProcessResult nodes = Ctl({"nodes", "--json"}, viewer_);
    std::map<std::string, uint64_t> versions;
    rapidjson::Document doc;
    doc.Parse(nodes.out.c_str());
    if (nodes.exit_code != 0 || !doc.IsArray()) return versions;
    for (const auto& node : doc.GetArray()) {
      versions[node["host_identifier"].GetString()] = node["config_version"].GetUint64();
    }
    return versions;
  }

  std::set<std::string> OnlineNodes() {
    ProcessResult nodes = Ctl({"nodes", "--json"}, viewer_);
    std::set<std::string> online;
    rapidjson::Document doc;
    doc.Parse(nodes.out.c_str());
    if (nodes.exit_code != 0 || !doc.IsArray()) return online;
    for (const auto& node : doc.GetArray()) {
      if (node["online"].GetBool()) online.insert(node["host_identifier"].GetString());
    }
    return online;
  }

  // `vigilctl query ... --json`: the stored campaign, parsed.
  rapidjson::Document Query(const std::string& sql, std::vector<std::string> more,
                            int expect_exit) {
    std::vector<std::string> args = {"query", sql, "--json", "--deadline", "20s"};
    args.insert(args.end(), more.begin(), more.end());
    ProcessResult ran = Ctl(args, analyst_);
    EXPECT_EQ(ran.exit_code, expect_exit) << ran.err << Logs();
    rapidjson::Document doc;
    doc.Parse(ran.out.c_str());
    EXPECT_TRUE(doc.IsObject() && doc.HasMember("nodes")) << ran.out << ran.err;
    if (!doc.IsObject() || !doc.HasMember("nodes")) doc.Parse(R"({"nodes":[],"totals":{}})");
    return doc;
  }

  std::string Logs() {
    std::string all = "\n--- hub\n" + (hub_ ? hub_->err() : "");
    for (const Agent& agent : kAgents) {
      all += "--- " + agent.id + "\n" + ReadFile(dir_.path() + "/" + agent.id + ".log");
    }
    return all;
  }

  TempDir dir_;
  std::string hub_dir_;
  std::string admin_, analyst_, viewer_;
  std::string url_, fingerprint_, secret_file_;
  std::unique_ptr<testing::HubProcess> hub_;
  std::map<std::string, std::unique_ptr<BackgroundProcess>> agents_;
};

const char* kHostnameSql = "SELECT hostname FROM system_info";
const char* kRootLoginSql =
    "SELECT value FROM sshd_config WHERE keyword = 'permitrootlogin' AND file IS NOT NULL";

TEST_F(HubFleetTest, QueryToAllReturnsEachNodesOwnRows) {
  rapidjson::Document all = Query(kHostnameSql, {}, 0);
  EXPECT_EQ(RowsByNode(all), (std::map<std::string, std::vector<std::string>>{
                                 {"node-a", {"hist02"}},
                                 {"node-b", {"hist02"}},
                                 {"node-c", {"historian01"}}}));
  EXPECT_EQ(all["totals"]["expected"].GetUint64(), 3u);
  EXPECT_EQ(all["totals"]["answered"].GetUint64(), 3u);

  rapidjson::Document root_login = Query(kRootLoginSql, {}, 0);
  EXPECT_EQ(RowsByNode(root_login), (std::map<std::string, std::vector<std::string>>{
                                        {"node-a", {"yes"}},
                                        {"node-b", {"no"}},
                                        {"node-c", {"no"}}}));  // set by a drop-in
}

TEST_F(HubFleetTest, TargetsByGlobListAndRole) {
  using Rows = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {"--target", "node-c"}, 0)),
            (Rows{{"node-c", {"historian01"}}}));
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {"--target", "node-[ab]"}, 0)),
            (Rows{{"node-a", {"hist02"}}, {"node-b", {"hist02"}}}));
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {"--target", "node-a,node-c"}, 0)),
            (Rows{{"node-a", {"hist02"}}, {"node-c", {"historian01"}}}));
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {"--target", "role:historian"}, 0)),
            (Rows{{"node-a", {"hist02"}}, {"node-b", {"hist02"}}}));
  rapidjson::Document none = Query(kHostnameSql, {"--target", "role:nobody"}, 0);
  EXPECT_EQ(none["totals"]["expected"].GetUint64(), 0u);
}

TEST_F(HubFleetTest, BadStatementIsAnErrorPerNodeAndTheAgentsStayConnected) {
  rapidjson::Document bad = Query("SELECT nope FROM no_such_table", {}, 1);
  auto rows = RowsByNode(bad);
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& [node, lines] : rows) {
    ASSERT_EQ(lines.size(), 1u) << node;
    EXPECT_THAT(lines[0], HasSubstr("no_such_table")) << node;
  }
  EXPECT_EQ(bad["totals"]["failed"].GetUint64(), 3u);
  // A write is refused by each node's read-only engine, also as an error.
  rapidjson::Document write = Query("DELETE FROM users", {}, 1);
  EXPECT_EQ(write["totals"]["failed"].GetUint64(), 3u);
  EXPECT_EQ(OnlineNodes().size(), 3u);
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {}, 0)).size(), 3u);
}

TEST_F(HubFleetTest, OfflineNodeIsCountedAndAnswersWithWaitWhenItReturns) {
  ASSERT_EQ(agents_["node-c"]->Terminate(), 0);
  ASSERT_TRUE(Eventually([&] { return OnlineNodes().size() == 2; }, kLong)) << Logs();

  rapidjson::Document without = Query(kHostnameSql, {"--deadline", "3s"}, 1);
  EXPECT_EQ(without["totals"]["expected"].GetUint64(), 3u);
  EXPECT_EQ(without["totals"]["answered"].GetUint64(), 2u);
  EXPECT_EQ(without["totals"]["offline"].GetUint64(), 1u);

  // vigilctl waits; node-c comes back meanwhile and gets the query on connecting.
  const std::string out = dir_.path() + "/wait.out";
  BackgroundProcess waiting({VIGILCTL_BIN, "--hub", url_, "--hub-fingerprint", fingerprint_,
                             "--token", analyst_, "query", kHostnameSql, "--json", "--wait",
                             "60s"},
                            out, dir_.path() + "/wait.err");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  StartAgent(kAgents[2], secret_file_);
  ASSERT_EQ(waiting.Wait(kLong), 0) << ReadFile(dir_.path() + "/wait.err") << Logs();
  rapidjson::Document waited;
  waited.Parse(ReadFile(out).c_str());
  ASSERT_TRUE(waited.IsObject()) << ReadFile(out);
  EXPECT_EQ(RowsByNode(waited), (std::map<std::string, std::vector<std::string>>{
                                    {"node-a", {"hist02"}},
                                    {"node-b", {"hist02"}},
                                    {"node-c", {"historian01"}}}));
}

TEST_F(HubFleetTest, WrongEnrollSecretIsRefusedAndLogged) {
  const std::string wrong = dir_.path() + "/wrong_secret";
  std::ofstream(wrong) << "vge_not-the-secret\n";
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write);
  StartAgent({"intruder", "debian12", "jump", "historian01"}, wrong);
  ASSERT_TRUE(Eventually(
      [&] { return hub_->err().find("intruder") != std::string::npos; },
      kLong))
      << Logs();
  EXPECT_THAT(ReadFile(dir_.path() + "/intruder.log"), HasSubstr("enroll"));
  ProcessResult nodes = Ctl({"nodes", "--json"}, viewer_);
  EXPECT_THAT(nodes.out, ::testing::Not(HasSubstr("intruder")));
}

TEST_F(HubFleetTest, RolesDecideWhoMayDoWhat) {
  ProcessResult viewer_query = Ctl({"query", kHostnameSql}, viewer_);
  EXPECT_EQ(viewer_query.exit_code, 1);
  EXPECT_THAT(viewer_query.err, HasSubstr("403"));
  EXPECT_THAT(viewer_query.err, HasSubstr("analyst"));
  ProcessResult analyst_tokens = Ctl({"tokens", "list"}, analyst_);
  EXPECT_EQ(analyst_tokens.exit_code, 1);
  EXPECT_THAT(analyst_tokens.err, HasSubstr("403"));
  ProcessResult bad = Ctl({"nodes"}, "vgt_0000");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("401"));
  EXPECT_EQ(Ctl({"tokens", "list"}, admin_).exit_code, 0);
}

TEST_F(HubFleetTest, HubRestartLosesNothingAndAgentsReconnect) {
  rapidjson::Document before = Query(kHostnameSql, {}, 0);
  const std::string campaign = before["campaign"]["id"].GetString();
  const std::string port = url_.substr(url_.rfind(':') + 1);
  ASSERT_EQ(hub_->Terminate(), 0);
  StartHub("127.0.0.1:" + port);

  // The same tokens work, the nodes are known, the stored answers are there, the chain holds.
  ProcessResult results = Ctl({"results", campaign, "--json"}, analyst_);
  ASSERT_EQ(results.exit_code, 0) << results.err;
  rapidjson::Document stored;
  stored.Parse(results.out.c_str());
  EXPECT_EQ(RowsByNode(stored), RowsByNode(before));
  ProcessResult audit = Ctl({"audit", "verify"}, admin_);
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  // The agents come back by themselves (backoff with jitter) and answer again.
  ASSERT_TRUE(Eventually([&] { return OnlineNodes().size() == 3; }, kLong)) << Logs();
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {}, 0)).size(), 3u);
}

// The hub shows the version each node runs as the node says it, not the one it was sent.
TEST_F(HubFleetTest, NodesShowTheConfigVersionTheyRunAdoptedOrRefused) {
  // Version 1 was published before the agents started: each said hello with none, was sent 1,
  // adopted it and told the hub on the same connection.
  using Versions = std::map<std::string, uint64_t>;
  const Versions all_one = {{"node-a", 1}, {"node-b", 1}, {"node-c", 1}};
  ASSERT_TRUE(Eventually([&] { return ConfigVersions() == all_one; }, kLong)) << Logs();
  for (const Agent& agent : kAgents) {
    EXPECT_THAT(hub_->err(), HasSubstr("node '" + agent.id + "' runs config 1")) << Logs();
  }
  // The table's last two columns are the version and the refusal (none).
  ProcessResult table = Ctl({"nodes"}, viewer_);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  EXPECT_THAT(line, ::testing::EndsWith("|config|config_error")) << table.out;
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    EXPECT_THAT(line, ::testing::EndsWith("|1|")) << line;
  }
  EXPECT_EQ(rows, 3) << table.out;

  // The hub's signing key replaced while it was stopped: version 2 is signed by a key no agent
  // pinned, so every agent refuses it and stays on 1, and the hub shows 1.
  const std::string port = url_.substr(url_.rfind(':') + 1);
  ASSERT_EQ(hub_->Terminate(), 0);
  const std::string key = hub_dir_ + "/signing/ed25519.pem";
  ASSERT_TRUE(fs::exists(key));
  fs::remove(key);
  ProcessResult made = RunProcess({"openssl", "genpkey", "-algorithm", "ed25519", "-out", key});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  StartHub("127.0.0.1:" + port);
  std::ofstream(dir_.path() + "/fleet/fleet.yaml", std::ios::app) << "    vars: {}\n";
  ProcessResult published = Ctl({"config", "publish", dir_.path() + "/fleet"}, admin_);
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  ASSERT_THAT(published.out, HasSubstr("version 2"));
  for (const Agent& agent : kAgents) {
    EXPECT_TRUE(Eventually(
        [&] {
          return ReadFile(dir_.path() + "/" + agent.id + ".log")
                     .find("refused a config from hub " + url_ + ": config 2:") !=
                 std::string::npos;
        },
        kLong))
        << agent.id << Logs();
  }
  ASSERT_TRUE(Eventually([&] { return OnlineNodes().size() == kAgents.size(); }, kLong)) << Logs();
  EXPECT_EQ(ConfigVersions(), all_one) << Logs();
  // And the hub says why, for each node.
  ASSERT_TRUE(Eventually(
      [&] {
        ProcessResult nodes = Ctl({"nodes", "--json"}, viewer_);
        rapidjson::Document doc;
        doc.Parse(nodes.out.c_str());
        if (nodes.exit_code != 0 || !doc.IsArray() || doc.Size() != kAgents.size()) return false;
        for (const auto& node : doc.GetArray()) {
          if (std::string(node["config_error"].GetString()).rfind("config 2:", 0) != 0) {
            return false;
          }
        }
        return true;
      },
      kLong))
      << Ctl({"nodes", "--json"}, viewer_).out << Logs();
  EXPECT_THAT(Ctl({"nodes"}, viewer_).out, HasSubstr("config 2:"));
}

TEST_F(HubFleetTest, MalformedAndOversizedFramesHarmNoOtherAgent) {
  agent::net::ClientOptions options;
  options.url = url_;
  options.tls.pinned_sha256 = fingerprint_;
  auto rogue = agent::net::WebSocketClient::Connect(options, "/api/v1/agent", {});
  ASSERT_TRUE(rogue.ok()) << rogue.status().message();
  ASSERT_TRUE((*rogue)->Send("{not json").ok());
  auto answer = (*rogue)->Receive(std::chrono::seconds(10));
  ASSERT_TRUE(answer.ok() && *answer) << (answer.ok() ? "timeout" : answer.status().message());
  EXPECT_THAT(**answer, HasSubstr("malformed"));
  // Over the hub's 4 MiB frame limit: that connection is closed, nobody else's.
  (void)(*rogue)->Send(std::string(5u << 20, 'x'));
  EXPECT_EQ(RowsByNode(Query(kHostnameSql, {}, 0)).size(), 3u);
  EXPECT_EQ(OnlineNodes().size(), 3u);
}

}  // namespace
}  // namespace vigil
