// The people's API for remediation and tasks (POST /api/v1/remediations, POST /api/v1/tasks,
// GET /api/v1/tasks[/{id}]) over the real embedded store and TaskService, in process: the
// operator role, 201 with the task's nodes, malformed bodies named, per-node outcomes with the
// diffs the nodes sent, and the start in the audit chain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

#include "server/api.h"
#include "server/credentials.h"
#include "server/task_service.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;

// The API's Fleet: no campaign is asked of it here.
class NoFleet final : public Fleet {
 public:
  std::vector<std::string> OnlineNodes() const override { return {}; }
  Result<CampaignRecord> StartCampaign(const CampaignSpec&) override {
    return Status::Unavailable("no fleet");
  }
  Result<std::unique_ptr<CampaignWatch>> WatchCampaign(std::string_view,
                                                       CampaignObserver) override {
    return Status::Unavailable("no fleet");
  }
  Result<CampaignTotals> Totals(std::string_view) const override {
    return Status::Unavailable("no fleet");
  }
  Status RemoveNode(std::string_view) override { return Status::Unavailable("no fleet"); }
};

class HubTasksApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    for (Role role : {Role::kAnalyst, Role::kOperator}) {
      TokenRecord t;
      t.id = "tok_" + std::string(RoleName(role));
      t.name = t.id;
      t.role = role;
      t.hash = SecretHash("secret-" + t.id);
      ASSERT_TRUE(store_->PutToken(t).ok());
    }
    TaskSeams seams;
    seams.failing_nodes = [](std::string_view check) -> Result<std::vector<std::string>> {
      if (check == "ssh-root-login-disabled")
        return std::vector<std::string>{"hist01", "hist02", "web01"};
      return std::vector<std::string>{};
    };
    seams.resolve_target = [](std::string_view target) -> Result<std::vector<std::string>> {
      if (target == "all") return std::vector<std::string>{"hist01", "hist02", "web01"};
      if (target == "hist*") return std::vector<std::string>{"hist01", "hist02"};
      return Status::InvalidArgument("target '" + std::string(target) + "' names no node");
    };
    seams.send = [this](std::string_view node, const std::string&) {
      sent_.insert(std::string(node));
      return Status::Ok();
    };
    TaskServiceOptions options;
    options.tick = std::chrono::milliseconds(0);
    auto service = OpenTaskService(*store_, seams, options);
    ASSERT_TRUE(service.ok());
    tasks_ = std::move(*service);
    api_ = std::make_unique<Api>(*store_, fleet_, ApiLimits{}, ApiServices{.tasks = tasks_.get()});
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& token = "tok_operator") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("authorization", "Bearer secret-" + token);
    if (!body.empty()) r.headers.emplace_back("content-type", "application/json");
    r.body = body;
    return api_->Handle(r);
  }

  static rapidjson::Document Json(const HttpResponse& response) {
    rapidjson::Document doc;
    doc.Parse(response.body.c_str());
    return doc;
  }

  testing::TempDir dir_;
  std::unique_ptr<HubStore> store_;
  NoFleet fleet_;
  std::unique_ptr<TaskService> tasks_;
  std::unique_ptr<Api> api_;
  std::set<std::string> sent_;
};

