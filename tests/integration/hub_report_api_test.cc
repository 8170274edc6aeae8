// GET /api/v1/reports/iec62443 of the real vigil-hub on 127.0.0.1 over TLS, asked with curl:
// 401 without a token or with a revoked one, 400 naming a bad format or time or an unknown
// parameter, and 200 for every format, over evidence written into the hub's store before it
// started (a failing node, a passing one and a silent one).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <ctime>
#include <optional>

#include "server/hub_store.h"
#include "tests/testing/hub_process.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::LineValue;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;

struct Reply {
  int status = 0;
  std::string body;
  std::string headers;
};

class HubReportApiTest : public ::testing::Test {
 protected:
  std::string State() const { return temp_.path() + "/state"; }

  std::string CliToken(const std::string& role) {
    ProcessResult result = RunProcess({VIGIL_HUB_BIN, "token", "create", "--role", role, "--name",
                                       "a " + role, "--state-dir", State()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return LineValue(result.out, "token");
  }

  // Three nodes with the checks of the built-in catalogue's SR 1.1 and SR 2.1, written before the
  // hub starts (the hub holds its store's lock while it runs).
  void WriteEvidence() {
    auto store = server::OpenEmbeddedHubStore(State() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto verdict = [&](const std::string& check, const std::string& sr,
                       const std::string& status, const std::string& time) {
      return R"({"kind":"verdict","check":")" + check + R"(","pack":"p","sr":[")" + sr +
             R"("],"sl":1,"status":")" + status + R"(","rows":[],"rows_total":0,"time":")" + time +
             "\"}";
    };
    for (const auto& [host, ssh] : {std::pair{"weak-1", "fail"}, std::pair{"hard-1", "pass"},
                                    std::pair{"silent-1", "pass"}}) {
      server::NodeRecord node;
      node.host_identifier = node.hostname = host;
      node.key_hash = std::string("kh-") + host;
      node.enrolled_at = 1;
      // None is connected. silent-1 was last heard from an hour ago (240 of its 15 s cycles);
      // the others now, with a 10 minute cycle so that a slow start does not make them stale.
      const bool silent = std::string(host) == "silent-1";
      node.last_seen = silent ? NowSeconds() - 3600 : NowSeconds();
      node.cycle_ms = silent ? 15000 : 600000;
      ASSERT_TRUE((*store)->PutNode(node).ok());
      // Its verdicts are as old as the last word from it.
      const std::string time = Rfc3339(node.last_seen);
      ASSERT_TRUE((*store)
                      ->StoreEvidence(host, 1,
                                      {verdict("ssh-root-login", "SR 1.1", ssh, time),
                                       verdict("auditd-running", "SR 2.8", "pass", time)})
                      .ok());
    }
  }

  static int64_t NowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static std::string NowRfc3339() { return Rfc3339(NowSeconds()); }
  static std::string Rfc3339(int64_t unix_seconds) {
    char buffer[32];
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm utc{};
    gmtime_r(&t, &utc);
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
  }

  bool Start() {
    hub_.emplace(VIGIL_HUB_BIN, temp_.path(),
                 std::vector<std::string>{"--listen", "127.0.0.1:0", "--state-dir", State()});
    return hub_->WaitListening();
  }

  Reply Get(const std::string& path, const std::string& token) {
    const std::string headers_file = temp_.path() + "/headers";
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}",
                                     "--cacert", hub_->cert(), "-D", headers_file};
    if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    argv.push_back(hub_->url() + path);
    ProcessResult run = RunProcess(argv);
    Reply reply;
    const size_t newline = run.out.rfind('\n');
    if (newline != std::string::npos) {
      reply.body = run.out.substr(0, newline);
      reply.status = std::atoi(run.out.c_str() + newline + 1);
    }
    reply.headers = ReadFile(headers_file);
    return reply;
  }

  TempDir temp_;
  std::optional<testing::HubProcess> hub_;
};

