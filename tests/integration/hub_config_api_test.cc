// The config routes of the people's API (PROTOCOL.md: POST /api/v1/config, history, one
// version, diff, rollback) on an in-process Hub with a real ConfigService and store, asked with
// curl and with vigilctl: a tar publish gives 201 and a version, a broken fleet 422 with every
// problem and the old version live, a malformed tar or wrong type 400, only admins may, history
// and diff and rollback, and `vigilctl config ...` over the same routes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/signing.h"
#include "engine/tar.h"
#include "server/config_service.h"
#include "server/credentials.h"
#include "server/fleet.h"
#include "server/hub.h"
#include "server/hub_store.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

std::string FleetFixture(const std::string& name) {
  return std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/fleet/" + name;
}

std::map<std::string, std::string> FleetFiles(const std::string& name) {
  const std::filesystem::path root = FleetFixture(name);
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    files[std::filesystem::relative(entry.path(), root).string()] = content.str();
  }
  return files;
}

// A fleet with no nodes online: the config routes do not need one.
class NoFleet : public server::Fleet {
 public:
  std::vector<std::string> OnlineNodes() const override { return {}; }
  Result<server::CampaignRecord> StartCampaign(const server::CampaignSpec&) override {
    return Status::Unavailable("not in this test");
  }
  Result<std::unique_ptr<server::CampaignWatch>> WatchCampaign(std::string_view,
                                                               server::CampaignObserver) override {
    return Status::Unavailable("not in this test");
  }
  Result<server::CampaignTotals> Totals(std::string_view) const override {
    return Status::Unavailable("not in this test");
  }
  Status RemoveNode(std::string_view) override { return Status::Unavailable("not in this test"); }
};

struct Reply {
  int status = 0;
  std::string body;
  std::string err;
};

rapidjson::Document Json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError()) doc.SetNull();
  return doc;
}

std::string ErrorCode(const std::string& body) {
  rapidjson::Document doc = Json(body);
  if (!doc.IsObject() || !doc.HasMember("error") || !doc["error"].IsObject() ||
      !doc["error"].HasMember("code") || !doc["error"]["code"].IsString()) {
    return "<not an error body: " + body + ">";
  }
  return doc["error"]["code"].GetString();
}

class HubConfigApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = server::OpenEmbeddedHubStore(temp_.path() + "/state/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto key = GenerateSigningKey();
    ASSERT_TRUE(key.ok());
    auto configs = server::ConfigService::Open(*store_, *key, temp_.path() + "/state/work");
    ASSERT_TRUE(configs.ok()) << configs.status().ToString();
    configs_ = std::move(*configs);
    auto admin = server::CreateToken(*store_, server::Role::kAdmin, "adm", "local");
    auto operator_token = server::CreateToken(*store_, server::Role::kOperator, "op", "local");
    ASSERT_TRUE(admin.ok() && operator_token.ok());
    admin_ = admin->secret;
    admin_id_ = admin->record.id;
    operator_ = operator_token->secret;

    server::HubOptions options;
    options.state_dir = temp_.path() + "/state";
    options.insecure = true;
    options.store = store_.get();
    options.fleet = &fleet_;
    options.api_services.config = configs_.get();
    hub_ = std::make_unique<server::Hub>(std::move(options));
    ASSERT_TRUE(hub_->Start().ok());
    url_ = "http://127.0.0.1:" + std::to_string(hub_->port());
  }

  void TearDown() override {
    if (hub_) hub_->Stop();
  }

  // curl; `body_file` is sent as the body with `content_type` when given.
  Reply Curl(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = "", const std::string& content_type = "") {
    std::vector<std::string> argv = {
        "curl",           "-sS", "--max-time", "30", "-w",
        "\n%{http_code}", "-X",  method,       "-H", "Authorization: Bearer " + token};
    if (!body.empty()) {
      const std::string file = temp_.path() + "/body-" + std::to_string(++bodies_);
      std::ofstream(file, std::ios::binary) << body;
      argv.insert(argv.end(), {"-H", "Content-Type: " + content_type, "--data-binary", "@" + file});
    }
    argv.push_back(url_ + path);
    ProcessResult run = RunProcess(argv);
    Reply reply;
    const size_t newline = run.out.rfind('\n');
    if (newline != std::string::npos) {
      reply.body = run.out.substr(0, newline);
      reply.status = std::atoi(run.out.c_str() + newline + 1);
    }
    reply.err = run.err;
    return reply;
  }

  Reply PublishTar(const std::map<std::string, std::string>& files, const std::string& token = "") {
    auto archive = tar::Write(files);
    EXPECT_TRUE(archive.ok());
    return Curl("POST", "/api/v1/config", token.empty() ? admin_ : token,
                archive.ok() ? *archive : "", "application/x-tar");
  }

  ProcessResult Vigilctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {VIGILCTL_BIN, "--hub", url_, "--token", admin_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  TempDir temp_;
  std::unique_ptr<server::HubStore> store_;
  std::unique_ptr<server::ConfigService> configs_;
  NoFleet fleet_;
  std::unique_ptr<server::Hub> hub_;
  std::string url_, admin_, admin_id_, operator_;
  int bodies_ = 0;
};

