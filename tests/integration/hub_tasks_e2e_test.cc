// A fleet-wide package upgrade end to end, every part real: a vigil-hub, three `vigil daemon
// --hub` agents on fixture roots, and `vigilctl task package-upgrade`. Under a fixture root an
// agent runs no command: it plans apt-get from its own dpkg status and apt lists, and reports
// the command it would run. The task goes to the targeted nodes only; each reports the command
// for the packages its own lists offer newer; a name that is not a Debian package name is
// refused, never handed to apt-get.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/testing/background.h"
#include "tests/testing/hub_process.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::BackgroundProcess;
using testing::Eventually;
using testing::LineValue;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;

constexpr auto kLong = std::chrono::seconds(90);

struct Node {
  std::string id;
  std::string fixture;  // under tests/fixtures/hosts
};

// node-weak's apt lists offer newer openssh-server and openssh-client; node-mixed is the
// hardened host whose lists offer a newer openssh-server only; node-hard has nothing newer.
const std::vector<Node> kNodes = {
    {"node-weak", "iec-weak"}, {"node-hard", "iec-hardened"}, {"node-mixed", "iec-hardened"}};

constexpr char kNewerSshServer[] = R"(Package: openssh-server
Version: 1:9.2p1-2+deb12u5
Architecture: amd64
Maintainer: Debian Fixture <fixture@example.org>
Description: openssh-server (fixture)
)";

// What package.upgrade asks apt-get for, before the packages.
const std::vector<std::string> kAptUpgrade = {
    "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-o",
    "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "install",
    "--only-upgrade"};

std::vector<std::string> AptUpgrade(std::vector<std::string> packages) {
  std::vector<std::string> argv = kAptUpgrade;
  argv.insert(argv.end(), packages.begin(), packages.end());
  return argv;
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& a : argv) line += (line.empty() ? "" : " ") + a;
  return line;
}

rapidjson::Document Parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

std::string Text(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) return "?";
  return object[key].GetString();
}

