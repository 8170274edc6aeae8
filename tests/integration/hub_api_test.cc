// The hub's people's API (PROTOCOL.md, "People's API"), asked of the real vigil-hub on 127.0.0.1
// over TLS with curl, and its campaign stream with a Beast WebSocket client: 401 without or with
// a bad or revoked token, 403 by role for every class of route, the first admin's token from
// `vigil-hub token create`, tokens made and revoked through the API, a campaign with no nodes
// streaming totals and done, stored answers as JSON and CSV, every person's action in the audit
// chain, and a restart that keeps tokens, campaigns and audit records. Agents come in the fleet
// tests.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "server/credentials.h"
#include "server/fleet.h"
#include "server/hub.h"
#include "server/hub_store.h"
#include "tests/testing/background.h"
#include "tests/testing/hub_process.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::ReadFile;
using testing::LineValue;

// `vigil-hub serve --listen 127.0.0.1:0 --state-dir STATE` in the background, its output in
// files beside STATE.
class HubProcess : public testing::HubProcess {
 public:
  explicit HubProcess(const std::string& state)
      : testing::HubProcess(VIGIL_HUB_BIN, state.substr(0, state.rfind('/')),
                            {"--listen", "127.0.0.1:0", "--state-dir", state}) {}
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::string headers;
  std::string err;
};

// The JSON of a reply body; a null document when it is not JSON.
rapidjson::Document Json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError()) doc.SetNull();
  return doc;
}

std::string ErrorCode(const std::string& body, std::string* message = nullptr) {
  rapidjson::Document doc = Json(body);
  if (!doc.IsObject() || !doc.HasMember("error") || !doc["error"].IsObject() ||
      !doc["error"].HasMember("code") || !doc["error"]["code"].IsString() ||
      !doc["error"].HasMember("message") || !doc["error"]["message"].IsString()) {
    return "<not an error body: " + body + ">";
  }
  if (message) *message = doc["error"]["message"].GetString();
  return doc["error"]["code"].GetString();
}

std::string Str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) return "<absent>";
  return object[key].GetString();
}

uint64_t Num(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsUint64()) return 999999;
  return object[key].GetUint64();
}

// An analyst's campaign stream: a WebSocket over TLS trusting only the hub's certificate.
class StreamClient {
 public:
  StreamClient(uint16_t port, const std::string& ca_file, const std::string& target,
               const std::string& token)
      : ctx_(ssl::context::tls_client), ws_(ioc_, ctx_) {
    beast::error_code ec;
    ctx_.load_verify_file(ca_file, ec);
    ctx_.set_verify_mode(ssl::verify_peer);
    error_ = ec;
    if (error_) return;
    if (!token.empty()) {
      ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& request) {
        request.set(http::field::authorization, "Bearer " + token);
      }));
    }
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    error_ =
        Await([&](auto handler) { beast::get_lowest_layer(ws_).async_connect(endpoint, handler); });
    if (!error_) {
      error_ = Await([&](auto handler) {
        ws_.next_layer().async_handshake(ssl::stream_base::client, handler);
      });
    }
    if (!error_) {
      error_ = Await([&](auto handler) {
        ws_.async_handshake(response_, "127.0.0.1:" + std::to_string(port), target, handler);
      });
    }
  }

  beast::error_code error() const { return error_; }
  // The HTTP status of the handshake's answer: 101, or why it was refused.
  int status() const { return static_cast<int>(response_.result_int()); }
  std::string refusal() const { return response_.body(); }

  beast::error_code Read(std::string& text) {
    beast::flat_buffer buffer;
    beast::error_code ec = Await([&](auto handler) { ws_.async_read(buffer, handler); });
    text = beast::buffers_to_string(buffer.data());
    return ec;
  }

  // Every frame until the hub closes; the error that ended it in `end`.
  std::vector<std::string> ReadAll(beast::error_code& end) {
    std::vector<std::string> frames;
    std::string text;
    while (!(end = Read(text))) frames.push_back(text);
    return frames;
  }

  int close_code() const { return ws_.reason().code; }

 private:
  template <typename Start>
  beast::error_code Await(Start start) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(20));
    if (!result) {
      beast::get_lowest_layer(ws_).close();
      ioc_.restart();
      ioc_.run();
      return net::error::timed_out;
    }
    return *result;
  }

  net::io_context ioc_;
  ssl::context ctx_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  websocket::response_type response_;
  beast::error_code error_;
};

class HubApiTest : public ::testing::Test {
 protected:
  std::string State() const { return temp_.path() + "/state"; }

  // `vigil-hub token create --role ROLE` on the stopped hub: the secret, or "" on failure.
  std::string CliToken(const std::string& role, ProcessResult* run = nullptr) {
    ProcessResult result = RunProcess({VIGIL_HUB_BIN, "token", "create", "--role", role, "--name",
                                       "first " + role, "--state-dir", State()});
    if (run) *run = result;
    if (result.exit_code != 0) return "";
    return LineValue(result.out, "token");
  }

  bool Start() {
    hub_.reset();
    hub_.emplace(State());
    return hub_->WaitListening();
  }