TEST_F(HubConfigApiTest, PublishATarGivesANewVersion) {
  Reply reply = PublishTar(FleetFiles("good"));
  ASSERT_EQ(reply.status, 201) << reply.body << reply.err;
  rapidjson::Document doc = Json(reply.body);
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("version"));
  EXPECT_EQ(doc["version"].GetUint64(), 1u);
  EXPECT_EQ(configs_->current_version(), 1u);

  Reply history = Curl("GET", "/api/v1/config/history", admin_);
  ASSERT_EQ(history.status, 200) << history.body;
  doc = Json(history.body);
  ASSERT_TRUE(doc.IsArray() && doc.Size() == 1u) << history.body;
  EXPECT_EQ(doc[0]["version"].GetUint64(), 1u);
  EXPECT_TRUE(doc[0]["current"].GetBool());
  EXPECT_EQ(std::string(doc[0]["published_by"].GetString()), admin_id_);
  EXPECT_EQ(std::string(doc[0]["digest"].GetString()), server::ConfigDigest(FleetFiles("good")));
  EXPECT_EQ(doc[0]["files"].Size(), 3u);

  Reply version = Curl("GET", "/api/v1/config/1", admin_);
  ASSERT_EQ(version.status, 200) << version.body;
  doc = Json(version.body);
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("files") && doc.HasMember("info"));
  EXPECT_EQ(std::string(doc["files"]["fleet.yaml"].GetString()), FleetFiles("good")["fleet.yaml"]);
  EXPECT_EQ(Curl("GET", "/api/v1/config/7", admin_).status, 404);
  EXPECT_EQ(Curl("GET", "/api/v1/config/abc", admin_).status, 404);
}