class HubTasksE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_dir_ = dir_.path() + "/hub";
    operator_ = MakeToken("operator");
    viewer_ = MakeToken("viewer");
    hub_ = std::make_unique<testing::HubProcess>(
        VIGIL_HUB_BIN, dir_.path(),
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--state-dir", hub_dir_});
    ASSERT_TRUE(hub_->WaitListening()) << hub_->err();
    url_ = hub_->url();
    fingerprint_ = hub_->fingerprint();
    for (const Node& node : kNodes) {
      MakeRoot(node);
      StartAgent(node);
    }
    ASSERT_TRUE(Eventually([&] { return OnlineNodes() == 3; }, kLong)) << Logs();
  }

  std::string MakeToken(const std::string& role) {
    ProcessResult made = RunProcess({VIGIL_HUB_BIN, "token", "create", "--role", role,
                                     "--state-dir", hub_dir_});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return LineValue(made.out, "token");
  }

  std::string Root(const std::string& id) const { return dir_.path() + "/roots/" + id; }
  std::string AgentLog(const std::string& id) const { return dir_.path() + "/" + id + ".log"; }

  void MakeRoot(const Node& node) {
    fs::create_directories(dir_.path() + "/roots");
    const std::string fixtures = std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/hosts/";
    // cp -a: the fixtures hold symlinks that point nowhere on this machine, as on a real host.
    ProcessResult copied = RunProcess({"/bin/cp", "-a", fixtures + node.fixture, Root(node.id)});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    if (node.id == "node-mixed") {
      std::ofstream(Root(node.id) +
                    "/var/lib/apt/lists/security.debian.org_debian-security_dists_bookworm-"
                    "security_main_binary-amd64_Packages",
                    std::ios::trunc)
          << kNewerSshServer;
    }
  }

  void StartAgent(const Node& node) {
    agents_[node.id] = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{VIGIL_BIN, "daemon", "--state-dir",
                                 dir_.path() + "/state/" + node.id, "--root", Root(node.id),
                                 "--host-identifier", node.id, "--cycle", "3s",
                                 "--disable-extensions", "--hub", url_, "--hub-fingerprint",
                                 fingerprint_, "--enroll-secret-file",
                                 hub_->enroll_secret_file()},
        "", AgentLog(node.id));
  }

  ProcessResult Ctl(std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), {VIGILCTL_BIN, "--hub", url_, "--hub-fingerprint", fingerprint_,
                               "--token", token});
    return RunProcess(args, "", std::chrono::seconds(120));
  }

  int OnlineNodes() {
    rapidjson::Document nodes = Parse(Ctl({"nodes", "--json"}, viewer_).out);
    if (!nodes.IsArray()) return -1;
    int online = 0;
    for (const auto& n : nodes.GetArray()) online += n["online"].GetBool() ? 1 : 0;
    return online;
  }

  // The task id a dispatching vigilctl printed ("task t_3: 2 nodes"), or "".
  static std::string TaskId(const std::string& out) {
    std::smatch m;
    return std::regex_search(out, m, std::regex("task (t_[0-9]+):")) ? m[1].str() : "";
  }

  rapidjson::Document Show(const std::string& id) {
    ProcessResult shown = Ctl({"tasks", "show", id, "--json"}, operator_);
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    return Parse(shown.out);
  }

  // GET /api/v1/tasks/{id}'s nodes, by identifier.
  static std::map<std::string, const rapidjson::Value*> NodesOf(const rapidjson::Document& view) {
    std::map<std::string, const rapidjson::Value*> out;
    if (!view.IsObject() || !view.HasMember("nodes")) return out;
    for (const auto& n : view["nodes"].GetArray()) out[Text(n, "node")] = &n;
    return out;
  }

  // The argv of each command change a node reported.
  static std::vector<std::vector<std::string>> Commands(const rapidjson::Value& node) {
    std::vector<std::vector<std::string>> out;
    const rapidjson::Value& remediation = node["remediation"];
    if (!remediation.IsObject()) return out;
    for (const auto& change : remediation["changes"].GetArray()) {
      if (Text(change, "kind") != "command") continue;
      std::vector<std::string> argv;
      for (const auto& a : change["argv"].GetArray()) argv.emplace_back(a.GetString());
      out.push_back(std::move(argv));
      // Listed, not run: a command that ran has its exit status.
      EXPECT_TRUE(change["exit"].IsNull()) << Text(node, "node");
    }
    return out;
  }

  std::string Logs() {
    std::string all = "\n--- hub\n" + (hub_ ? hub_->err() : "");
    for (const Node& node : kNodes) all += "--- " + node.id + "\n" + ReadFile(AgentLog(node.id));
    return all;
  }

  TempDir dir_;
  std::string hub_dir_;
  std::string operator_, viewer_;
  std::string url_, fingerprint_;
  std::unique_ptr<testing::HubProcess> hub_;
  std::map<std::string, std::unique_ptr<BackgroundProcess>> agents_;
};