  // curl METHOD PATH with `token` (none when empty) and a JSON body (none when empty).
  HttpReply Call(const std::string& method, const std::string& path, const std::string& token,
                 const std::string& body = "") {
    const std::string headers_file = temp_.path() + "/headers";
    std::vector<std::string> argv = {
        "curl",     "-sS",        "--max-time", "20",   "-w", "\n%{http_code}",
        "--cacert", hub_->cert(), "-X",         method, "-D", headers_file};
    if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    if (!body.empty()) {
      argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    }
    argv.push_back(hub_->url() + path);
    ProcessResult run = RunProcess(argv);
    HttpReply reply;
    reply.err = run.err;
    size_t newline = run.out.rfind('\n');
    if (newline != std::string::npos) {
      reply.body = run.out.substr(0, newline);
      reply.status = std::atoi(run.out.c_str() + newline + 1);
    }
    reply.headers = ReadFile(headers_file);
    return reply;
  }

  // POST /api/v1/tokens as `admin`: the new token's secret.
  std::string ApiToken(const std::string& admin, const std::string& role) {
    HttpReply made = Call("POST", "/api/v1/tokens", admin,
                          R"({"role": ")" + role + R"(", "name": "a )" + role + R"("})");
    EXPECT_EQ(made.status, 201) << made.body;
    return Str(Json(made.body), "token");
  }

  TempDir temp_;
  std::optional<HubProcess> hub_;
};

TEST_F(HubApiTest, NoTokenOrABadOneIs401WithWwwAuthenticate) {
  ASSERT_NE(CliToken("admin"), "");
  ASSERT_TRUE(Start()) << hub_->err();
  for (const std::string& token : {std::string(), std::string("vgt_not_a_token")}) {
    HttpReply reply = Call("GET", "/api/v1/nodes", token);
    EXPECT_EQ(reply.status, 401) << token;
    std::string message;
    EXPECT_EQ(ErrorCode(reply.body, &message), "unauthenticated");
    EXPECT_THAT(reply.headers, HasSubstr("WWW-Authenticate: Bearer"));
    if (token.empty()) {
      EXPECT_THAT(message, HasSubstr("Authorization: Bearer TOKEN"));
    }
  }
  EXPECT_EQ(Call("POST", "/api/v1/queries", "", R"({"sql": "SELECT 1"})").status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/audit/verify", "vgt_nope").status, 401);
  // The route table is public; an unknown route is 404 whoever asks.
  EXPECT_EQ(Call("GET", "/api/v1/nothing", "").status, 404);
  HttpReply wrong_method = Call("PUT", "/api/v1/tokens", "");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_THAT(wrong_method.headers, HasSubstr("Allow: POST, GET"));
}

TEST_F(HubApiTest, EachRouteClassNeedsItsRole) {
  const std::string admin = CliToken("admin");
  ASSERT_NE(admin, "");
  ASSERT_TRUE(Start()) << hub_->err();
  const std::string viewer = ApiToken(admin, "viewer");
  const std::string analyst = ApiToken(admin, "analyst");
  const std::string op = ApiToken(admin, "operator");

  struct Case {
    std::string method, path, body, needs;
  };
  const std::vector<Case> analyst_routes = {
      {"POST", "/api/v1/queries", R"({"sql": "SELECT 1"})", "analyst"},
      {"GET", "/api/v1/queries", "", "analyst"},
      {"GET", "/api/v1/queries/q_1", "", "analyst"},
  };
  const std::vector<Case> admin_routes = {
      {"POST", "/api/v1/tokens", R"({"role": "viewer", "name": "x"})", "admin"},
      {"GET", "/api/v1/tokens", "", "admin"},
      {"DELETE", "/api/v1/tokens/tok_000000000000", "", "admin"},
      {"DELETE", "/api/v1/nodes/web-1", "", "admin"},
      {"GET", "/api/v1/audit", "", "admin"},
      {"GET", "/api/v1/audit/verify", "", "admin"},
  };
  for (const auto& [token, role] :
       {std::pair{viewer, "viewer"}, std::pair{analyst, "analyst"}, std::pair{op, "operator"}}) {
    std::vector<Case> refused = admin_routes;
    if (std::string(role) == "viewer") {
      refused.insert(refused.end(), analyst_routes.begin(), analyst_routes.end());
    }
    for (const Case& c : refused) {
      HttpReply reply = Call(c.method, c.path, token, c.body);
      EXPECT_EQ(reply.status, 403) << role << " " << c.method << " " << c.path;
      std::string message;
      EXPECT_EQ(ErrorCode(reply.body, &message), "forbidden");
      EXPECT_THAT(message, HasSubstr("needs the " + c.needs + " role"));
      EXPECT_THAT(message, HasSubstr(std::string("has the ") + role + " role"));
    }
  }
  // Each role may use what it is given.
  EXPECT_EQ(Call("GET", "/api/v1/nodes", viewer).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/nodes", viewer).body, "[]");
  EXPECT_EQ(Call("GET", "/api/v1/queries", analyst).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/queries", op).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/queries/q_404", analyst).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/audit/verify", admin).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/tokens", admin).status, 200);
  HttpReply no_node = Call("DELETE", "/api/v1/nodes/web-1", admin);
  EXPECT_EQ(no_node.status, 404);
  EXPECT_EQ(ErrorCode(no_node.body), "not_found");

  // The stream: refused before the handshake without a token, for a viewer, for no campaign.
  StreamClient anonymous(hub_->port(), hub_->cert(), "/api/v1/queries/q_1/stream", "");
  EXPECT_TRUE(anonymous.error());
  EXPECT_EQ(anonymous.status(), 401);
  StreamClient as_viewer(hub_->port(), hub_->cert(), "/api/v1/queries/q_1/stream", viewer);
  EXPECT_EQ(as_viewer.status(), 403);
  StreamClient unknown(hub_->port(), hub_->cert(), "/api/v1/queries/q_9/stream", analyst);
  EXPECT_EQ(unknown.status(), 404);
  EXPECT_EQ(ErrorCode(unknown.refusal()), "not_found");
}

