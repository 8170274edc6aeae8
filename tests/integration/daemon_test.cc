// `vigil daemon` as a process: drift on a copy of the weak fixture is repaired within one
// cycle and recorded in the audit chain; scheduled queries log osquery's added/removed lines
// across restarts; a statement that was running when the process was killed is skipped after
// the restart; a second daemon on one state directory, a bad config, and a foreign state
// directory are refused with a clear message; SIGHUP with a broken config keeps the old one;
// SIGTERM stops it.
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/testing/background.h"
#include "tests/testing/fixture_hosts.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"


namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

ProcessResult Vigil(std::vector<std::string> args) {
  args.insert(args.begin(), VIGIL_BIN);
  return RunProcess(args, "", std::chrono::seconds(120));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// A daemon (or another program) running in the background, its standard error going to a file.
class Background : public testing::BackgroundProcess {
 public:
  Background(std::vector<std::string> args, const std::string& log,
             const std::string& program = VIGIL_BIN)
      : BackgroundProcess(WithProgram(program, std::move(args)), "", log) {}

 private:
  static std::vector<std::string> WithProgram(const std::string& program,
                                              std::vector<std::string> args) {
    args.insert(args.begin(), program);
    return args;
  }
};

using testing::Eventually;

std::set<std::string> FailingChecks(const std::string& report_json) {
  rapidjson::Document doc;
  doc.Parse(report_json.c_str());
  std::set<std::string> failing;
  if (!doc.IsObject() || !doc.HasMember("checks")) return {"<no report>"};
  for (const auto& v : doc["checks"].GetArray()) {
    std::string status = v["status"].GetString();
    if (status == "fail" || status == "error") failing.insert(v["check"].GetString());
  }
  return failing;
}

std::string SshdValue(const std::string& root, const std::string& keyword) {
  std::istringstream in(ReadAll(root + "/etc/ssh/sshd_config"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(keyword + " ", 0) == 0) return line.substr(keyword.size() + 1);
  }
  return "";
}

void SetSshd(const std::string& root, const std::string& keyword, const std::string& value) {
  std::istringstream in(ReadAll(root + "/etc/ssh/sshd_config"));
  std::string line, out;
  while (std::getline(in, line)) {
    out += (line.rfind(keyword + " ", 0) == 0 ? keyword + " " + value : line) + "\n";
  }
  WriteAll(root + "/etc/ssh/sshd_config", out);
}

class DaemonTest : public ::testing::Test {
 protected:
  std::string Stage(const std::string& fixture, const std::string& sub) {
    std::filesystem::create_directories(dir_.path() + "/" + sub);
    return testing::StageFixtureHost(fixture, dir_.path() + "/" + sub);
  }
  std::string State() const { return dir_.path() + "/state"; }
  std::string Config(const std::string& json) const {
    std::string path = dir_.path() + "/node.json";
    WriteAll(path, json);
    return path;
  }
  ProcessResult Once(const std::string& root, const std::string& config) {
    return Vigil({"daemon", "--once", "--state-dir", State(), "--root", root, "--config", config,
                  "--host-identifier", "node-1", "--disable-extensions"});
  }
  TempDir dir_;
};

TEST_F(DaemonTest, RepairsTheWeakHostInOneCycleAndDriftInTheNext) {
  std::string root = Stage("iec-weak", "a");
  std::string same = Stage("iec-weak", "b");
  std::string config =
      Config(R"({"version": 1, "enforce": "auto", "target_sl": 2, "packs": ["iec62443"]})");

  ProcessResult first = Once(root, config);
  ASSERT_NE(first.exit_code, 2) << first.err;
  EXPECT_THAT(first.err, HasSubstr("check ssh-root-login-disabled: failed and was repaired"));

  // What the agent left failing is what `vigil check --enforce` leaves failing: the checks
  // without an enforcer, and those whose repair is a command (listed, not run, under --root).
  ProcessResult by_hand =
      Vigil({"check", "iec62443", "--root", same, "--enforce", "--state-dir",
             dir_.path() + "/hand-state", "--format", "json"});
  ProcessResult after = Vigil({"check", "iec62443", "--root", root, "--format", "json"});
  std::set<std::string> still = FailingChecks(after.out);
  EXPECT_EQ(still, FailingChecks(by_hand.out));
  EXPECT_FALSE(still.count("ssh-root-login-disabled"));
  EXPECT_FALSE(still.count("<no report>"));

  // Drift: a person turns root login back on; the next cycle turns it off again.
  SetSshd(root, "PermitRootLogin", "yes");
  ProcessResult second = Once(root, config);
  EXPECT_THAT(second.err, HasSubstr("check ssh-root-login-disabled: failed and was repaired"));
  EXPECT_EQ(SshdValue(root, "PermitRootLogin"), "no");

  ProcessResult audit = Vigil({"audit", "show", "--state-dir", State()});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::string last_line = audit.out.substr(audit.out.rfind("enforce.applied"));
  EXPECT_THAT(last_line, HasSubstr("ssh-root-login-disabled"));
  ProcessResult verify = Vigil({"audit", "verify", "--state-dir", State()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Nothing to repair: a third cycle changes nothing and repeats no refusal.
  const std::string before = ReadAll(root + "/etc/ssh/sshd_config");
  ProcessResult third = Once(root, config);
  EXPECT_THAT(third.err, HasSubstr("0 repaired"));
  EXPECT_THAT(third.err, Not(HasSubstr("enforce.refused")));
  EXPECT_EQ(ReadAll(root + "/etc/ssh/sshd_config"), before);
  ProcessResult audit_again = Vigil({"audit", "show", "--state-dir", State()});
  EXPECT_EQ(audit_again.out, audit.out) << "a cycle with nothing new wrote audit records";
}

constexpr const char* kUsersPack = R"({
  "name": "inventory",
  "queries": {
    "users": {"query": "SELECT username, uid FROM users", "interval": 60},
    "groups": {"query": "SELECT groupname FROM groups", "interval": 60, "snapshot": true}
  }
})";

std::vector<std::string> Lines(const std::string& text, const std::string& needle) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

TEST_F(DaemonTest, ScheduledQueriesLogWhatChangedAcrossRestarts) {
  TempDir root;
  root.WriteFile("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  root.WriteFile("/etc/group", "root:x:0:\n");
  dir_.WriteFile("/packs/inventory.json", kUsersPack);
  std::string config = Config(R"({"packs": ["packs/inventory.json"]})");
  const std::string log = State() + "/results.log";

  ASSERT_EQ(Once(root.path(), config).exit_code, 0);
  std::vector<std::string> users = Lines(ReadAll(log), "pack_inventory_users");
  ASSERT_EQ(users.size(), 1u);
  EXPECT_THAT(users[0], HasSubstr(R"("hostIdentifier":"node-1")"));
  EXPECT_THAT(users[0], HasSubstr(R"("counter":0,"numerics":false,"action":"added","columns":{"uid":"0","username":"root"})"));

  // Nothing changed: the differential query logs nothing; the snapshot query logs every run.
  ASSERT_EQ(Once(root.path(), config).exit_code, 0);
  EXPECT_EQ(Lines(ReadAll(log), "pack_inventory_users").size(), 1u);
  EXPECT_EQ(Lines(ReadAll(log), "pack_inventory_groups").size(), 2u);
  EXPECT_THAT(ReadAll(log), HasSubstr(R"("action":"snapshot","snapshot":[{"groupname":"root"}])"));

  root.WriteFile("/etc/passwd", "daemon:x:1:1::/:/usr/sbin/nologin\n");
  ASSERT_EQ(Once(root.path(), config).exit_code, 0);
  users = Lines(ReadAll(log), "pack_inventory_users");
  ASSERT_EQ(users.size(), 3u);
  EXPECT_THAT(users[1] + users[2], HasSubstr(R"("counter":2,"numerics":false,"action":"added","columns":{"uid":"1","username":"daemon"})"));
  EXPECT_THAT(users[1] + users[2], HasSubstr(R"("action":"removed","columns":{"uid":"0","username":"root"})"));
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(DaemonTest, SkipsAStatementThatWasRunningWhenTheProcessDied) {
  TempDir root;
  dir_.WriteFile("/packs/slow.json", R"({"name": "slow", "queries": {"spin": {
    "query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c",
    "interval": 60}}})");
  std::string config = Config(R"({"packs": ["packs/slow.json"]})");
  {
    Background daemon({"daemon", "--once", "--state-dir", State(), "--root", root.path(),
                       "--config", config, "--disable-extensions", "--timeout", "60s"},
                      dir_.path() + "/first.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    daemon.Signal(SIGKILL);
    ASSERT_EQ(daemon.Wait(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  ProcessResult again =
      Vigil({"daemon", "--once", "--state-dir", State(), "--root", root.path(), "--config", config,
             "--disable-extensions", "--log-level", "debug"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("pack_slow_spin was running when the agent last died; skipped until"));
  EXPECT_THAT(again.err, HasSubstr("cycle: 0 checks (0 failing, 0 repaired), 0 queries"));
}

TEST_F(DaemonTest, RefusesASecondDaemonOnTheSameStateDirectory) {
  TempDir root;
  dir_.WriteFile("/packs/inventory.json", kUsersPack);
  std::string config = Config(R"({"packs": ["packs/inventory.json"]})");
  Background first({"daemon", "--state-dir", State(), "--root", root.path(), "--config", config,
                    "--cycle", "1s"},
                   dir_.path() + "/first.log");
  ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(State() + "/vigil.sock"); },
                         std::chrono::seconds(20)))
      << ReadAll(dir_.path() + "/first.log");
  ProcessResult second = Once(root.path(), config);
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_THAT(second.err, HasSubstr("in use by another vigil process (pid " +
                                    std::to_string(first.pid()) + ")"));
}

TEST_F(DaemonTest, BadConfigIsRefusedNamingEveryProblem) {
  TempDir root;
  ProcessResult r = Once(root.path(), Config(R"({"enforce": "always", "packs": ["no-such-pack"]})"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("node.json: /enforce: must be auto, dry-run or off"));
  EXPECT_FALSE(std::filesystem::exists(State() + "/results.log"));

  r = Once(root.path(), Config(R"({"packs": ["no-such-pack"]})"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no pack file, directory or built-in bundle named 'no-such-pack'"));

  dir_.WriteFile("/packs/bad.json", R"({"name": "bad", "checks": {"c": {"sr": ["SR 1.1"],
      "query": "SELECT nope FROM users"}}})");
  r = Once(root.path(), Config(R"({"packs": ["packs/bad.json"]})"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.json"));
  EXPECT_THAT(r.err, HasSubstr("nope"));
}

TEST_F(DaemonTest, ConfigFileAndHubTogetherAreAUsageError) {
  TempDir root;
  ProcessResult r =
      Vigil({"daemon", "--once", "--state-dir", State(), "--root", root.path(), "--config",
             Config(R"({"packs": ["iec62443"]})"), "--hub", "https://127.0.0.1:8443",
             "--disable-extensions"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("give --config FILE or --hub URL, not both"));
  EXPECT_FALSE(std::filesystem::exists(State())) << "refused before anything was opened";
}

TEST_F(DaemonTest, ABrokenConfigFileFallsBackToTheConfigKeptInTheStore) {
  TempDir root;
  root.WriteFile("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  dir_.WriteFile("/packs/inventory.json", kUsersPack);
  std::string config = Config(R"({"version": 5, "packs": ["packs/inventory.json"]})");
  ASSERT_EQ(Once(root.path(), config).exit_code, 0);
  // The pack file goes away and the config breaks: the node runs on what it accepted before.
  std::filesystem::remove(dir_.path() + "/packs/inventory.json");
  WriteAll(config, R"({"version": 6, "packs": ["packs/inventory.json"], "enforce": 1})");
  ProcessResult r = Once(root.path(), config);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/enforce"));
  EXPECT_THAT(r.err, HasSubstr("running from the config kept in " + State()));
  EXPECT_THAT(r.err, HasSubstr("config 5 from the state directory: 1 packs"));
}

TEST_F(DaemonTest, ForeignStateDirectoryIsRefusedAndLeftAlone) {
  TempDir root;
  dir_.WriteFile("/state/CURRENT", "not a manifest name\n");
  dir_.WriteFile("/state/notes.txt", "someone's notes\n");
  ProcessResult r = Once(root.path(), Config(R"({"packs": ["iec62443"]})"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(State()));
  EXPECT_EQ(ReadAll(State() + "/notes.txt"), "someone's notes\n");
  EXPECT_EQ(ReadAll(State() + "/CURRENT"), "not a manifest name\n");
}

TEST_F(DaemonTest, KeepsRunningThroughABrokenReloadAndStopsOnSigterm) {
  std::string root = Stage("iec-weak", "host");
  // One check, every second, so drift is repaired within one cycle of a running daemon.
  dir_.WriteFile("/packs/ssh.json", R"({"name": "ssh", "checks": {"root-login": {
    "sr": ["SR 1.1"], "interval": 1,
    "query": "SELECT keyword, value, file, line FROM sshd_config WHERE keyword = 'permitrootlogin' AND match = '' AND lower(value) <> 'no'",
    "enforce": {"action": "sshd.set", "with": {"key": "PermitRootLogin", "value": "no"}}}}})");
  std::string config = Config(R"({"version": 1, "enforce": "auto", "packs": ["packs/ssh.json"]})");
  const std::string log = dir_.path() + "/daemon.log";
  Background daemon({"daemon", "--state-dir", State(), "--root", root, "--config", config,
                     "--cycle", "1s", "--disable-extensions"},
                    log);
  // The cycle is over once the re-check has passed; a change made before that would race it.
  ASSERT_TRUE(Eventually([&] { return ReadAll(log).find("root-login: failed and was repaired") !=
                                      std::string::npos; },
                         std::chrono::seconds(20)))
      << ReadAll(log);
  EXPECT_EQ(SshdValue(root, "PermitRootLogin"), "no");
  SetSshd(root, "PermitRootLogin", "yes");
  EXPECT_TRUE(Eventually([&] { return SshdValue(root, "PermitRootLogin") == "no"; },
                         std::chrono::seconds(5)))
      << ReadAll(log);

  WriteAll(config, R"({"version": 2, "enforce": "sometimes", "packs": ["packs/ssh.json"]})");
  daemon.Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] { return ReadAll(log).find("keeping config 1") != std::string::npos; },
                         std::chrono::seconds(5)))
      << ReadAll(log);
  SetSshd(root, "PermitRootLogin", "yes");
  EXPECT_TRUE(Eventually([&] { return SshdValue(root, "PermitRootLogin") == "no"; },
                         std::chrono::seconds(5)))
      << ReadAll(log);

  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(std::chrono::seconds(10)), 0) << ReadAll(log);
  EXPECT_THAT(ReadAll(log), HasSubstr("stopped"));
}