TEST_F(HubReportApiTest, NeedsAValidToken) {
  const std::string viewer = CliToken("viewer");
  ASSERT_TRUE(Start()) << hub_->err();
  EXPECT_EQ(Get("/api/v1/reports/iec62443", "").status, 401);
  EXPECT_EQ(Get("/api/v1/reports/iec62443", "vgt_not_a_token").status, 401);
  // The report is the viewer's: every role may read it.
  EXPECT_EQ(Get("/api/v1/reports/iec62443", viewer).status, 200);
}

TEST_F(HubReportApiTest, BadParametersAre400NamingThem) {
  const std::string viewer = CliToken("viewer");
  ASSERT_TRUE(Start()) << hub_->err();
  Reply format = Get("/api/v1/reports/iec62443?format=pdf", viewer);
  EXPECT_EQ(format.status, 400);
  EXPECT_THAT(format.body, HasSubstr("format must be json, html, csv or text, not 'pdf'"));
  Reply at = Get("/api/v1/reports/iec62443?at=last%20week", viewer);
  EXPECT_EQ(at.status, 400);
  EXPECT_THAT(at.body, HasSubstr("at \\\"last week\\\" is not a time"));
  Reply unknown = Get("/api/v1/reports/iec62443?since=1", viewer);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr("since"));
}

TEST_F(HubReportApiTest, EveryFormatOverStoredEvidence) {
  WriteEvidence();
  const std::string viewer = CliToken("viewer");
  ASSERT_TRUE(Start()) << hub_->err();

  Reply json = Get("/api/v1/reports/iec62443?format=json", viewer);
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_THAT(json.headers, HasSubstr("application/json"));
  rapidjson::Document doc;
  doc.Parse(json.body.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json.body.substr(0, 200);
  EXPECT_STREQ(doc["schema"].GetString(), "vigil.fleet_report/1");
  ASSERT_EQ(doc["nodes"].Size(), 3u);
  // Worst first: the failing node, the silent (stale) one, then the passing one.
  EXPECT_STREQ(doc["nodes"][0]["identifier"].GetString(), "weak-1");
  EXPECT_STREQ(doc["nodes"][0]["sr_status"]["SR 1.1"].GetString(), "fail");
  EXPECT_STREQ(doc["nodes"][1]["identifier"].GetString(), "silent-1");
  EXPECT_STREQ(doc["nodes"][1]["status"].GetString(), "stale");
  EXPECT_STREQ(doc["nodes"][2]["identifier"].GetString(), "hard-1");
  EXPECT_STREQ(doc["nodes"][2]["sr_status"]["SR 1.1"].GetString(), "pass");
  EXPECT_GT(doc["not_covered"].Size(), 0u);

  Reply csv = Get("/api/v1/reports/iec62443?format=csv", viewer);
  ASSERT_EQ(csv.status, 200);
  EXPECT_THAT(csv.headers, HasSubstr("text/csv"));
  EXPECT_THAT(csv.body, HasSubstr("weak-1,weak-1,fail,false,false,SR 1.1,FR 1,"));

  Reply text = Get("/api/v1/reports/iec62443?format=text", viewer);
  ASSERT_EQ(text.status, 200);
  EXPECT_THAT(text.body, HasSubstr("[FAIL] weak-1"));
  EXPECT_THAT(text.body, HasSubstr("[STALE] silent-1"));

  Reply html = Get("/api/v1/reports/iec62443?format=html", viewer);
  ASSERT_EQ(html.status, 200);
  EXPECT_THAT(html.headers, HasSubstr("text/html"));
  EXPECT_THAT(html.body, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html.body, Not(HasSubstr("<script")));

  // At unix second 1000 the nodes were enrolled (at 1) but had sent nothing: all stale.
  Reply then = Get("/api/v1/reports/iec62443?format=json&at=1000", viewer);
  ASSERT_EQ(then.status, 200);
  rapidjson::Document old;
  old.Parse(then.body.c_str());
  ASSERT_FALSE(old.HasParseError());
  EXPECT_TRUE(old["historical"].GetBool());
  EXPECT_EQ(old["summary"]["nodes"]["stale"].GetInt(), 3);
  EXPECT_EQ(old["summary"]["nodes"]["fail"].GetInt(), 0);
}

}  // namespace
}  // namespace vigil