TEST_F(HubApiTest, TokensFromTheCliAndTheApiAndRevocation) {
  ProcessResult first;
  const std::string admin = CliToken("admin", &first);
  ASSERT_NE(admin, "") << first.err;
  EXPECT_THAT(admin, ::testing::StartsWith("vgt_"));
  EXPECT_THAT(first.err, HasSubstr("shown this once"));
  const std::string admin_id = LineValue(first.out, "id");

  ProcessResult listed = RunProcess({VIGIL_HUB_BIN, "token", "list", "--state-dir", State()});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(admin_id));
  EXPECT_THAT(listed.out, HasSubstr("first admin"));
  EXPECT_THAT(listed.out, ::testing::Not(HasSubstr(admin)));  // never the secret

  ASSERT_TRUE(Start()) << hub_->err();
  // While the hub holds the store, the CLI says why it cannot.
  ProcessResult busy;
  EXPECT_EQ(CliToken("admin", &busy), "");
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_THAT(busy.err, HasSubstr("is vigil-hub serve running"));

  HttpReply made =
      Call("POST", "/api/v1/tokens", admin, R"({"role": "analyst", "name": "ci job"})");
  ASSERT_EQ(made.status, 201) << made.body;
  rapidjson::Document token = Json(made.body);
  EXPECT_EQ(Str(token, "role"), "analyst");
  EXPECT_EQ(Str(token, "name"), "ci job");
  const std::string analyst_id = Str(token, "id");
  const std::string analyst = Str(token, "token");
  EXPECT_EQ(Call("GET", "/api/v1/queries", analyst).status, 200);

  HttpReply list = Call("GET", "/api/v1/tokens", admin);
  ASSERT_EQ(list.status, 200);
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr(analyst)));
  rapidjson::Document tokens = Json(list.body);
  ASSERT_TRUE(tokens.IsArray());
  ASSERT_EQ(tokens.Size(), 2u);
  EXPECT_EQ(Str(tokens[0], "id"), admin_id);
  EXPECT_EQ(Str(tokens[0], "created_by"), "local");
  EXPECT_EQ(Str(tokens[1], "id"), analyst_id);
  EXPECT_EQ(Str(tokens[1], "created_by"), admin_id);
  EXPECT_FALSE(tokens[1]["revoked"].GetBool());

  // Bad bodies name the field.
  std::string message;
  HttpReply bad_role = Call("POST", "/api/v1/tokens", admin, R"({"role": "root", "name": "x"})");
  EXPECT_EQ(bad_role.status, 400);
  EXPECT_EQ(ErrorCode(bad_role.body, &message), "malformed");
  EXPECT_THAT(message, HasSubstr("unknown role 'root'"));
  HttpReply extra =
      Call("POST", "/api/v1/tokens", admin, R"({"role": "viewer", "name": "x", "ttl": 3})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_EQ(ErrorCode(extra.body, &message), "malformed");
  EXPECT_THAT(message, HasSubstr("unknown field 'ttl'"));
  HttpReply no_name = Call("POST", "/api/v1/tokens", admin, R"({"role": "viewer"})");
  EXPECT_EQ(no_name.status, 400);
  EXPECT_EQ(ErrorCode(no_name.body, &message), "malformed");
  EXPECT_THAT(message, HasSubstr("'name'"));

  HttpReply revoked = Call("DELETE", "/api/v1/tokens/" + analyst_id, admin);
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_TRUE(Json(revoked.body)["revoked"].GetBool());
  HttpReply after = Call("GET", "/api/v1/queries", analyst);
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(ErrorCode(after.body), "unauthenticated");
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/tok_ffffffffffff", admin).status, 404);
}