TEST_F(HubTasksApiTest, RemediationReportsEachNodesOutcomeWithItsDiff) {
  HttpResponse started = Call("POST", "/api/v1/remediations",
                              R"({"check": "ssh-root-login-disabled", "target": "hist*",
                                  "dry_run": true, "batch": 5, "max_failures": 1})");
  ASSERT_EQ(started.status, 201) << started.body;
  EXPECT_EQ(started.body, R"({"id":"t_1","status":"running","nodes":["hist01","hist02"]})");
  EXPECT_EQ(sent_, (std::set<std::string>{"hist01", "hist02"}));

  wire::TaskResult result;
  result.id = "t_1";
  result.outcome = "planned";
  result.verdict_before = R"({"check":"ssh-root-login-disabled","status":"fail"})";
  result.remediation =
      R"({"outcome":"planned","changes":[{"kind":"file","path":"/etc/ssh/sshd_config","diff":"-PermitRootLogin yes\n+PermitRootLogin no\n"}],"message":"","audit_seq":null})";
  tasks_->OnTaskResult("hist01", result);

  HttpResponse got = Call("GET", "/api/v1/tasks/t_1", "");
  ASSERT_EQ(got.status, 200) << got.body;
  rapidjson::Document doc = Json(got);
  EXPECT_STREQ(doc["task"]["kind"].GetString(), "enforce");
  EXPECT_STREQ(doc["task"]["check"].GetString(), "ssh-root-login-disabled");
  EXPECT_TRUE(doc["task"]["dry_run"].GetBool());
  EXPECT_STREQ(doc["task"]["status"].GetString(), "running");
  EXPECT_EQ(doc["totals"]["succeeded"].GetUint64(), 1u);
  EXPECT_EQ(doc["totals"]["sent"].GetUint64(), 1u);
  const auto& nodes = doc["nodes"];
  ASSERT_EQ(nodes.Size(), 2u);
  EXPECT_STREQ(nodes[0]["node"].GetString(), "hist01");
  EXPECT_STREQ(nodes[0]["outcome"].GetString(), "planned");
  EXPECT_STREQ(nodes[0]["verdict_before"]["status"].GetString(), "fail");
  EXPECT_TRUE(nodes[0]["verdict_after"].IsNull());
  EXPECT_STREQ(nodes[0]["remediation"]["changes"][0]["diff"].GetString(),
               "-PermitRootLogin yes\n+PermitRootLogin no\n");
  EXPECT_STREQ(nodes[1]["state"].GetString(), "sent");
  EXPECT_TRUE(nodes[1]["outcome"].IsNull());

  // The list has it, with its totals.
  HttpResponse listed = Call("GET", "/api/v1/tasks?limit=5", "");
  ASSERT_EQ(listed.status, 200) << listed.body;
  rapidjson::Document list = Json(listed);
  ASSERT_EQ(list.Size(), 1u);
  EXPECT_STREQ(list[0]["task"]["id"].GetString(), "t_1");
  EXPECT_EQ(list[0]["totals"]["nodes"].GetUint64(), 2u);

  // The start is in the audit chain, by the operator's token.
  std::vector<audit::Record> records;
  ASSERT_TRUE(store_->audit()
                  .Read(0,
                        [&](const audit::Record& r) {
                          records.push_back(r);
                          return true;
                        })
                  .ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].actor, "tok_operator");
  EXPECT_EQ(records[0].action, "remediation.start");
}

TEST_F(HubTasksApiTest, PackageUpgradeTaskGoesToTheTarget) {
  HttpResponse started = Call("POST", "/api/v1/tasks",
                              R"({"kind": "package_upgrade", "args": {"packages": ["openssl"]},
                                  "target": "all"})");
  ASSERT_EQ(started.status, 201) << started.body;
  EXPECT_EQ(started.body, R"({"id":"t_1","status":"running","nodes":["hist01","hist02","web01"]})");
  HttpResponse got = Call("GET", "/api/v1/tasks/t_1", "");
  rapidjson::Document doc = Json(got);
  EXPECT_STREQ(doc["task"]["kind"].GetString(), "package_upgrade");
  EXPECT_STREQ(doc["task"]["args"]["packages"][0].GetString(), "openssl");
  EXPECT_FALSE(doc["task"]["dry_run"].GetBool());
}

TEST_F(HubTasksApiTest, RolesAndBadRequests) {
  HttpResponse analyst = Call("POST", "/api/v1/remediations",
                              R"({"check": "ssh-root-login-disabled"})", "tok_analyst");
  EXPECT_EQ(analyst.status, 403) << analyst.body;
  EXPECT_EQ(Call("GET", "/api/v1/tasks", "", "tok_analyst").status, 403);

  auto expect_400 = [&](const std::string& target, const std::string& body,
                        const std::string& message) {
    HttpResponse r = Call("POST", target, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_THAT(r.body, HasSubstr(message)) << body;
  };
  expect_400("/api/v1/remediations", R"({"target": "all"})", "field 'check' is missing");
  expect_400("/api/v1/remediations", R"({"check": "x", "batch": 0})", "field 'batch'");
  expect_400("/api/v1/remediations", R"({"check": "x", "dry_run": "yes"})", "field 'dry_run'");
  expect_400("/api/v1/remediations", R"({"check": "x", "reboot": true})", "reboot");
  expect_400("/api/v1/remediations", R"({"check": "x", "target": "nowhere"})",
             "target 'nowhere' names no node");
  expect_400("/api/v1/tasks", R"({"kind": "reboot"})", "field 'kind'");
  expect_400("/api/v1/tasks", R"({"kind": "package_upgrade", "args": {"packages": "openssl"}})",
             "field 'args.packages'");
  expect_400("/api/v1/tasks", R"({"kind": "package_upgrade", "args": {"packages": ["a b"]}})",
             "holds a blank");
  HttpResponse bad_limit = Call("GET", "/api/v1/tasks?limit=0", "");
  EXPECT_EQ(bad_limit.status, 400);
  EXPECT_THAT(bad_limit.body, HasSubstr("limit"));

  HttpResponse missing = Call("GET", "/api/v1/tasks/t_9", "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("no task 't_9'"));
  // Nothing was started by any of them.
  EXPECT_TRUE(sent_.empty());
}

}  // namespace
}  // namespace vigil::server
