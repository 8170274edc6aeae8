// Daemon::RunTask, the agent's side of the hub's remediation and tasks, on a copy of the weak
// fixture host: a dry run plans with diffs and changes no file; a real run repairs the check,
// proves it by the re-check, records the audit chain and queues the new verdict; a passing, an
// unknown and a detect-only check are answered without a change; a package upgrade plans
// apt-get for what the lists offer newer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/daemon.h"
#include "agent/outbox.h"
#include "engine/audit/chain.h"
#include "engine/store/store.h"
#include "tests/testing/fixture_hosts.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

rapidjson::Document Parse(const std::optional<std::string>& json) {
  rapidjson::Document doc;
  if (json) doc.Parse(json->c_str());
  return doc;
}

std::string Field(const std::optional<std::string>& json, const char* name) {
  rapidjson::Document doc = Parse(json);
  if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString()) return "<none>";
  return doc[name].GetString();
}

wire::Task EnforceTask(std::string id, std::string check, bool dry_run) {
  wire::Task task;
  task.id = std::move(id);
  task.kind = wire::Task::Kind::kEnforce;
  task.check = std::move(check);
  task.dry_run = dry_run;
  return task;
}

class DaemonTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/host");
    root_ = testing::StageFixtureHost("iec-weak", dir_.path() + "/host");
    dir_.WriteFile("/node.json",
                   R"({"version": 1, "enforce": "off", "target_sl": 2, "packs": ["iec62443"]})");
    Open();
  }

  void Open() {
    DaemonOptions o;
    o.state_dir = State();
    o.root = root_;
    o.config_path = dir_.path() + "/node.json";
    o.host_identifier = "node-1";
    o.log = [](LogLevel, const std::string&) {};
    auto opened = Daemon::Open(o);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    daemon_ = std::move(*opened);
  }

  std::string State() const { return dir_.path() + "/state"; }
  std::string Sshd() const { return ReadAll(root_ + "/etc/ssh/sshd_config"); }

  // The outbox's verdict items for `check`, oldest first (closes the daemon).
  std::vector<std::string> QueuedVerdicts(const std::string& check) {
    daemon_.reset();
    auto store = store::Store::Open(State());
    EXPECT_TRUE(store.ok()) << store.status().message();
    auto outbox = Outbox::Open(**store);
    EXPECT_TRUE(outbox.ok());
    auto items = (*outbox)->Peek(0, 100000, size_t{1} << 30);
    EXPECT_TRUE(items.ok());
    std::vector<std::string> out;
    for (const OutboxItem& item : *items) {
      if (item.json.find("\"check\":\"" + check + "\"") != std::string::npos) {
        out.push_back(item.json);
      }
    }
    return out;
  }

  testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DaemonTaskTest, DryRunPlansWithTheDiffAndChangesNothing) {
  const std::string before = Sshd();
  auto result = daemon_->RunTask(EnforceTask("t_1", "ssh-root-login-disabled", true));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->id, "t_1");
  EXPECT_EQ(result->outcome, "planned");
  EXPECT_EQ(Field(result->verdict_before, "status"), "fail");
  EXPECT_FALSE(result->verdict_after);
  EXPECT_EQ(Field(result->remediation, "outcome"), "planned");
  EXPECT_THAT(*result->remediation, HasSubstr("/etc/ssh/sshd_config"));
  EXPECT_THAT(*result->remediation, HasSubstr("+PermitRootLogin no"));
  EXPECT_EQ(Sshd(), before);

  // No audit record for a plan.
  daemon_.reset();
  auto store = store::Store::Open(State());
  ASSERT_TRUE(store.ok());
  audit::AuditChain chain(**store);
  auto head = chain.Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 0u);
}

TEST_F(DaemonTaskTest, RealRunRepairsRechecksAndRecordsTheAuditChain) {
  auto result = daemon_->RunTask(EnforceTask("t_2", "ssh-root-login-disabled", false));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->outcome, "applied") << result->remediation.value_or("");
  EXPECT_EQ(Field(result->verdict_before, "status"), "fail");
  EXPECT_EQ(Field(result->verdict_after, "status"), "fixed");
  EXPECT_THAT(Sshd(), HasSubstr("PermitRootLogin no"));
  rapidjson::Document remediation = Parse(result->remediation);
  ASSERT_TRUE(remediation.IsObject());
  ASSERT_TRUE(remediation["audit_seq"].IsUint64());
  const uint64_t audit_seq = remediation["audit_seq"].GetUint64();

  // Run again: the check passes now, nothing to do.
  auto again = daemon_->RunTask(EnforceTask("t_3", "ssh-root-login-disabled", false));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, "not_needed");
  EXPECT_EQ(Field(again->verdict_before, "status"), "pass");

  std::vector<std::string> queued = QueuedVerdicts("ssh-root-login-disabled");
  ASSERT_FALSE(queued.empty());
  EXPECT_THAT(queued.front(), HasSubstr("\"status\":\"fixed\""));
  EXPECT_THAT(queued.back(), HasSubstr("\"status\":\"pass\""));

  auto store = store::Store::Open(State());
  ASSERT_TRUE(store.ok());
  audit::AuditChain chain(**store);
  std::vector<audit::Record> records;
  ASSERT_TRUE(chain
                  .Read(0,
                        [&](const audit::Record& r) {
                          records.push_back(r);
                          return true;
                        })
                  .ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].seq, audit_seq);
  EXPECT_EQ(records[0].actor, "hub task t_2");
  EXPECT_EQ(records[0].action, "enforce.applied");
  EXPECT_EQ(records[0].subject, "ssh-root-login-disabled");
  auto verified = chain.Verify();
  ASSERT_TRUE(verified.ok());
}

TEST_F(DaemonTaskTest, UnknownAndDetectOnlyChecksAreRefused) {
  auto unknown = daemon_->RunTask(EnforceTask("t_4", "no-such-check", false));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->outcome, "refused");
  EXPECT_FALSE(unknown->verdict_before);
  EXPECT_THAT(Field(unknown->remediation, "message"),
              HasSubstr("'no-such-check' is not in this node's config (version 1)"));

  auto detect = daemon_->RunTask(EnforceTask("t_5", "antivirus-signatures-current", false));
  ASSERT_TRUE(detect.ok());
  EXPECT_EQ(detect->outcome, "refused");
  EXPECT_EQ(Field(detect->verdict_before, "status"), "fail");
  EXPECT_THAT(Field(detect->remediation, "message"), HasSubstr("is detect-only"));
}

TEST_F(DaemonTaskTest, PackageUpgradePlansApt) {
  wire::Task task;
  task.id = "t_6";
  task.kind = wire::Task::Kind::kPackageUpgrade;
  task.dry_run = true;
  auto all = daemon_->RunTask(task);
  ASSERT_TRUE(all.ok());
  // The weak host's lists offer newer versions of some installed packages.
  EXPECT_EQ(all->outcome, "planned") << all->remediation.value_or("");
  EXPECT_THAT(*all->remediation, HasSubstr("\"--only-upgrade\""));
  EXPECT_FALSE(all->verdict_before);

  task.args["packages"] = packs::Param{{"no-such-package"}, true};
  auto none = daemon_->RunTask(task);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->outcome, "not_needed");
  EXPECT_THAT(Field(none->remediation, "message"), HasSubstr("no-such-package is not installed"));

  task.args = {{"reboot", packs::Param::One("yes")}};
  auto bad = daemon_->RunTask(task);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->outcome, "refused");
  EXPECT_THAT(Field(bad->remediation, "message"), HasSubstr("no argument 'reboot'"));
}

}  // namespace
}  // namespace vigil::agent