TEST_F(HubApiTest, CampaignWithNoNodesStreamsTotalsAndDoneAndIsStored) {
  const std::string admin = CliToken("admin");
  ASSERT_NE(admin, "");
  ASSERT_TRUE(Start()) << hub_->err();
  const std::string analyst = ApiToken(admin, "analyst");

  HttpReply started = Call("POST", "/api/v1/queries", analyst,
                           R"({"sql": "SELECT 1 AS one", "target": "all", "timeout_ms": 500,
                               "deadline_s": 1})");
  ASSERT_EQ(started.status, 201) << started.body;
  rapidjson::Document campaign = Json(started.body);
  const std::string id = Str(campaign, "id");
  EXPECT_EQ(id, "q_1");
  EXPECT_EQ(Num(campaign, "expected"), 0u);
  EXPECT_EQ(Num(campaign, "online"), 0u);
  EXPECT_EQ(Num(campaign, "offline"), 0u);

  StreamClient stream(hub_->port(), hub_->cert(), "/api/v1/queries/" + id + "/stream", analyst);
  ASSERT_FALSE(stream.error()) << stream.error().message() << " " << stream.refusal();
  beast::error_code end;
  std::vector<std::string> frames = stream.ReadAll(end);
  EXPECT_EQ(end, websocket::error::closed) << end.message();
  EXPECT_EQ(stream.close_code(), 1000);
  EXPECT_THAT(frames, ElementsAre(R"({"type":"totals","expected":0,"answered":0,"failed":0,)"
                                  R"("offline":0})",
                                  R"({"type":"done"})"));

  HttpReply json = Call("GET", "/api/v1/queries/" + id + "?format=json", analyst);
  ASSERT_EQ(json.status, 200) << json.body;
  rapidjson::Document stored = Json(json.body);
  ASSERT_TRUE(stored.IsObject()) << json.body;
  EXPECT_EQ(Str(stored["campaign"], "id"), id);
  EXPECT_EQ(Str(stored["campaign"], "sql"), "SELECT 1 AS one");
  EXPECT_EQ(Str(stored["campaign"], "target"), "all");
  EXPECT_EQ(Num(stored["campaign"], "timeout_ms"), 500u);
  EXPECT_EQ(Num(stored["totals"], "expected"), 0u);
  EXPECT_TRUE(stored["nodes"].IsArray());
  EXPECT_EQ(stored["nodes"].Size(), 0u);

  HttpReply csv = Call("GET", "/api/v1/queries/" + id + "?format=csv", analyst);
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body, "node\r\n");
  EXPECT_THAT(csv.headers, HasSubstr("text/csv"));

  HttpReply list = Call("GET", "/api/v1/queries", analyst);
  rapidjson::Document campaigns = Json(list.body);
  ASSERT_TRUE(campaigns.IsArray()) << list.body;
  ASSERT_EQ(campaigns.Size(), 1u);
  EXPECT_EQ(Str(campaigns[0]["campaign"], "id"), id);
  EXPECT_TRUE(campaigns[0]["campaign"]["finished"].GetBool());
  EXPECT_EQ(Num(campaigns[0]["totals"], "answered"), 0u);

  // Bad requests name what is wrong.
  std::string message;
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"target": "all"})", "'sql'"},
           {R"({"sql": ""})", "'sql'"},
           {R"({"sql": "SELECT 1", "timeout_ms": "soon"})", "'timeout_ms'"},
           {R"({"sql": "SELECT 1", "deadline_s": 0})", "'deadline_s'"},
           {R"({"sql": "SELECT 1", "wait_s": -1})", "'wait_s'"},
           {R"({"sql": "SELECT 1", "targets": "all"})", "unknown field 'targets'"},
           {R"(["SELECT 1"])", "JSON object"},
           {R"({"sql": )", "not JSON"}}) {
    HttpReply reply = Call("POST", "/api/v1/queries", analyst, body);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(ErrorCode(reply.body, &message), "malformed") << body;
    EXPECT_THAT(message, HasSubstr(field)) << body;
  }
  HttpReply xml = Call("GET", "/api/v1/queries/" + id + "?format=xml", analyst);
  EXPECT_EQ(xml.status, 400);
  EXPECT_EQ(ErrorCode(xml.body, &message), "malformed");
  EXPECT_THAT(message, HasSubstr("format must be json or csv"));
}

