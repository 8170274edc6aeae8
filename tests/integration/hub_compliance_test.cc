// Fleet compliance end to end, every part real: a vigil-hub, three `vigil daemon --hub` agents on
// a weak, a hardened and a mixed fixture root, and vigilctl. The IEC 62443 role is published for
// every node; the fleet report must say, SR by SR, what `vigil check` says on each node's own
// root; a publish with a bad statement is rejected and the old version stays; remediation in
// dry-run changes nothing and for real turns the weak node's failure into a pass in the report;
// a config signed by another key is refused by every agent; a silent node goes stale.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

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

constexpr auto kLong = std::chrono::seconds(90);
constexpr char kCycle[] = "3s";
constexpr int kCycleMs = 3000;

struct Node {
  std::string id;
  std::string fixture;  // under tests/fixtures/hosts
};

// node-mixed is the hardened host with the weak host's SSH server settings.
const std::vector<Node> kNodes = {
    {"node-weak", "iec-weak"}, {"node-hard", "iec-hardened"}, {"node-mixed", "iec-hardened"}};

constexpr char kFleetYaml[] = R"(nodes:
  - match: "node-*"
    roles: [iec62443]
roles:
  iec62443:
    packs: [iec62443]
    enforce: off
    target_sl: 2
)";

rapidjson::Document Parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

class HubComplianceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_dir_ = dir_.path() + "/hub";
    admin_ = MakeToken("admin");
    operator_ = MakeToken("operator");
    viewer_ = MakeToken("viewer");
    StartHub("127.0.0.1:0");
    fs::create_directories(dir_.path() + "/fleet");
    std::ofstream(dir_.path() + "/fleet/fleet.yaml") << kFleetYaml;
    ProcessResult published = Ctl({"config", "publish", dir_.path() + "/fleet"}, admin_);
    ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
    EXPECT_THAT(published.out, HasSubstr("version 1"));
    for (const Node& node : kNodes) {
      MakeRoot(node);
      StartAgent(node);
    }
  }

  std::string MakeToken(const std::string& role) {
    ProcessResult made = RunProcess({VIGIL_HUB_BIN, "token", "create", "--role", role,
                                     "--state-dir", hub_dir_});
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
  }

  std::string Root(const std::string& id) const { return dir_.path() + "/roots/" + id; }

  void MakeRoot(const Node& node) {
    fs::create_directories(dir_.path() + "/roots");
    const std::string fixtures = std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/hosts/";
    // cp -a: the fixtures hold symlinks that point nowhere on this machine, as on a real host.
    ProcessResult copied = RunProcess({"/bin/cp", "-a", fixtures + node.fixture, Root(node.id)});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    if (node.id == "node-mixed") {
      fs::copy_file(fixtures + "iec-weak/etc/ssh/sshd_config", Root(node.id) + "/etc/ssh/sshd_config",
                    fs::copy_options::overwrite_existing);
    }
  }

  void StartAgent(const Node& node) {
    agents_[node.id] = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{VIGIL_BIN, "daemon", "--state-dir",
                                 dir_.path() + "/state/" + node.id, "--root", Root(node.id),
                                 "--host-identifier", node.id, "--cycle", kCycle,
                                 "--disable-extensions", "--hub", url_, "--hub-fingerprint",
                                 fingerprint_, "--enroll-secret-file",
                                 hub_->enroll_secret_file()},
        "", dir_.path() + "/" + node.id + ".log");
  }

  ProcessResult Ctl(std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), {VIGILCTL_BIN, "--hub", url_, "--hub-fingerprint", fingerprint_,
                               "--token", token});
    return RunProcess(args, "", std::chrono::seconds(120));
  }

  rapidjson::Document Report() {
    ProcessResult report = Ctl({"report", "iec62443", "--format", "json"}, viewer_);
    EXPECT_EQ(report.exit_code, 0) << report.err;
    return Parse(report.out);
  }

  // The report's node, or null.
  static const rapidjson::Value* NodeIn(const rapidjson::Document& report, const std::string& id) {
    if (!report.IsObject() || !report.HasMember("nodes")) return nullptr;
    for (const auto& node : report["nodes"].GetArray()) {
      if (node["identifier"].GetString() == id) return &node;
    }
    return nullptr;
  }

  static int CheckCount(const rapidjson::Value& node) {
    int total = 0;
    for (const auto& m : node["checks"].GetObject()) total += m.value.GetInt();
    return total;
  }

  static std::vector<std::string> FailingChecks(const rapidjson::Value& node) {
    std::vector<std::string> out;
    for (const auto& c : node["failing_checks"].GetArray()) out.emplace_back(c.GetString());
    return out;
  }

  // What `vigil check iec62443` says of a root: SR id -> status, and the number of checks.
  std::pair<std::map<std::string, std::string>, int> OwnCheck(const std::string& root) {
    ProcessResult check = RunProcess(
        {VIGIL_BIN, "check", "iec62443", "--root", root, "--format", "json"}, "",
        std::chrono::seconds(120));
    rapidjson::Document doc = Parse(check.out);
    std::map<std::string, std::string> srs;
    EXPECT_TRUE(doc.IsObject() && doc.HasMember("srs")) << check.out << check.err;
    if (!doc.IsObject() || !doc.HasMember("srs")) return {srs, 0};
    for (const auto& sr : doc["srs"].GetArray()) srs[sr["id"].GetString()] = sr["status"].GetString();
    return {srs, static_cast<int>(doc["checks"].GetArray().Size())};
  }

  // Until every node's evidence has `checks` verdicts in the report.
  bool WaitForEvidence(int checks) {
    return Eventually(
        [&] {
          rapidjson::Document report = Report();
          evidence_seen_.clear();
          bool all = true;
          for (const Node& node : kNodes) {
            const rapidjson::Value* n = NodeIn(report, node.id);
            const int count = n == nullptr ? -1 : CheckCount(*n);
            evidence_seen_ += node.id + ": " + std::to_string(count) + " of " +
                              std::to_string(checks) + " verdicts\n";
            all = all && count == checks;
          }
          return all;
        },
        kLong);
  }

  // `SELECT ... FROM vigil_agent` on one node, as "a|b|c".
  std::string AgentStatus(const std::string& node, const std::string& columns) {
    ProcessResult ran = Ctl({"query", "SELECT " + columns + " FROM vigil_agent", "--target", node,
                             "--json", "--deadline", "20s"},
                            admin_);
    rapidjson::Document doc = Parse(ran.out);
    if (!doc.IsObject() || !doc.HasMember("nodes") || doc["nodes"].Empty()) return "?";
    const auto& answer = doc["nodes"][0];
    if (std::string(answer["status"].GetString()) != "ok" || answer["rows"].Empty()) return "?";
    std::string line;
    for (const auto& cell : answer["rows"][0].GetArray()) {
      if (!line.empty()) line += "|";
      line += cell.IsString() ? cell.GetString() : cell.IsInt64() ? std::to_string(cell.GetInt64())
                                                                   : "?";
    }
    return line;
  }

  std::string Logs() {
    std::string all = "\n" + evidence_seen_ + "--- hub\n" + (hub_ ? hub_->err() : "");
    for (const Node& node : kNodes) {
      all += "--- " + node.id + "\n" + ReadFile(dir_.path() + "/" + node.id + ".log");
    }
    return all;
  }

  TempDir dir_;
  std::string hub_dir_;
  std::string admin_, operator_, viewer_;
  std::string url_, fingerprint_;
  std::string evidence_seen_;  // what WaitForEvidence saw last
  std::unique_ptr<testing::HubProcess> hub_;
  std::map<std::string, std::unique_ptr<BackgroundProcess>> agents_;
};