TEST_F(HubTasksE2eTest, APackageUpgradeGoesToItsTargetsAndEachListsItsAptCommand) {
  const std::string weak_status = ReadFile(Root("node-weak") + "/var/lib/dpkg/status");
  ASSERT_FALSE(weak_status.empty());

  ProcessResult ran = Ctl({"task", "package-upgrade", "--packages", "openssh-server,openssh-client",
                           "--target", "node-weak,node-mixed", "--verbose"},
                          operator_);
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err << Logs();
  const std::string id = TaskId(ran.out);
  ASSERT_FALSE(id.empty()) << ran.out;
  EXPECT_THAT(ran.out, HasSubstr("task " + id + ": 2 nodes\n"));
  EXPECT_THAT(ran.out, HasSubstr("$ " + Joined(AptUpgrade({"openssh-server", "openssh-client"})) +
                                 "  (not run)"));
  EXPECT_THAT(ran.out, HasSubstr("task " + id + " done: 2 nodes, 2 succeeded, 0 failed"));

  rapidjson::Document view = Show(id);
  ASSERT_TRUE(view.IsObject() && view.HasMember("task")) << Text(view, "error");
  EXPECT_EQ(Text(view["task"], "kind"), "package_upgrade");
  EXPECT_EQ(Text(view["task"], "status"), "done");
  EXPECT_EQ(Text(view["task"], "target"), "node-weak,node-mixed");
  EXPECT_EQ(view["totals"]["nodes"].GetUint64(), 2u);
  EXPECT_EQ(view["totals"]["succeeded"].GetUint64(), 2u);

  // Each targeted node planned the upgrade of what its own lists offer newer; the untargeted
  // node is not in the task.
  const auto nodes = NodesOf(view);
  ASSERT_EQ(nodes.size(), 2u) << ran.out;
  ASSERT_TRUE(nodes.count("node-weak") && nodes.count("node-mixed")) << ran.out;
  for (const auto& [name, node] : nodes) {
    EXPECT_EQ(Text(*node, "state"), "answered") << name;
    EXPECT_EQ(Text(*node, "outcome"), "planned") << name;
    EXPECT_EQ(Text((*node)["remediation"], "outcome"), "planned") << name;
    EXPECT_THAT(Text((*node)["remediation"], "message"),
                HasSubstr("commands are listed, not run"))
        << name;
  }
  EXPECT_THAT(Commands(*nodes.at("node-weak")),
              ElementsAre(AptUpgrade({"openssh-server", "openssh-client"})));
  EXPECT_THAT(Commands(*nodes.at("node-mixed")), ElementsAre(AptUpgrade({"openssh-server"})));

  // The agents say so in their own words; the untargeted one heard nothing of it.
  const std::string answered = "task " + id + " (package_upgrade): planned";
  EXPECT_THAT(ReadFile(AgentLog("node-weak")), HasSubstr(answered)) << Logs();
  EXPECT_THAT(ReadFile(AgentLog("node-mixed")), HasSubstr(answered)) << Logs();
  EXPECT_THAT(ReadFile(AgentLog("node-hard")), Not(HasSubstr("task " + id))) << Logs();
  // Nothing ran: the node's dpkg status is as it was.
  EXPECT_EQ(ReadFile(Root("node-weak") + "/var/lib/dpkg/status"), weak_status);
}

TEST_F(HubTasksE2eTest, APackageNameThatIsNotDebiansIsRefusedAndNothingIsPlanned) {
  // A blank: the hub refuses the request; no task is made.
  ProcessResult blank = Ctl({"task", "package-upgrade", "--packages", "openssh server",
                             "--target", "node-weak"},
                            operator_);
  EXPECT_EQ(blank.exit_code, 1) << blank.out << blank.err;
  EXPECT_THAT(blank.err, HasSubstr("package 'openssh server' holds a blank or control character"));
  EXPECT_EQ(Ctl({"tasks", "--json"}, operator_).out, "[]\n");

  // An apt-get option passed as a name: the hub refuses it with the agents' own rule, before
  // any node is asked; no task is made.
  const std::string option = "-oAPT::Get::AllowUnauthenticated=true";
  ProcessResult smuggled = Ctl({"task", "package-upgrade", "--packages", "openssh-server," + option,
                                "--target", "node-weak"},
                               operator_);
  EXPECT_EQ(smuggled.exit_code, 1) << smuggled.out << smuggled.err << Logs();
  EXPECT_THAT(smuggled.err,
              HasSubstr("packages item '" + option + "' is not a Debian package name"));
  EXPECT_EQ(Ctl({"tasks", "--json"}, operator_).out, "[]\n");
  EXPECT_THAT(ReadFile(AgentLog("node-weak")), Not(HasSubstr("package_upgrade"))) << Logs();
}

}  // namespace
}  // namespace vigil