// The running daemon answers `vigil sql --connect` (its own vigil_agent table included), serves
// a table an extension process registers, and keeps running when that process is killed.
TEST_F(DaemonTest, ServesSqlAndExtensionTablesOverItsSocket) {
  TempDir root;
  root.WriteFile("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  dir_.WriteFile("/packs/inventory.json", kUsersPack);
  std::string config = Config(R"({"version": 3, "enforce": "dry-run", "packs": ["packs/inventory.json"]})");
  const std::string socket = State() + "/vigil.sock";
  const std::string log = dir_.path() + "/daemon.log";
  Background daemon({"daemon", "--state-dir", State(), "--root", root.path(), "--config", config,
                     "--cycle", "1s"},
                    log);
  auto sql = [&](const std::string& statement) {
    return Vigil({"sql", "--connect", socket, "--json", statement});
  };
  ASSERT_TRUE(Eventually([&] { return sql("SELECT cycles FROM vigil_agent WHERE cycles >= 1").out.find("cycles") != std::string::npos; },
                         std::chrono::seconds(20)))
      << ReadAll(log);
  ProcessResult agent = sql(
      "SELECT pid, config_version, enforce, rss_bytes > 1000000 AS has_rss, "
      "outbox_next_seq >= 1 AS numbered, outbox_depth, outbox_dropped FROM vigil_agent");
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_THAT(agent.out, HasSubstr("\"pid\": " + std::to_string(daemon.pid())));
  EXPECT_THAT(agent.out, HasSubstr("\"config_version\": 3"));
  EXPECT_THAT(agent.out, HasSubstr("\"enforce\": \"dry-run\""));
  EXPECT_THAT(agent.out, HasSubstr("\"has_rss\": 1"));
  EXPECT_THAT(agent.out, HasSubstr("\"numbered\": 1"));
  EXPECT_THAT(agent.out, HasSubstr("\"outbox_dropped\": 0"));
  ProcessResult users = sql("SELECT username FROM users");
  EXPECT_THAT(users.out, HasSubstr("\"username\": \"root\""));
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Background extension({"--daemon", socket, "--socket", dir_.path() + "/ext.sock"},
                       dir_.path() + "/ext.log", EXAMPLE_EXTENSION_BIN);
  ASSERT_TRUE(Eventually([&] { return sql("SELECT name FROM example_rows ORDER BY id").out.find("alpha") != std::string::npos; },
                         std::chrono::seconds(10)))
      << ReadAll(log) << ReadAll(dir_.path() + "/ext.log");
  extension.Signal(SIGKILL);
  extension.Wait(std::chrono::seconds(5));
  EXPECT_TRUE(Eventually([&] { return sql("SELECT 1 FROM example_rows").err.find("no such table") != std::string::npos; },
                         std::chrono::seconds(15)))
      << sql("SELECT 1 FROM example_rows").err << ReadAll(log);
  EXPECT_EQ(sql("SELECT count(*) AS n FROM users").exit_code, 0);
  EXPECT_EQ(daemon.Wait(std::chrono::milliseconds(10)), -1) << "the daemon exited\n" << ReadAll(log);
}

// packaging/vigil.service starts the daemon with flags that exist: its ExecStart, pointed at a
// temporary state dir and config, runs a cycle.
TEST_F(DaemonTest, TheSystemdUnitStartsTheDaemonWithFlagsItKnows) {
  std::istringstream unit(ReadAll(std::string(VIGIL_SOURCE_DIR) + "/packaging/vigil.service"));
  std::string line, exec;
  while (std::getline(unit, line)) {
    if (line.rfind("ExecStart=", 0) == 0) exec = line.substr(10);
  }
  ASSERT_FALSE(exec.empty());
  std::vector<std::string> args;
  std::istringstream words(exec);
  for (std::string w; words >> w;) args.push_back(w);
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[0], "/usr/local/bin/vigil");
  args.erase(args.begin());
  TempDir root;
  root.WriteFile("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  std::string config = Config(R"({"packs": []})");
  for (std::string& a : args) {
    if (a == "/var/lib/vigil") a = State();
    if (a == "/etc/vigil/node.json") a = config;
  }
  for (const char* extra : {"--once", "--disable-extensions", "--root"}) args.push_back(extra);
  args.push_back(root.path());
  ProcessResult r = Vigil(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(State()));
}

}  // namespace
}  // namespace vigil