TEST_F(HubComplianceTest, TheFleetReportSaysWhatEachNodesOwnCheckSays) {
  const auto [weak, checks] = OwnCheck(Root("node-weak"));
  const auto hard = OwnCheck(Root("node-hard")).first;
  const auto mixed = OwnCheck(Root("node-mixed")).first;
  ASSERT_GT(checks, 40);
  ASSERT_TRUE(WaitForEvidence(checks)) << Logs();

  rapidjson::Document report = Report();
  const std::map<std::string, const std::map<std::string, std::string>*> own = {
      {"node-weak", &weak}, {"node-hard", &hard}, {"node-mixed", &mixed}};
  for (const auto& [id, srs] : own) {
    const rapidjson::Value* node = NodeIn(report, id);
    ASSERT_NE(node, nullptr) << id;
    EXPECT_FALSE((*node)["stale"].GetBool()) << id;
    int decided = 0;
    for (const auto& [sr, status] : *srs) {
      if (status != "pass" && status != "fail" && status != "error") continue;
      ++decided;
      ASSERT_TRUE((*node)["sr_status"].HasMember(sr.c_str())) << id << " " << sr;
      EXPECT_EQ((*node)["sr_status"][sr.c_str()].GetString(), status) << id << " " << sr;
    }
    EXPECT_GT(decided, 30) << id;
  }
  // The fixtures differ where they should: SSH settings fail on the weak and the mixed node.
  EXPECT_EQ(weak.at("SR 1.1"), "fail");
  EXPECT_NE(mixed, hard);
  EXPECT_NE(weak, mixed);

  // Each agent runs version 1 from the hub.
  for (const Node& node : kNodes) {
    EXPECT_EQ(AgentStatus(node.id, "config_version, config_source, config_error"), "1|hub|")
        << node.id;
  }
}