// Answers planted in the store before the hub starts (agents come in the fleet tests): the
// stored results as JSON and as CSV with RFC 4180 quoting; errors only in JSON.
TEST_F(HubApiTest, StoredAnswersAsJsonAndCsv) {
  const std::string admin = CliToken("admin");
  ASSERT_NE(admin, "");
  {
    auto store = server::OpenEmbeddedHubStore(State() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto id = (*store)->NextCampaignId();
    ASSERT_TRUE(id.ok());
    server::CampaignRecord campaign;
    campaign.id = *id;
    campaign.sql = "SELECT name, note FROM t";
    campaign.target = "all";
    campaign.expected = {"db-1", "web-1", "web-2"};
    campaign.created_by = "tok_000000000001";
    campaign.created_at = 1'700'000'000'000;
    campaign.deadline = 1'700'000'030'000;
    campaign.timeout_ms = 1000;
    campaign.finished = true;
    ASSERT_TRUE((*store)->PutCampaign(campaign).ok());
    server::AnswerRecord web1{*id,
                              "web-1",
                              server::AnswerRecord::Status::kOk,
                              {"name", "note"},
                              R"([["a","plain"],["b","comma, \"quoted\"\nline"],["c",null]])",
                              3,
                              3,
                              "",
                              1.5,
                              1'700'000'001'000};
    server::AnswerRecord db1{*id,
                             "db-1",
                             server::AnswerRecord::Status::kError,
                             {},
                             "",
                             0,
                             0,
                             "no such table: t",
                             0.25,
                             1'700'000'001'000};
    server::AnswerRecord web2 = web1;
    web2.host_identifier = "web-2";
    web2.rows_json = R"([["d",7]])";
    web2.rows = web2.rows_total = 1;
    for (const auto& answer : {web1, db1, web2}) {
      auto put = (*store)->PutAnswer(answer);
      ASSERT_TRUE(put.ok() && *put) << answer.host_identifier;
    }
  }
  ASSERT_TRUE(Start()) << hub_->err();
  const std::string analyst = ApiToken(admin, "analyst");

  HttpReply csv = Call("GET", "/api/v1/queries/q_1?format=csv", analyst);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body,
            "node,name,note\r\n"
            "web-1,a,plain\r\n"
            "web-1,b,\"comma, \"\"quoted\"\"\nline\"\r\n"
            "web-1,c,\r\n"
            "web-2,d,7\r\n");

  HttpReply json = Call("GET", "/api/v1/queries/q_1", analyst);
  ASSERT_EQ(json.status, 200) << json.body;
  rapidjson::Document doc = Json(json.body);
  ASSERT_TRUE(doc.IsObject()) << json.body;
  EXPECT_EQ(Num(doc["totals"], "expected"), 3u);
  EXPECT_EQ(Num(doc["totals"], "answered"), 2u);
  EXPECT_EQ(Num(doc["totals"], "failed"), 1u);
  EXPECT_EQ(Str(doc["campaign"], "created_at"), "2023-11-14T22:13:20Z");
  const rapidjson::Value& nodes = doc["nodes"];
  ASSERT_TRUE(nodes.IsArray());
  ASSERT_EQ(nodes.Size(), 3u);
  EXPECT_EQ(Str(nodes[0], "node"), "db-1");
  EXPECT_EQ(Str(nodes[0], "status"), "error");
  EXPECT_EQ(Str(nodes[0], "error"), "no such table: t");
  EXPECT_EQ(Str(nodes[1], "node"), "web-1");
  EXPECT_EQ(Str(nodes[1], "status"), "ok");
  EXPECT_TRUE(nodes[1]["error"].IsNull());
  EXPECT_EQ(Num(nodes[1], "rows_total"), 3u);
  ASSERT_TRUE(nodes[1]["rows"].IsArray());
  EXPECT_EQ(nodes[1]["rows"].Size(), 3u);
  EXPECT_EQ(std::string(nodes[1]["rows"][1][1].GetString()), "comma, \"quoted\"\nline");
  EXPECT_EQ(nodes[1]["columns"].Size(), 2u);

  // The stream of a finished campaign replays what is stored, then ends.
  StreamClient stream(hub_->port(), hub_->cert(), "/api/v1/queries/q_1/stream", analyst);
  ASSERT_FALSE(stream.error()) << stream.error().message() << " " << stream.refusal();
  beast::error_code end;
  std::vector<std::string> frames = stream.ReadAll(end);
  EXPECT_EQ(stream.close_code(), 1000);
  ASSERT_GE(frames.size(), 5u);
  std::vector<std::string> types;
  for (const std::string& frame : frames) types.push_back(Str(Json(frame), "type"));
  EXPECT_EQ(std::count(types.begin(), types.end(), "result"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "error"), 1);
  EXPECT_EQ(types.back(), "done");
  rapidjson::Document last_totals = Json(frames[frames.size() - 2]);
  EXPECT_EQ(Str(last_totals, "type"), "totals");
  EXPECT_EQ(Num(last_totals, "answered"), 2u);
  EXPECT_EQ(Num(last_totals, "failed"), 1u);
  for (const std::string& frame : frames) {
    rapidjson::Document doc_frame = Json(frame);
    if (Str(doc_frame, "type") == "error") {
      EXPECT_EQ(Str(doc_frame, "node"), "db-1");
      EXPECT_EQ(Str(doc_frame, "message"), "no such table: t");
    }
    if (Str(doc_frame, "type") == "result" && Str(doc_frame, "node") == "web-2") {
      EXPECT_EQ(frame.find(R"("columns":["name","note"],"rows":[["d",7]])") != std::string::npos,
                true)
          << frame;
    }
  }
}

