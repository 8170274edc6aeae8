// Fleet compliance end to end, every part real: a vigil-hub, three `vigil daemon --hub` agents on
// a weak, a hardened and a mixed fixture root, and vigilctl. The IEC 62443 role is published for
// every node; the fleet report must say, SR by SR, what `vigil check` says on each node's own
// root; a publish with a bad statement is rejected and the old version stays; remediation in
// dry-run changes nothing and for real turns the weak node's failure into a pass in the report;
// a config signed by another key is refused by every agent; a silent node goes stale; with the
// hub away an agent keeps repairing, and every item it buffered is stored exactly once after it
// reconnects, even when a batch the hub stored has to be sent again.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/hub_store.h"
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

// A loopback TCP relay between an agent and the hub that can hold back what the hub says, so
// that a batch the hub stored and acknowledged goes unacknowledged at the agent. Bytes pass
// untouched (TLS ends at the hub; the agent checks its fingerprint through the relay). A
// connection made while the hub is not listening is closed at once, like a refused one.
//
// Thread safety: the public methods may be called from any thread; each connection is relayed
// by a thread of its own.
class ReplyHoldingRelay {
 public:
  explicit ReplyHoldingRelay(uint16_t hub_port) : hub_port_(hub_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t size = sizeof(addr);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), size) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      ADD_FAILURE() << "relay: cannot listen on loopback: errno " << errno;
      return;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~ReplyHoldingRelay() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard lock(mutex_);
    for (std::thread& t : relays_) t.join();
    if (listener_ >= 0) ::close(listener_);
  }

  ReplyHoldingRelay(const ReplyHoldingRelay&) = delete;
  ReplyHoldingRelay& operator=(const ReplyHoldingRelay&) = delete;

  uint16_t port() const { return port_; }
  // The first connection on which the agent then sends more than `bytes` passes nothing more
  // from the hub to the agent; the hold is decided before the byte past the mark is relayed,
  // so the hub's answer to the message holding it is held.
  void HoldRepliesAfter(uint64_t bytes) { hold_after_ = bytes; }
  // Bytes of the hub's kept from the agent.
  uint64_t held() const { return held_; }
  // Closes every connection; the ones after pass everything (unless held again).
  void Cut() { ++generation_; }

 private:
  static sockaddr_in Loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
  }

  static bool WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
      ssize_t put = ::send(fd, data, size, MSG_NOSIGNAL);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) return false;
      data += put;
      size -= static_cast<size_t>(put);
    }
    return true;
  }

  void Accept() {
    while (!stop_) {
      pollfd ready{listener_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      const int agent = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (agent < 0) continue;
      const int hub = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr = Loopback(hub_port_);
      if (hub < 0 || ::connect(hub, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (hub >= 0) ::close(hub);
        ::close(agent);
        continue;
      }
      std::lock_guard lock(mutex_);
      relays_.emplace_back([this, agent, hub, generation = generation_.load()] {
        Relay(agent, hub, generation);
      });
    }
  }

  void Relay(int agent, int hub, uint64_t generation) {
    std::vector<char> buffer(64 * 1024);
    uint64_t from_agent = 0;
    bool holding = false;
    bool open = true;
    while (open && !stop_ && generation_ == generation) {
      pollfd fds[2] = {{agent, POLLIN, 0}, {hub, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents != 0) {
        const ssize_t got = ::read(agent, buffer.data(), buffer.size());
        if (got <= 0) break;
        from_agent += static_cast<uint64_t>(got);
        uint64_t mark = hold_after_;
        if (!holding && mark > 0 && from_agent > mark) {
          holding = hold_after_.compare_exchange_strong(mark, 0);
        }
        open = WriteAll(hub, buffer.data(), static_cast<size_t>(got));
      }
      if (open && fds[1].revents != 0) {
        const ssize_t got = ::read(hub, buffer.data(), buffer.size());
        if (got <= 0) break;
        if (holding) {
          held_ += static_cast<uint64_t>(got);
        } else {
          open = WriteAll(agent, buffer.data(), static_cast<size_t>(got));
        }
      }
    }
    ::close(agent);
    ::close(hub);
  }

  const uint16_t hub_port_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> hold_after_{0};  // 0: not holding
  std::atomic<uint64_t> held_{0};
  std::mutex mutex_;
  std::vector<std::thread> relays_;  // guarded by mutex_
  std::thread acceptor_;
};

// "2024-05-01T12:00:00Z" -> unix seconds; -1 when it is not that.
int64_t UnixSeconds(const std::string& rfc3339) {
  std::tm tm{};
  const char* end = ::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return end == nullptr || *end != '\0' ? -1 : static_cast<int64_t>(::timegm(&tm));
}

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

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

  std::string StateDir(const std::string& id) const { return dir_.path() + "/state/" + id; }
  std::string AgentLog(const std::string& id) const { return dir_.path() + "/" + id + ".log"; }

  // Starts the node's agent, reporting to `hub_url` ("": the hub's own).
  void StartAgent(const Node& node, const std::string& hub_url = "") {
    agents_[node.id] = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{VIGIL_BIN, "daemon", "--state-dir", StateDir(node.id), "--root",
                                 Root(node.id), "--host-identifier", node.id, "--cycle", kCycle,
                                 "--disable-extensions", "--hub",
                                 hub_url.empty() ? url_ : hub_url, "--hub-fingerprint",
                                 fingerprint_, "--enroll-secret-file",
                                 hub_->enroll_secret_file()},
        "", AgentLog(node.id));
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
      all += "--- " + node.id + "\n" + ReadFile(AgentLog(node.id));
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

// node-mixed reports through a relay, so that the reconnection after the hub's absence can be
// made to send again what the hub already stored.
constexpr uint64_t kHoldAfterBytes = 16 * 1024;  // well past the TLS handshake and the hello

// The `results` items StoreEvidence kept for a node, by seq (read with the hub stopped).
std::map<uint64_t, std::string> StoredEvidence(server::HubStore& store, const std::string& node) {
  std::map<uint64_t, std::string> items;
  Status read = store.ReadEvidence(node, 0, [&](uint64_t seq, std::string_view json) {
    items.emplace(seq, std::string(json));
    return true;
  });
  EXPECT_TRUE(read.ok()) << read.ToString();
  return items;
}

// The lines of a results log whose unixTime is in [from, to], as the outbox items made of them
// (PROTOCOL.md: the line's object with "kind":"log" first).
std::vector<std::string> LogItemsWritten(const std::string& results_log, int64_t from, int64_t to) {
  std::vector<std::string> items;
  constexpr std::string_view kTime = "\"unixTime\":";
  std::istringstream lines(ReadFile(results_log));
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find(kTime);  // in the head, before the rows
    if (line.empty() || at == std::string::npos) continue;
    const int64_t time = std::strtoll(line.c_str() + at + kTime.size(), nullptr, 10);
    if (time >= from && time <= to) items.push_back("{\"kind\":\"log\"," + line.substr(1));
  }
  return items;
}

TEST_F(HubComplianceTest, WithTheHubAwayAnAgentKeepsRepairingAndEachBufferedItemArrivesOnce) {
  ReplyHoldingRelay relay(hub_->port());
  ASSERT_NE(relay.port(), 0);
  ASSERT_NE(agents_.at("node-mixed")->Terminate(), -1);  // the same node, now through the relay
  StartAgent(kNodes[2], url_.substr(0, url_.rfind(':') + 1) + std::to_string(relay.port()));

  // Version 2: node-mixed repairs its SSH root login by itself (enforce: auto), and logs a
  // snapshot of ~25 kB every cycle, so that an absence of the hub leaves a backlog.
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
  std::ofstream(fleet + "/packs/ssh-guard.json") << R"({"name": "ssh-guard",
  "queries": {
    "backlog": {"interval": 3, "snapshot": true,
      "query": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) SELECT i, printf('%050d', i) AS pad FROM n"}},
  "checks": {
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

  // The repair's verdict and audit head are queued (a cycle counts its repairs after queueing
  // them), and every item numbered before `first_away` is stored at the hub.
  uint64_t first_away = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::string status =
            AgentStatus("node-mixed", "outbox_depth, repairs, outbox_next_seq");
        if (status.rfind("0|1|", 0) != 0) return false;
        first_away = std::stoull(status.substr(4));
        return true;
      },
      kLong))
      << Logs();

  // The hub goes away; someone sets the weak value again by hand; the agent repairs it alone,
  // and goes on logging.
  const std::string listen = "127.0.0.1:" + std::to_string(hub_->port());
  const int64_t away_from = UnixNow();
  hub_->Terminate();
  const std::string weak = ReadFile(std::string(VIGIL_SOURCE_DIR) +
                                    "/tests/fixtures/hosts/iec-weak/etc/ssh/sshd_config");
  std::ofstream(sshd, std::ios::trunc) << weak;
  ASSERT_FALSE(repaired());
  ASSERT_TRUE(Eventually(repaired, kLong)) << ReadFile(sshd) << Logs();
  const std::string results_log = StateDir("node-mixed") + "/results.log";
  ASSERT_TRUE(Eventually(
      [&] { return LogItemsWritten(results_log, away_from, UnixNow()).size() >= 3; }, kLong))
      << Logs();

  // Back online. The relay holds the hub's answers once the agent has sent 16 kB, so the hub
  // stores the message holding that byte and acknowledges it, and the agent never hears it;
  // then the connection is cut, and the agent must send that message again.
  relay.HoldRepliesAfter(kHoldAfterBytes);
  const int64_t back_at = UnixNow();
  StartHub(listen);
  ASSERT_TRUE(Eventually([&] { return relay.held() > 0; }, kLong)) << Logs();
  const size_t log_at_cut = ReadFile(AgentLog("node-mixed")).size();
  relay.Cut();

  // The outbox drains, nothing was dropped, the check passes in the report, the chain is whole.
  uint64_t next_seq = 0;
  std::string status;
  ASSERT_TRUE(Eventually(
      [&] {
        status = AgentStatus("node-mixed",
                             "outbox_depth, repairs, outbox_dropped, outbox_next_seq");
        if (status.rfind("0|", 0) != 0) return false;
        next_seq = std::stoull(status.substr(status.rfind('|') + 1));
        return true;
      },
      kLong))
      << status << Logs();
  EXPECT_EQ(status, "0|2|0|" + std::to_string(next_seq));  // both repairs; nothing dropped
  ASSERT_GT(next_seq, first_away);
  // The connection after the cut had what the hub already stored still to send.
  std::smatch resent;
  const std::string after_cut = ReadFile(AgentLog("node-mixed")).substr(log_at_cut);
  ASSERT_TRUE(std::regex_search(after_cut, resent,
                                std::regex(R"(connected to hub \S+ \((\d+) outbox items to send\))")))
      << after_cut;
  EXPECT_GT(std::stoull(resent[1].str()), 0u) << resent[0];
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

  // What the hub stored for node-mixed: each item once, no number missing, none repeated.
  hub_->Terminate();
  auto store = server::OpenEmbeddedHubStore(hub_dir_ + "/store");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::map<uint64_t, std::string> stored = StoredEvidence(**store, "node-mixed");
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.begin()->first, 1u);
  EXPECT_EQ(stored.rbegin()->first, stored.size()) << "a seq is missing";
  EXPECT_GE(stored.size(), next_seq - 1);
  auto node = (*store)->GetNode("node-mixed");
  ASSERT_TRUE(node.ok() && node->has_value());
  EXPECT_EQ((**node).acked_seq, stored.size());
  std::map<std::string, std::vector<uint64_t>> by_content;
  for (const auto& [seq, json] : stored) by_content[json].push_back(seq);
  for (const auto& [json, seqs] : by_content) {
    EXPECT_EQ(seqs.size(), 1u) << "stored " << seqs.size() << " times: " << json.substr(0, 200);
  }

  // Each log line the agent wrote while the hub was away is stored once, as it was written.
  const std::vector<std::string> written = LogItemsWritten(results_log, away_from, back_at);
  EXPECT_GE(written.size(), 3u);
  for (const std::string& item : written) {
    EXPECT_EQ(by_content.count(item), 1u) << "not stored: " << item.substr(0, 200);
  }

  // The repair made while the hub was away: one `fixed` verdict numbered from first_away on,
  // made while the hub was away, stored once and in the verdict history once; and the audit
  // head that moved with it.
  std::vector<int64_t> fixed_at;
  uint64_t heads_after = 0;
  uint64_t last_head = 0;
  for (const auto& [seq, json] : stored) {
    rapidjson::Document item = Parse(json);
    ASSERT_TRUE(item.IsObject()) << json.substr(0, 200);
    const std::string kind = item["kind"].GetString();
    if (kind == "audit_head") {
      EXPECT_GT(item["seq"].GetUint64(), last_head) << "audit head sent twice: " << json;
      last_head = item["seq"].GetUint64();
      if (seq >= first_away) ++heads_after;
    }
    if (kind != "verdict" || seq < first_away ||
        std::string(item["check"].GetString()) != "guard-ssh-root-login" ||
        std::string(item["status"].GetString()) != "fixed") {
      continue;
    }
    const int64_t time = UnixSeconds(item["time"].GetString());
    EXPECT_TRUE(time >= away_from && time <= back_at) << json.substr(0, 200);
    fixed_at.push_back(time);
  }
  ASSERT_EQ(fixed_at.size(), 1u) << "fixed verdicts made while the hub was away";
  EXPECT_GE(heads_after, 1u);
  int history = 0;
  Status visited = (*store)->VerdictHistory(
      "node-mixed", fixed_at[0], fixed_at[0], [&](const server::VerdictHistoryEntry& entry) {
        history += entry.verdict.check == "guard-ssh-root-login" && entry.verdict.status == "fixed";
        return true;
      });
  EXPECT_TRUE(visited.ok()) << visited.ToString();
  EXPECT_EQ(history, 1);
}

}  // namespace
}  // namespace vigil