TEST_F(HubComplianceTest, ABadPublishIsRejectedAndTheCurrentVersionStays) {
  const std::string bad = dir_.path() + "/bad";
  fs::create_directories(bad + "/packs");
  std::ofstream(bad + "/fleet.yaml") << R"(nodes:
  - match: "*"
    roles: [site]
roles:
  site:
    packs: [packs/site.json]
)";
  std::ofstream(bad + "/packs/site.json") << R"({"name": "site", "checks": {
  "no-such": {"sr": ["SR 1.1"], "sl": 1, "description": "d",
              "query": "SELECT nope FROM no_such_table"}}})";
  ProcessResult rejected = Ctl({"config", "publish", bad}, admin_);
  EXPECT_EQ(rejected.exit_code, 1) << rejected.out << rejected.err;
  EXPECT_THAT(rejected.out + rejected.err, HasSubstr("no_such_table"));
  ProcessResult history = Ctl({"config", "history", "--json"}, admin_);
  rapidjson::Document versions = Parse(history.out);
  ASSERT_TRUE(versions.IsArray()) << history.out;
  ASSERT_EQ(versions.Size(), 1u);
  EXPECT_TRUE(versions[0]["current"].GetBool());
  EXPECT_EQ(AgentStatus("node-weak", "config_version"), "1");
}

TEST_F(HubComplianceTest, RemediationDryRunChangesNothingAndTheRealOnePassesInTheReport) {
  const std::string check = "ssh-root-login-disabled";
  ASSERT_TRUE(Eventually(
      [&] {
        rapidjson::Document before = Report();
        const rapidjson::Value* node = NodeIn(before, "node-weak");
        if (node == nullptr) return false;
        auto failing = FailingChecks(*node);
        return std::find(failing.begin(), failing.end(), check) != failing.end();
      },
      kLong))
      << Logs();
  const std::string sshd = Root("node-weak") + "/etc/ssh/sshd_config";
  const std::string original = ReadFile(sshd);
  const std::string mixed_sshd = Root("node-mixed") + "/etc/ssh/sshd_config";
  const std::string mixed_original = ReadFile(mixed_sshd);

  ProcessResult dry = Ctl({"remediate", check, "--target", "node-weak", "--dry-run"}, operator_);
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err << Logs();
  EXPECT_THAT(dry.out, HasSubstr("planned"));
  EXPECT_EQ(ReadFile(sshd), original);

  ProcessResult real = Ctl({"remediate", check, "--target", "node-weak"}, operator_);
  EXPECT_EQ(real.exit_code, 0) << real.out << real.err << Logs();
  EXPECT_THAT(real.out, HasSubstr("applied"));
  EXPECT_NE(ReadFile(sshd), original);
  EXPECT_TRUE(Eventually(
      [&] {
        rapidjson::Document after = Report();
        const rapidjson::Value* node = NodeIn(after, "node-weak");
        if (node == nullptr) return false;
        auto failing = FailingChecks(*node);
        return std::find(failing.begin(), failing.end(), check) == failing.end();
      },
      kLong))
      << Logs();
  // node-mixed fails the same check but was not a target: its file is as it was.
  EXPECT_EQ(ReadFile(mixed_sshd), mixed_original);
  ProcessResult tasks = Ctl({"tasks"}, operator_);
  EXPECT_EQ(tasks.exit_code, 0) << tasks.err;
}

TEST_F(HubComplianceTest, AConfigSignedByAnotherKeyIsRefusedByEveryAgent) {
  for (const Node& node : kNodes) {
    ASSERT_TRUE(Eventually([&] { return AgentStatus(node.id, "config_version") == "1"; }, kLong))
        << node.id << Logs();
  }
  // The hub's signing key replaced while it was stopped: what it signs now, no agent accepts.
  const std::string listen = "127.0.0.1:" + std::to_string(hub_->port());
  hub_->Terminate();
  const std::string key = hub_dir_ + "/signing/ed25519.pem";
  fs::remove(key);
  ProcessResult made = RunProcess({"openssl", "genpkey", "-algorithm", "ed25519", "-out", key});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  StartHub(listen);
  std::ofstream(dir_.path() + "/fleet/fleet.yaml", std::ios::app) << "    vars: {}\n";
  ProcessResult published = Ctl({"config", "publish", dir_.path() + "/fleet"}, admin_);
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  for (const Node& node : kNodes) {
    EXPECT_TRUE(Eventually(
        [&] {
          const std::string status = AgentStatus(node.id, "config_version, config_error");
          return status.rfind("1|", 0) == 0 && status.find("signature") != std::string::npos;
        },
        kLong))
        << node.id << ": " << AgentStatus(node.id, "config_version, config_error") << Logs();
  }
}