TEST_F(HubApiTest, EveryActionIsAuditedAndARestartKeepsEverything) {
  ProcessResult first;
  const std::string admin = CliToken("admin", &first);
  ASSERT_NE(admin, "");
  const std::string admin_id = LineValue(first.out, "id");
  ASSERT_TRUE(Start()) << hub_->err();
  HttpReply made = Call("POST", "/api/v1/tokens", admin, R"({"role": "analyst", "name": "ana"})");
  ASSERT_EQ(made.status, 201);
  const std::string analyst = Str(Json(made.body), "token");
  const std::string analyst_id = Str(Json(made.body), "id");
  HttpReply viewer_made =
      Call("POST", "/api/v1/tokens", admin, R"({"role": "viewer", "name": "vic"})");
  const std::string viewer_id = Str(Json(viewer_made.body), "id");
  ASSERT_EQ(Call("DELETE", "/api/v1/tokens/" + viewer_id, admin).status, 200);
  HttpReply started =
      Call("POST", "/api/v1/queries", analyst, R"({"sql": "SELECT 2", "deadline_s": 1})");
  ASSERT_EQ(started.status, 201) << started.body;

  HttpReply audit = Call("GET", "/api/v1/audit", admin);
  ASSERT_EQ(audit.status, 200) << audit.body;
  rapidjson::Document records = Json(audit.body);
  ASSERT_TRUE(records.IsArray()) << audit.body;
  std::vector<std::string> seen;
  for (const auto& record : records.GetArray()) {
    seen.push_back(Str(record, "actor") + " " + Str(record, "action") + " " +
                   Str(record, "subject"));
  }
  EXPECT_THAT(
      seen, ElementsAre("local token.create " + admin_id, admin_id + " token.create " + analyst_id,
                        admin_id + " token.create " + viewer_id,
                        admin_id + " token.revoke " + viewer_id, analyst_id + " query.start q_1"));
  EXPECT_EQ(std::string(records[4]["detail"]["sql"].GetString()), "SELECT 2");
  HttpReply after = Call("GET", "/api/v1/audit?after=3", admin);
  rapidjson::Document tail = Json(after.body);
  ASSERT_TRUE(tail.IsArray());
  EXPECT_EQ(tail.Size(), 2u);
  EXPECT_EQ(Call("GET", "/api/v1/audit?after=x", admin).status, 400);

  HttpReply verify = Call("GET", "/api/v1/audit/verify", admin);
  ASSERT_EQ(verify.status, 200);
  rapidjson::Document verified = Json(verify.body);
  EXPECT_TRUE(verified["intact"].GetBool()) << verify.body;
  EXPECT_EQ(Num(verified, "records"), 5u);
  EXPECT_EQ(Num(verified["head"], "seq"), 5u);
  EXPECT_TRUE(verified["problem"].IsNull());
  const std::string head = Str(verified["head"], "hash");

  HttpReply metrics = Call("GET", "/metrics", "");
  EXPECT_THAT(metrics.body, HasSubstr("vigil_hub_store_bytes "));
  EXPECT_THAT(metrics.body, HasSubstr("vigil_hub_campaign_streams_total 0\n"));

  ASSERT_EQ(hub_->Terminate(), 0) << hub_->err();
  ASSERT_TRUE(Start()) << hub_->err();
  EXPECT_EQ(Call("GET", "/api/v1/queries", analyst).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/tokens", admin).status, 200);
  HttpReply kept = Call("GET", "/api/v1/queries/q_1", analyst);
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(Str(Json(kept.body)["campaign"], "sql"), "SELECT 2");
  HttpReply verify_again = Call("GET", "/api/v1/audit/verify", admin);
  rapidjson::Document again = Json(verify_again.body);
  EXPECT_TRUE(again["intact"].GetBool());
  EXPECT_EQ(Num(again, "records"), 5u);
  EXPECT_EQ(Str(again["head"], "hash"), head);
  // The revoked token stays revoked; a new campaign gets the next id.
  HttpReply next =
      Call("POST", "/api/v1/queries", analyst, R"({"sql": "SELECT 3", "deadline_s": 1})");
  EXPECT_EQ(Str(Json(next.body), "id"), "q_2");
}

TEST_F(HubApiTest, ServePrintsTheEnrollSecretFileNeverTheSecret) {
  ASSERT_TRUE(Start()) << hub_->err();
  const std::string file = LineValue(hub_->out(), "enroll-secret-file");
  EXPECT_EQ(file, State() + "/enroll_secret");
  std::string secret = ReadFile(file);
  while (!secret.empty() && secret.back() == '\n') secret.pop_back();
  ASSERT_FALSE(secret.empty());
  EXPECT_THAT(hub_->out(), ::testing::Not(HasSubstr(secret)));
  EXPECT_THAT(hub_->err(), ::testing::Not(HasSubstr(secret)));
}

TEST_F(HubApiTest, TokenCommandsTellTheirUsage) {
  ProcessResult no_role = RunProcess({VIGIL_HUB_BIN, "token", "create", "--state-dir", State()});
  EXPECT_EQ(no_role.exit_code, 2);
  EXPECT_THAT(no_role.err, HasSubstr("--role is required"));
  ProcessResult bad_role =
      RunProcess({VIGIL_HUB_BIN, "token", "create", "--role", "king", "--state-dir", State()});
  EXPECT_EQ(bad_role.exit_code, 2);
  EXPECT_THAT(bad_role.err, HasSubstr("unknown role 'king'"));
  ProcessResult help = RunProcess({VIGIL_HUB_BIN, "token", "create", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--role"));
  EXPECT_THAT(help.out, HasSubstr("the hub must be"));
  ProcessResult serve_help = RunProcess({VIGIL_HUB_BIN, "serve", "--help"});
  EXPECT_THAT(serve_help.out, HasSubstr("/api/v1/queries/ID/stream"));
  EXPECT_THAT(serve_help.out, HasSubstr("enroll-secret-file"));
}

// In process, with a Fleet the test drives: the stream of a running campaign (events after the
// WebSocket opened, far more frames than an agent's queue holds, every one before the normal
// close), a stream that does not read is dropped, and node listing and removal reach the Fleet.
class ScriptedFleet : public server::Fleet {
 public:
  explicit ScriptedFleet(server::HubStore& store) : store_(store) {}

  std::vector<std::string> OnlineNodes() const override {
    std::lock_guard lock(mutex_);
    return online_;
  }
  Result<server::CampaignRecord> StartCampaign(const server::CampaignSpec&) override {
    return Status::Unavailable("not in this test");
  }
  Result<std::unique_ptr<server::CampaignWatch>> WatchCampaign(
      std::string_view id, server::CampaignObserver observer) override {
    auto campaign = store_.GetCampaign(id);
    if (!campaign.ok()) return campaign.status();
    if (!*campaign) return Status::NotFound("no campaign");
    std::lock_guard lock(mutex_);
    observer_ = std::move(observer);
    watching_.notify_all();
    return std::unique_ptr<server::CampaignWatch>(std::make_unique<Watch>(*this));
  }
  Result<server::CampaignTotals> Totals(std::string_view) const override {
    return server::CampaignTotals{};
  }
  Status RemoveNode(std::string_view host_identifier) override {
    std::lock_guard lock(mutex_);
    removed_.emplace_back(host_identifier);
    return Status::Ok();
  }

  void SetOnline(std::vector<std::string> online) {
    std::lock_guard lock(mutex_);
    online_ = std::move(online);
  }
  // Waits until a stream watches; false after 20 s.
  bool WaitWatched() {
    std::unique_lock lock(mutex_);
    return watching_.wait_for(lock, std::chrono::seconds(20),
                              [this] { return observer_ != nullptr; });
  }
  void Emit(const server::CampaignEvent& event) {
    server::CampaignObserver observer;
    {
      std::lock_guard lock(mutex_);
      observer = observer_;
    }
    if (observer) observer(event);
  }
  bool unwatched() const {
    std::lock_guard lock(mutex_);
    return observer_ == nullptr;
  }
  std::vector<std::string> removed() const {
    std::lock_guard lock(mutex_);
    return removed_;
  }

 private:
  class Watch : public server::CampaignWatch {
   public:
    explicit Watch(ScriptedFleet& fleet) : fleet_(fleet) {}
    ~Watch() override {
      std::lock_guard lock(fleet_.mutex_);
      fleet_.observer_ = nullptr;
    }

   private:
    ScriptedFleet& fleet_;
  };

  server::HubStore& store_;
  mutable std::mutex mutex_;
  std::condition_variable watching_;
  std::vector<std::string> online_;
  std::vector<std::string> removed_;
  server::CampaignObserver observer_;
};

server::CampaignEvent Answer(const std::string& node, const std::string& rows_json,
                             uint64_t answered, uint64_t expected) {
  server::CampaignEvent event;
  event.kind = server::CampaignEvent::Kind::kAnswer;
  event.answer.campaign_id = "q_1";
  event.answer.host_identifier = node;
  event.answer.columns = {"n"};
  event.answer.rows_json = rows_json;
  event.answer.rows = event.answer.rows_total = 1;
  event.totals = {expected, answered, 0, 0};
  return event;
}

class InProcessApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = server::OpenEmbeddedHubStore(temp_.path() + "/state/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    fleet_ = std::make_unique<ScriptedFleet>(*store_);
    server::CampaignRecord campaign;
    campaign.id = "q_1";
    campaign.sql = "SELECT 1 AS n";
    campaign.target = "all";
    ASSERT_TRUE(store_->PutCampaign(campaign).ok());
    auto analyst = server::CreateToken(*store_, server::Role::kAnalyst, "ana", "local");
    auto admin = server::CreateToken(*store_, server::Role::kAdmin, "adm", "local");
    ASSERT_TRUE(analyst.ok() && admin.ok());
    analyst_ = analyst->secret;
    admin_ = admin->secret;
    admin_id_ = admin->record.id;
  }

  server::HubOptions Options() {
    server::HubOptions options;
    options.state_dir = temp_.path() + "/state";
    options.store = store_.get();
    options.fleet = fleet_.get();
    return options;
  }
  std::string Cert() const { return temp_.path() + "/state/tls/cert.pem"; }

  HttpReply Curl(const server::Hub& hub, const std::string& method, const std::string& path,
                 const std::string& token) {
    ProcessResult run =
        RunProcess({"curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}", "--cacert", Cert(),
                    "-X", method, "-H", "Authorization: Bearer " + token, hub.url() + path});
    HttpReply reply;
    size_t newline = run.out.rfind('\n');
    if (newline != std::string::npos) {
      reply.body = run.out.substr(0, newline);
      reply.status = std::atoi(run.out.c_str() + newline + 1);
    }
    reply.err = run.err;
    return reply;
  }

  TempDir temp_;
  std::unique_ptr<server::HubStore> store_;
  std::unique_ptr<ScriptedFleet> fleet_;
  std::string analyst_, admin_, admin_id_;
};

TEST_F(InProcessApiTest, StreamSendsEveryFrameOfALiveCampaignBeforeItsNormalClose) {
  server::Hub hub(Options());
  ASSERT_TRUE(hub.Start().ok());
  StreamClient stream(hub.port(), Cert(), "/api/v1/queries/q_1/stream", analyst_);
  ASSERT_FALSE(stream.error()) << stream.error().message() << " " << stream.refusal();
  ASSERT_TRUE(fleet_->WaitWatched());

  // Three times an agent's queue of frames, sent at once while the client reads nothing.
  constexpr int kNodes = 1500;
  for (int i = 1; i <= kNodes; ++i) {
    fleet_->Emit(Answer("node-" + std::to_string(i), "[[" + std::to_string(i) + "]]", i, kNodes));
  }
  server::CampaignEvent done;
  done.kind = server::CampaignEvent::Kind::kDone;
  done.totals = {kNodes, kNodes, 0, 0};
  fleet_->Emit(done);

  beast::error_code end;
  std::vector<std::string> frames = stream.ReadAll(end);
  EXPECT_EQ(end, websocket::error::closed) << end.message();
  EXPECT_EQ(stream.close_code(), 1000);
  ASSERT_EQ(frames.size(), 2u * kNodes + 1);
  EXPECT_EQ(frames[0], R"({"type":"result","node":"node-1","columns":["n"],"rows":[[1]],)"
                       R"("rows_total":1,"duration_ms":0.0})");
  EXPECT_EQ(frames[1], R"({"type":"totals","expected":1500,"answered":1,"failed":0,"offline":0})");
  EXPECT_EQ(frames[2 * kNodes - 2].find(R"("node":"node-1500")") != std::string::npos, true);
  EXPECT_EQ(frames[2 * kNodes - 1],
            R"({"type":"totals","expected":1500,"answered":1500,"failed":0,"offline":0})");
  EXPECT_EQ(frames.back(), R"({"type":"done"})");
  for (int i = 0; i < 100 && !fleet_->unwatched(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(fleet_->unwatched()) << "the watch ends with the stream";
  EXPECT_EQ(hub.metrics().connected_agents.load(), 0) << "a stream is not an agent";
}

TEST_F(InProcessApiTest, StreamThatDoesNotReadIsDropped) {
  server::HubOptions options = Options();
  options.limits.max_stream_queue = 8;
  server::Hub hub(std::move(options));
  ASSERT_TRUE(hub.Start().ok());
  StreamClient stream(hub.port(), Cert(), "/api/v1/queries/q_1/stream", analyst_);
  ASSERT_FALSE(stream.error()) << stream.error().message();
  ASSERT_TRUE(fleet_->WaitWatched());
  const std::string big = "[[\"" + std::string(256 << 10, 'x') + "\"]]";
  for (int i = 1; i <= 100; ++i) fleet_->Emit(Answer("node-" + std::to_string(i), big, i, 100));

  beast::error_code end;
  std::vector<std::string> frames = stream.ReadAll(end);
  EXPECT_NE(end, websocket::error::closed) << "dropped, not closed normally";
  EXPECT_NE(end, net::error::timed_out);
  EXPECT_LT(frames.size(), 200u) << "some frames were never sent";  // the kernel buffers some
  EXPECT_EQ(hub.metrics().dropped_slow.load(), 0u) << "that counter is the agents'";
}

TEST_F(InProcessApiTest, NodesAreListedWithTheFleetsOnlineStateAndRemovedThroughIt) {
  server::NodeRecord web;
  web.host_identifier = "web-1";
  web.hostname = "web-1.example";
  web.os = "debian 12";
  web.vigil_version = "0.1.0";
  web.roles = {"web", "dmz"};
  web.enrolled_at = 1'700'000'000;
  web.last_seen = 1'700'000'060;
  web.config_version = 3;
  server::NodeRecord db = web;
  db.host_identifier = "db-1";
  db.hostname = "db-1.example";
  db.roles = {};
  ASSERT_TRUE(store_->PutNode(web).ok());
  ASSERT_TRUE(store_->PutNode(db).ok());
  fleet_->SetOnline({"web-1"});
  server::Hub hub(Options());
  ASSERT_TRUE(hub.Start().ok());

  HttpReply nodes = Curl(hub, "GET", "/api/v1/nodes", analyst_);
  ASSERT_EQ(nodes.status, 200) << nodes.body << nodes.err;
  EXPECT_EQ(nodes.body, R"([{"host_identifier":"db-1","hostname":"db-1.example","os":"debian 12",)"
                        R"("vigil_version":"0.1.0","roles":[],"online":false,)"
                        R"("last_seen":"2023-11-14T22:14:20Z","config_version":3,"config_error":"",)"
                        R"("enrolled_at":"2023-11-14T22:13:20Z"},)"
                        R"({"host_identifier":"web-1","hostname":"web-1.example","os":"debian 12",)"
                        R"("vigil_version":"0.1.0","roles":["web","dmz"],"online":true,)"
                        R"("last_seen":"2023-11-14T22:14:20Z","config_version":3,"config_error":"",)"
                        R"("enrolled_at":"2023-11-14T22:13:20Z"}])");

  EXPECT_EQ(Curl(hub, "DELETE", "/api/v1/nodes/web-1", analyst_).status, 403);
  HttpReply removed = Curl(hub, "DELETE", "/api/v1/nodes/web%2D1", admin_);
  EXPECT_EQ(removed.status, 200) << removed.body;
  EXPECT_THAT(fleet_->removed(), ElementsAre("web-1"));
  std::vector<std::string> actions;
  ASSERT_TRUE(store_->audit()
                  .Read(0,
                        [&](const audit::Record& record) {
                          actions.push_back(record.actor + " " + record.action + " " +
                                            record.subject + " " + record.detail);
                          return true;
                        })
                  .ok());
  EXPECT_THAT(actions,
              ElementsAre(admin_id_ + R"( node.remove web-1 {"hostname":"web-1.example"})"));
  EXPECT_EQ(Curl(hub, "DELETE", "/api/v1/nodes/nobody", admin_).status, 404);
}

}  // namespace
}  // namespace vigil