TEST_F(HubConfigApiTest, ABrokenFleetIs422WithEveryProblemAndTheOldVersionStays) {
  ASSERT_EQ(PublishTar(FleetFiles("good")).status, 201);
  Reply reply = PublishTar(FleetFiles("broken"));
  ASSERT_EQ(reply.status, 422) << reply.body;
  EXPECT_EQ(ErrorCode(reply.body), "invalid_config");
  rapidjson::Document doc = Json(reply.body);
  EXPECT_THAT(std::string(doc["error"]["message"].GetString()),
              HasSubstr("nothing was published (version 1 stays current)"));
  ASSERT_TRUE(doc.HasMember("problems") && doc["problems"].IsArray());
  std::vector<std::string> problems;
  for (const auto& p : doc["problems"].GetArray()) {
    problems.push_back(std::string(p["file"].GetString()) + " " + p["pointer"].GetString() + " " +
                       p["message"].GetString());
  }
  EXPECT_GE(problems.size(), 5u);
  EXPECT_THAT(problems, Contains(HasSubstr("fleet.yaml /nodes/1/colour line 7: unknown key")));
  EXPECT_THAT(problems, Contains(HasSubstr("packs/bad.json /checks/bad-sql/query")));
  EXPECT_EQ(configs_->current_version(), 1u);
  // The refused attempt is in the audit chain, after the publish of version 1.
  Reply audit = Curl("GET", "/api/v1/audit", admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_THAT(audit.body, HasSubstr("\"config.publish\""));
  EXPECT_THAT(audit.body, HasSubstr("\"config.publish_rejected\""));
  EXPECT_LT(audit.body.find("\"config.publish\""), audit.body.find("config.publish_rejected"));
}

TEST_F(HubConfigApiTest, MalformedBodiesAndRolesAreRefused) {
  const auto files = FleetFiles("good");
  auto archive = tar::Write(files);
  ASSERT_TRUE(archive.ok());
  Reply json_type = Curl("POST", "/api/v1/config", admin_, *archive, "application/json");
  EXPECT_EQ(json_type.status, 400);
  EXPECT_THAT(json_type.body, HasSubstr("application/x-tar"));
  Reply cut = Curl("POST", "/api/v1/config", admin_, archive->substr(0, 1024), "application/x-tar");
  EXPECT_EQ(cut.status, 400);
  EXPECT_THAT(cut.body, HasSubstr("tar"));
  Reply forbidden = PublishTar(files, operator_);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(Curl("GET", "/api/v1/config/history", operator_).status, 403);
  EXPECT_EQ(configs_->current_version(), 0u);
}

TEST_F(HubConfigApiTest, DiffAndRollback) {
  auto v1 = FleetFiles("good");
  ASSERT_EQ(PublishTar(v1).status, 201);
  auto v2 = v1;
  v2["fleet.yaml"].replace(v2["fleet.yaml"].find("enforce: dry-run"), 16, "enforce: auto");
  v2["notes.txt"] = "why\n";
  ASSERT_EQ(PublishTar(v2).status, 201);

  Reply diff = Curl("GET", "/api/v1/config/diff?from=1&to=2", admin_);
  ASSERT_EQ(diff.status, 200) << diff.body;
  EXPECT_THAT(diff.body, HasSubstr("--- a/fleet.yaml\n+++ b/fleet.yaml\n"));
  EXPECT_THAT(diff.body, HasSubstr("-    enforce: dry-run\n+    enforce: auto\n"));
  EXPECT_THAT(diff.body, HasSubstr("--- /dev/null\n+++ b/notes.txt\n@@ -0,0 +1 @@\n+why\n"));
  EXPECT_THAT(diff.body, Not(HasSubstr("baseline.json")));
  EXPECT_EQ(Curl("GET", "/api/v1/config/diff?from=1", admin_).status, 400);
  EXPECT_EQ(Curl("GET", "/api/v1/config/diff?from=1&to=9", admin_).status, 404);

  Reply rolled =
      Curl("POST", "/api/v1/config/rollback", admin_, R"({"version": 1})", "application/json");
  ASSERT_EQ(rolled.status, 201) << rolled.body;
  rapidjson::Document doc = Json(rolled.body);
  EXPECT_EQ(doc["version"].GetUint64(), 3u);
  EXPECT_EQ(configs_->current_version(), 3u);
  Reply same = Curl("GET", "/api/v1/config/diff?from=1&to=3", admin_);
  EXPECT_EQ(same.status, 200);
  EXPECT_EQ(same.body, "");
  EXPECT_EQ(Curl("POST", "/api/v1/config/rollback", admin_, R"({"version": 8})", "application/json")
                .status,
            404);
  EXPECT_EQ(
      Curl("POST", "/api/v1/config/rollback", admin_, R"({"version": "1"})", "application/json")
          .status,
      400);
}

TEST_F(HubConfigApiTest, VigilctlPublishesListsDiffsAndRollsBack) {
  // A hidden file is not sent.
  TempDir dir;
  for (const auto& [path, content] : FleetFiles("good")) dir.WriteFile("/" + path, content);
  dir.WriteFile("/.git/config", "[core]\n");
  ProcessResult published = Vigilctl({"config", "publish", dir.path()});
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  EXPECT_THAT(published.out, HasSubstr("published version 1 (3 files)"));

  ProcessResult broken = Vigilctl({"config", "publish", FleetFixture("broken")});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_THAT(broken.err, HasSubstr("the hub refused the config"));
  EXPECT_THAT(broken.out, HasSubstr("fleet.yaml: /nodes/1/colour: line 7: unknown key 'colour'"));
  EXPECT_THAT(broken.out, HasSubstr("packs/bad.json: /checks/bad-sql/query: check bad-sql: "));

  dir.WriteFile("/site/extra.txt", "x\n");
  ASSERT_EQ(Vigilctl({"config", "publish", dir.path()}).exit_code, 0);
  ProcessResult diff = Vigilctl({"config", "diff", "1", "2"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_EQ(diff.out, "--- /dev/null\n+++ b/site/extra.txt\n@@ -0,0 +1 @@\n+x\n");

  ProcessResult rolled = Vigilctl({"config", "rollback", "1"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.err;
  EXPECT_THAT(rolled.out, HasSubstr("published version 3 (rollback to 1)"));
  ProcessResult history = Vigilctl({"config", "history", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, HasSubstr("\"note\":\"rollback to 1\""));
  ProcessResult missing = Vigilctl({"config", "rollback", "9"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no config version 9"));
  EXPECT_EQ(Vigilctl({"config", "publish", temp_.path() + "/nowhere"}).exit_code, 2);
}

}  // namespace
}  // namespace vigil