TEST_F(HubComplianceTest, ANodeSilentForThreeCyclesIsStale) {
  ASSERT_TRUE(Eventually(
      [&] {
        rapidjson::Document report = Report();
        const rapidjson::Value* node = NodeIn(report, "node-hard");
        return node != nullptr && CheckCount(*node) > 0;
      },
      kLong))
      << Logs();
  agents_.erase("node-hard");  // stops it
  EXPECT_TRUE(Eventually(
      [&] {
        rapidjson::Document report = Report();
        const rapidjson::Value* node = NodeIn(report, "node-hard");
        return node != nullptr && (*node)["stale"].GetBool() &&
               std::string((*node)["status"].GetString()) == "stale";
      },
      std::chrono::milliseconds(3 * kCycleMs) + kLong))
      << Logs();
  rapidjson::Document report = Report();
  EXPECT_FALSE((*NodeIn(report, "node-weak"))["stale"].GetBool());
}

TEST_F(HubComplianceTest, WithTheHubAwayAnAgentKeepsRepairingAndItsEvidenceArrivesAfter) {
  // Version 2: node-mixed repairs its SSH root login by itself (enforce: auto).
  const std::string fleet = dir_.path() + "/fleet2";
  fs::create_directories(fleet + "/packs");
  std::ofstream(fleet + "/fleet.yaml") << R"(nodes:
  - match: "node-mixed"
    roles: [ssh-guard]
  - match: "node-*"
    roles: [iec62443]
roles:
  ssh-guard:
    packs: [packs/ssh-guard.json]
    enforce: auto
  iec62443:
    packs: [iec62443]
    enforce: off
)";
  std::ofstream(fleet + "/packs/ssh-guard.json") << R"({"name": "ssh-guard", "checks": {
  "guard-ssh-root-login": {"sr": ["SR 1.1"], "sl": 1,
    "description": "The SSH server does not accept logins as root.",
    "query": "SELECT keyword, value, file FROM sshd_config WHERE keyword = 'permitrootlogin' AND match = '' AND lower(value) <> 'no'",
    "enforce": {"action": "sshd.set", "with": {"key": "PermitRootLogin", "value": "no"}}}}})";
  ProcessResult published = Ctl({"config", "publish", fleet}, admin_);
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  const std::string sshd = Root("node-mixed") + "/etc/ssh/sshd_config";
  auto repaired = [&] {
    const std::string text = ReadFile(sshd);
    return text.find("PermitRootLogin no") != std::string::npos &&
           text.find("PermitRootLogin yes") == std::string::npos;
  };
  ASSERT_TRUE(Eventually(repaired, kLong)) << ReadFile(sshd) << Logs();

  // The hub goes away; someone sets the weak value again by hand; the agent repairs it alone.
  const std::string listen = "127.0.0.1:" + std::to_string(hub_->port());
  hub_->Terminate();
  const std::string weak = ReadFile(std::string(VIGIL_SOURCE_DIR) +
                                    "/tests/fixtures/hosts/iec-weak/etc/ssh/sshd_config");
  std::ofstream(sshd, std::ios::trunc) << weak;
  ASSERT_FALSE(repaired());
  ASSERT_TRUE(Eventually(repaired, kLong)) << ReadFile(sshd) << Logs();

  // Back online: the outbox drains, the check passes in the report, the node's chain is whole.
  StartHub(listen);
  EXPECT_TRUE(Eventually([&] { return AgentStatus("node-mixed", "outbox_depth") == "0"; }, kLong))
      << Logs();
  EXPECT_TRUE(Eventually(
      [&] {
        rapidjson::Document report = Report();
        const rapidjson::Value* node = NodeIn(report, "node-mixed");
        return node != nullptr && (*node)["checks"].HasMember("pass") &&
               FailingChecks(*node).empty() && !(*node)["audit"]["flagged"].GetBool() &&
               (*node)["audit"]["seq"].GetUint64() >= 2;  // the two repairs
      },
      kLong))
      << Ctl({"report", "iec62443", "--format", "json"}, viewer_).out << Logs();
}

}  // namespace
}  // namespace vigil
