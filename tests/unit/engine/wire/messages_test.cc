// The agent <-> hub messages and their JSON codec (PROTOCOL.md, "Agent <-> hub").
#include "engine/wire/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/packs/node_config.h"

namespace vigil::wire {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The message a text decodes to; fails the test when it does not decode.
Message Decoded(std::string_view text, const DecodeLimits& limits = {}) {
  DecodeResult result = Decode(text, limits);
  EXPECT_TRUE(result.ok()) << text << "\n  -> " << result.error().code << ": "
                           << result.error().message;
  return result.ok() ? std::move(result).message() : Message(Error{});
}

// The error a text is refused with; fails the test when it decodes.
Error Refused(std::string_view text, const DecodeLimits& limits = {}) {
  DecodeResult result = Decode(text, limits);
  EXPECT_FALSE(result.ok()) << text << " was accepted as " << TypeName(result.message());
  return result.ok() ? Error{} : result.error();
}

template <typename T>
void ExpectRoundTrip(const T& message) {
  const std::string text = Encode(message);
  EXPECT_THAT(text,
              StartsWith(R"({"type":")" + std::string(TypeName(Message(message))) + R"(","v":1)"));
  EXPECT_EQ(Encode(Message(message)), text);
  Message back = Decoded(text);
  ASSERT_TRUE(std::holds_alternative<T>(back)) << text << " came back as " << TypeName(back);
  EXPECT_EQ(std::get<T>(back), message) << text;
}

// A config message as the hub writes it (packs::NodeConfigJson), signed or not.
std::string ConfigText(std::string_view signature) {
  packs::NodeConfig config;
  config.version = 7;
  config.roles = {"historian"};
  config.vars["zone_cidrs"] = packs::Param{{"10.1.0.0/16", "10.2.0.0/16"}, true};
  config.enforce = packs::EnforceMode::kDryRun;
  config.target_sl = 3;
  config.signature = std::string(signature);
  return packs::NodeConfigJson(
      config, {{"p.json", R"({"name":"local","checks":[{"id":"a","sl":1,"interval":15.5}]})"}},
      std::nullopt);
}

// One of each message, with every optional field set or not.
std::vector<Message> Samples() {
  QueryResult rows;
  rows.id = "c-42";
  rows.columns = {"name", "uid", "ratio", "shell"};
  rows.rows = {{Value("root"), Value(0), Value(0.5), Value()},
               {Value("ünïcode \"quoted\"\n"), Value(std::numeric_limits<int64_t>::min()),
                Value(1.0), Value("")},
               {Value("big"), Value(std::numeric_limits<int64_t>::max()), Value(-2.5e-300),
                Value("/bin/sh")}};
  rows.rows_total = 12;
  rows.duration_ms = 0.42;
  QueryResult failed;
  failed.id = "c-43";
  failed.status = QueryResult::Status::kError;
  failed.error = "no such table: userz";
  failed.duration_ms = 3;
  Task upgrade{"t-2", Task::Kind::kPackageUpgrade, "", false, {}};
  upgrade.args["packages"] = packs::Param{{"openssl", "libssl3"}, true};
  upgrade.args["reboot"] = packs::Param::One("false");
  return {
      Hello{"hist-01", "hist-01.plant", "Debian GNU/Linux 12", "0.1.0", "s3cret", std::nullopt, 0,
            1, {}, std::nullopt},
      Hello{"hist-01", "hist-01.plant", "Debian GNU/Linux 12", "0.1.0", std::nullopt, "nk-1", 7,
            1234, {}, std::nullopt},
      Hello{"hist-01", "hist-01.plant", "Debian GNU/Linux 12", "0.1.0", std::nullopt, "nk-1", 7,
            1234, {"historian", "dmz \"edge\""}, 60000},
      Welcome{"nk-1", "MCowBQYDK2VwAyEA", "2026-11-25T17:02:00Z"},
      Welcome{std::nullopt, "MCowBQYDK2VwAyEA", "2026-11-25T17:02:00Z"},
      Config{ConfigText("c2ln"), 7, "c2ln"},
      Config{ConfigText(""), 7, ""},
      Query{"c-42", "SELECT name, uid FROM users WHERE shell LIKE '%sh'", 5000, 10000},
      rows,
      failed,
      Results{
          41,
          {{ResultItem::Kind::kVerdict,
            R"({"kind":"verdict","check":"ssh-root-login-disabled","status":"fail","rows":[{"value":"yes"}],"duration_ms":0.42,"error":null})"},
           {ResultItem::Kind::kLog,
            R"({"kind":"log","name":"pack_x_y","unixTime":1795539720,"columns":{"port":"22"}})"},
           {ResultItem::Kind::kAuditHead, R"({"kind":"audit_head","seq":9,"hash":"9f2c"})"}}},
      Results{1, {}},
      Ack{41},
      Task{"t-1",
           Task::Kind::kEnforce,
           "ssh-root-login-disabled",
           true,
           {{"value", packs::Param::One("no")}}},
      upgrade,
      TaskResult{"t-1", "applied", R"({"check":"a","status":"fail"})",
                 R"({"check":"a","status":"pass"})",
                 R"({"outcome":"applied","changes":[],"message":"","audit_seq":42})"},
      TaskResult{"t-2", "refused", std::nullopt, std::nullopt, std::nullopt},
      ConfigStatus{4, ""},
      ConfigStatus{3, "config 4: the signature does not verify against the hub key pinned"},
      Error{"unknown_type", "unknown message type \"bogus\"", "c-42"},
      Error{"node_invalid", "node key not known", ""},
  };
}

TEST(WireMessagesTest, EveryMessageRoundTrips) {
  for (const Message& message : Samples()) {
    SCOPED_TRACE(Encode(message));
    std::visit([](const auto& m) { ExpectRoundTrip(m); }, message);
  }
}

TEST(WireMessagesTest, EncodesCompactJsonInProtocolOrder) {
  EXPECT_EQ(Encode(Query{"c-1", "SELECT 1", 5000, 100}),
            R"({"type":"query","v":1,"id":"c-1","sql":"SELECT 1","timeout_ms":5000,)"
            R"("max_rows":100})");
  EXPECT_EQ(Encode(Ack{7}), R"({"type":"ack","v":1,"seq":7})");
  EXPECT_EQ(Encode(Error{"malformed", "bad", ""}),
            R"({"type":"error","v":1,"code":"malformed","message":"bad"})");
  QueryResult m{"c-1",
                QueryResult::Status::kOk,
                {"a", "b", "c", "d"},
                {{Value(), Value(3), Value(1.0), Value("x")}},
                1,
                "",
                0.5};
  EXPECT_EQ(Encode(m),
            R"({"type":"query_result","v":1,"id":"c-1","status":"ok","columns":["a","b","c","d"],)"
            R"("rows":[[null,3,1.0,"x"]],"rows_total":1,"error":null,"duration_ms":0.5})");
  EXPECT_EQ(Encode(TaskResult{"t", "failed", std::nullopt, std::nullopt, std::nullopt}),
            R"({"type":"task_result","v":1,"id":"t","outcome":"failed","verdict_before":null,)"
            R"("verdict_after":null,"remediation":null})");
}

TEST(WireMessagesTest, CellsKeepTheirTypes) {
  auto message = std::get<QueryResult>(Decoded(
      R"({"type":"query_result","v":1,"id":"c","status":"ok","columns":["a","b","c","d","e"],
          "rows":[[1, 1.0, "1", null, 18446744073709551615]],"rows_total":1,"duration_ms":1})"));
  ASSERT_EQ(message.rows.size(), 1u);
  const Row& row = message.rows[0];
  EXPECT_EQ(row[0], Value(1));
  EXPECT_EQ(row[1], Value(1.0));
  EXPECT_EQ(row[2], Value("1"));
  EXPECT_EQ(row[3], Value());
  EXPECT_TRUE(row[4].is_real());  // past int64: kept as a number, not refused
  EXPECT_DOUBLE_EQ(row[4].real(), 18446744073709551615.0);
  EXPECT_EQ(message.error, "");  // absent like null
}

TEST(WireMessagesTest, NonFiniteRealsAreSentAsNull) {
  QueryResult m{"c",
                QueryResult::Status::kOk,
                {"x", "y"},
                {{Value(std::nan("")), Value(std::numeric_limits<double>::infinity())}},
                1,
                "",
                std::numeric_limits<double>::infinity()};
  const std::string text = Encode(m);
  EXPECT_THAT(text, HasSubstr(R"("rows":[[null,null]])"));
  EXPECT_THAT(text, HasSubstr(R"("duration_ms":0)"));
  auto back = std::get<QueryResult>(Decoded(text));
  EXPECT_EQ(back.rows[0], (Row{Value(), Value()}));
}

TEST(WireMessagesTest, RowsJsonIsWhatAQueryResultCarries) {
  const std::vector<Row> rows = {{Value(7), Value(2.5), Value("a\"b"), Value()},
                                 {Value(std::nan("")), Value(-1), Value(""), Value(0.0)}};
  EXPECT_EQ(RowsJson(rows), R"([[7,2.5,"a\"b",null],[null,-1,"",0.0]])");
  EXPECT_EQ(RowsJson({}), "[]");
  QueryResult m{"c", QueryResult::Status::kOk, {"w", "x", "y", "z"}, rows, 2, "", 1};
  EXPECT_THAT(Encode(m), HasSubstr("\"rows\":" + RowsJson(rows) + ","));
}

TEST(WireMessagesTest, HelloRolesAreOptional) {
  const std::string base =
      R"({"type":"hello","v":1,"host_identifier":"h","hostname":"h.local","os":"Linux",)"
      R"("vigil_version":"0.2.0","node_key":"k","config_version":3,"outbox_next_seq":9)";
  EXPECT_EQ(std::get<Hello>(Decoded(base + "}")).roles, std::vector<std::string>{});
  EXPECT_EQ(std::get<Hello>(Decoded(base + R"(,"roles":null})")).roles,
            std::vector<std::string>{});
  EXPECT_EQ(std::get<Hello>(Decoded(base + R"(,"roles":["historian","web"]})")).roles,
            (std::vector<std::string>{"historian", "web"}));
  // Left out when empty, so a hub that predates roles reads the same text as before.
  EXPECT_THAT(Encode(Hello{"h", "h", "o", "1", std::nullopt, "k", 0, 0, {}, std::nullopt}),
              ::testing::Not(HasSubstr("roles")));
  EXPECT_THAT(Encode(Hello{"h", "h", "o", "1", std::nullopt, "k", 0, 0, {"web"}, std::nullopt}),
              HasSubstr(R"("roles":["web"])"));
  // cycle_ms is optional too, and left out when absent; 0 is not a cycle.
  EXPECT_EQ(std::get<Hello>(Decoded(base + "}")).cycle_ms, std::nullopt);
  EXPECT_EQ(std::get<Hello>(Decoded(base + R"(,"cycle_ms":30000})")).cycle_ms, 30000u);
  EXPECT_THAT(Encode(Hello{"h", "h", "o", "1", std::nullopt, "k", 0, 0, {}, std::nullopt}),
              ::testing::Not(HasSubstr("cycle_ms")));
  EXPECT_EQ(Refused(base + R"(,"cycle_ms":0})").message,
            R"(hello: field "cycle_ms" must be a whole number > 0 or null, not the number 0)");

  Error error = Refused(base + R"(,"roles":"historian"})");
  EXPECT_EQ(error.code, kMalformed);
  EXPECT_EQ(error.message, R"(hello: field "roles" must be an array of strings or null, not a string)");
  error = Refused(base + R"(,"roles":["web",7]})");
  EXPECT_EQ(error.code, kMalformed);
  EXPECT_EQ(error.message, R"(hello: field "roles/1" must be a string, not a number)");
}

TEST(WireMessagesTest, ConfigStatusSaysWhichVersionRunsAndWhyAnotherWasRefused) {
  EXPECT_EQ(Encode(ConfigStatus{4, ""}), R"({"type":"config_status","v":1,"config_version":4})");
  EXPECT_EQ(Encode(ConfigStatus{3, "config 4 is unsigned"}),
            R"({"type":"config_status","v":1,"config_version":3,)"
            R"("config_error":"config 4 is unsigned"})");
  // config_error may be absent or null (no refusal) and is the only optional field.
  const std::string base = R"({"type":"config_status","v":1,"config_version":7)";
  EXPECT_EQ(std::get<ConfigStatus>(Decoded(base + "}")), (ConfigStatus{7, ""}));
  EXPECT_EQ(std::get<ConfigStatus>(Decoded(base + R"(,"config_error":null})")),
            (ConfigStatus{7, ""}));
  EXPECT_EQ(std::get<ConfigStatus>(Decoded(base + R"(,"config_error":"no"})")),
            (ConfigStatus{7, "no"}));
  // Version 0: the node runs no config from the hub yet (the built-in default).
  EXPECT_EQ(std::get<ConfigStatus>(Decoded(
                R"({"type":"config_status","v":1,"config_version":0,"config_error":"x"})")),
            (ConfigStatus{0, "x"}));
  // Unknown fields are ignored, as in every message.
  EXPECT_EQ(std::get<ConfigStatus>(Decoded(base + R"(,"roles":["web"],"next":{"a":1}})")),
            (ConfigStatus{7, ""}));
}

TEST(WireMessagesTest, UnknownFieldsAreIgnored) {
  auto hello = std::get<Hello>(Decoded(
      R"({"v":1,"future":{"deep":[1,2,{"x":null}]},"type":"hello","host_identifier":"h",
          "hostname":"h.local","os":"Linux","vigil_version":"0.2.0","node_key":"k",
          "config_version":3,"outbox_next_seq":9,"capabilities":["zstd"]})"));
  EXPECT_EQ(hello, (Hello{"h", "h.local", "Linux", "0.2.0", std::nullopt, "k", 3, 9, {}, std::nullopt}));
  auto item = std::get<Results>(
      Decoded(R"({"type":"results","v":1,"seq":5,"items":[{"kind":"verdict","new_field":true}]})"));
  ASSERT_EQ(item.items.size(), 1u);
  EXPECT_EQ(item.items[0].json, R"({"kind":"verdict","new_field":true})");
}

TEST(WireMessagesTest, TaskArgumentsAreTextLikePackParameters) {
  auto task = std::get<Task>(Decoded(
      R"({"type":"task","v":1,"id":"t","kind":"enforce","check":"c","dry_run":false,
          "args":{"n":3,"r":2.5,"b":true,"s":"x","l":["a",1,false]}})"));
  EXPECT_EQ(task.args.at("n"), packs::Param::One("3"));
  EXPECT_EQ(task.args.at("r"), packs::Param::One("2.5"));
  EXPECT_EQ(task.args.at("b"), packs::Param::One("true"));
  EXPECT_EQ(task.args.at("s"), packs::Param::One("x"));
  EXPECT_EQ(task.args.at("l"), (packs::Param{{"a", "1", "false"}, true}));
  // check and args may be left out.
  auto bare = std::get<Task>(Decoded(
      R"({"type":"task","v":1,"id":"t","kind":"package_upgrade","dry_run":true,"check":null})"));
  EXPECT_EQ(bare, (Task{"t", Task::Kind::kPackageUpgrade, "", true, {}}));
}

TEST(WireMessagesTest, ResultsNumberTheirItemsFromSeq) {
  auto results = std::get<Results>(
      Decoded(R"({"type":"results","v":1,"seq":41,"items":[{"kind":"log"},{"kind":"verdict"},)"
              R"({"kind":"audit_head","seq":3,"hash":"ab"}]})"));
  EXPECT_EQ(results.last_seq(), 43u);
  EXPECT_EQ(results.items[2].kind, ResultItem::Kind::kAuditHead);
  EXPECT_EQ(results.items[2].json, R"({"kind":"audit_head","seq":3,"hash":"ab"})");
  EXPECT_EQ((Results{41, {}}.last_seq()), 40u);
}

TEST(WireMessagesTest, ErrorFromThePeerIsAMessage) {
  auto result = Decode(R"({"type":"error","v":1,"code":"node_invalid","message":"who?"})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(std::get<Error>(result.message()), (Error{"node_invalid", "who?", ""}));
}

// ---- refusals ----

TEST(WireMessagesTest, TooLargeIsCheckedBeforeParsing) {
  DecodeLimits limits;
  limits.max_bytes = 64;
  Error e = Refused(std::string(65, '{'), limits);
  EXPECT_EQ(e.code, kTooLarge);
  EXPECT_EQ(e.message, "message is 65 bytes, more than the limit of 64");
  // The default is 4 MiB: a valid message one byte over it is refused, at the limit accepted.
  const std::string head = R"({"type":"ack","v":1,"seq":1,"pad":")";
  std::string big = head + std::string((4u << 20) - head.size() - 2, 'x') + "\"}";
  ASSERT_EQ(big.size(), 4u << 20);
  EXPECT_TRUE(Decode(big).ok());
  big.insert(big.size() - 2, "x");
  EXPECT_EQ(Refused(big).code, kTooLarge);
}

TEST(WireMessagesTest, TooManyRowsIsTooLarge) {
  DecodeLimits limits;
  limits.max_rows = 2;
  const std::string head =
      R"({"type":"query_result","v":1,"id":"c-9","status":"ok","columns":["a"],"rows_total":3,)"
      R"("duration_ms":1,"rows":)";
  EXPECT_TRUE(Decode(head + "[[1],[2]]}", limits).ok());
  Error e = Refused(head + "[[1],[2],[3]]}", limits);
  EXPECT_EQ(e.code, kTooLarge);
  EXPECT_EQ(e.message, R"(query_result: field "rows" has 3 rows, more than the limit of 2)");
  EXPECT_EQ(e.ref, "c-9");
  // The default limit is 10,000.
  std::string rows = "[";
  for (int i = 0; i < 10'001; ++i) rows += i == 0 ? "[1]" : ",[1]";
  EXPECT_EQ(Refused(head + rows + "]}").code, kTooLarge);
}

TEST(WireMessagesTest, MalformedNamesWhatIsWrong) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "message is not JSON: The document is empty. at offset 0"},
      {R"({"type":"ack","v":1,"seq":1)", "message is not JSON"},
      {"[1,2]", "message is an array, not a JSON object"},
      {R"("hello")", "message is a string, not a JSON object"},
      {R"({"v":1,"seq":1})", R"(message: field "type" is missing)"},
      {R"({"type":3,"v":1})", R"(message: field "type" must be a string, not a number)"},
      {R"({"type":"ack","seq":1})", R"(ack: field "v" is missing)"},
      {R"({"type":"ack","v":"1","seq":1})", R"(ack: field "v" must be a number, not a string)"},
      {R"({"type":"ack","v":1})", R"(ack: field "seq" is missing)"},
      {R"({"type":"ack","v":1,"seq":-1})",
       R"(ack: field "seq" must be a whole number >= 0, not the number -1)"},
      {R"({"type":"ack","v":1,"seq":1.5})",
       R"(ack: field "seq" must be a whole number >= 0, not the number 1.5)"},
      {R"({"type":"query","v":1,"id":"c","timeout_ms":1,"max_rows":1})",
       R"(query: field "sql" is missing)"},
      {R"({"type":"query","v":1,"id":"c","sql":"x","timeout_ms":"5s","max_rows":1})",
       R"(query: field "timeout_ms" must be a whole number >= 0, not a string)"},
      {R"({"type":"hello","v":1,"host_identifier":"h","hostname":"h","os":"o",)"
       R"("vigil_version":"1","config_version":0,"outbox_next_seq":1})",
       R"(hello: field "node_key" is missing (and so is enroll_secret))"},
      {R"({"type":"hello","v":1,"host_identifier":["h"],"hostname":"h","os":"o",)"
       R"("vigil_version":"1","node_key":"k","config_version":0,"outbox_next_seq":1})",
       R"(hello: field "host_identifier" must be a string, not an array)"},
      {R"({"type":"welcome","v":1,"hub_public_key":"k","server_time":"t","node_key":5})",
       R"(welcome: field "node_key" must be a string or null, not a number)"},
      {R"({"type":"config","v":1,"packs":[]})", R"(config: field "version" is missing)"},
      {R"({"type":"config","v":1,"version":1,"signature":{}})",
       R"(config: field "signature" must be a string or null, not an object)"},
      {R"({"type":"query_result","v":1,"id":"c","status":"done","columns":[],"rows":[],)"
       R"("rows_total":0,"duration_ms":1})",
       R"(query_result: field "status" must be "ok" or "error", not "done")"},
      {R"({"type":"query_result","v":1,"id":"c","status":"ok","columns":["a",2],"rows":[],)"
       R"("rows_total":0,"duration_ms":1})",
       R"(query_result: field "columns/1" must be a string, not a number)"},
      {R"({"type":"query_result","v":1,"id":"c","status":"ok","columns":["a","b"],)"
       R"("rows":[["x",1],["y",true]],"rows_total":2,"duration_ms":1})",
       R"(query_result: field "rows/1/1" must be a string, a number or null, not a boolean)"},
      {R"({"type":"query_result","v":1,"id":"c","status":"ok","columns":["a","b"],)"
       R"("rows":[["x"]],"rows_total":1,"duration_ms":1})",
       R"(query_result: field "rows/0" has 1 values for 2 columns)"},
      {R"({"type":"query_result","v":1,"id":"c","status":"ok","columns":["a"],)"
       R"("rows":[{"a":1}],"rows_total":1,"duration_ms":1})",
       R"(query_result: field "rows/0" must be an array, not an object)"},
      {R"({"type":"query_result","v":1,"id":"c","status":"ok","columns":[],"rows":[],)"
       R"("rows_total":0,"duration_ms":"1"})",
       R"(query_result: field "duration_ms" must be a number, not a string)"},
      {R"({"type":"results","v":1,"seq":1,"items":{}})",
       R"(results: field "items" must be an array, not an object)"},
      {R"({"type":"results","v":1,"seq":1,"items":[{"kind":"log"},"verdict"]})",
       R"(results: field "items/1" must be an object, not a string)"},
      {R"({"type":"results","v":1,"seq":1,"items":[{"check":"a"}]})",
       R"(results: field "items/0/kind" is missing)"},
      {R"({"type":"results","v":1,"seq":1,"items":[{"kind":"log"},{"kind":"metric"}]})",
       R"(results: field "items/1/kind" must be verdict, log or audit_head, not "metric")"},
      {R"({"type":"task","v":1,"id":"t","kind":"reboot","dry_run":false})",
       R"(task: field "kind" must be enforce or package_upgrade, not "reboot")"},
      {R"({"type":"task","v":1,"id":"t","kind":"enforce","dry_run":"yes"})",
       R"(task: field "dry_run" must be true or false, not a string)"},
      {R"({"type":"task","v":1,"id":"t","kind":"enforce","dry_run":false,"args":[]})",
       R"(task: field "args" must be an object, not an array)"},
      {R"({"type":"task","v":1,"id":"t","kind":"enforce","dry_run":false,"args":{"x":{}}})",
       R"(task: field "args/x" must be a string, a number, a boolean or an array of those)"},
      {R"({"type":"task_result","v":1,"id":"t","outcome":"applied","verdict_before":"pass"})",
       R"(task_result: field "verdict_before" must be an object or null, not a string)"},
      {R"({"type":"config_status","v":1})", R"(config_status: field "config_version" is missing)"},
      {R"({"type":"config_status","v":1,"config_version":-3})",
       R"(config_status: field "config_version" must be a whole number >= 0, not the number -3)"},
      {R"({"type":"config_status","v":1,"config_version":2.5})",
       R"(config_status: field "config_version" must be a whole number >= 0, not the number 2.5)"},
      {R"({"type":"config_status","v":1,"config_version":"4"})",
       R"(config_status: field "config_version" must be a whole number >= 0, not a string)"},
      {R"({"type":"config_status","v":1,"config_version":null})",
       R"(config_status: field "config_version" must be a whole number >= 0, not null)"},
      {R"({"type":"config_status","v":1,"config_version":4,"config_error":["refused"]})",
       R"(config_status: field "config_error" must be a string or null, not an array)"},
      {R"({"type":"error","v":1,"code":"x"})", R"(error: field "message" is missing)"},
      {std::string(100, '[') + std::string(100, ']'),
       "message nests arrays and objects deeper than 64 levels"},
      {"{\"type\":\"ack\",\"v\":1,\"seq\":1,\"x\":\"\xff\"}", "message is not JSON"},
  };
  for (const Case& c : cases) {
    Error e = Refused(c.text);
    EXPECT_EQ(e.code, kMalformed) << c.text;
    EXPECT_THAT(e.message, StartsWith(c.message)) << c.text;
  }
}

TEST(WireMessagesTest, RefNamesTheRequestThatFailed) {
  EXPECT_EQ(Refused(R"({"type":"query","v":1,"id":"c-7","sql":1})").ref, "c-7");
  EXPECT_EQ(Refused(R"({"type":"results","v":1,"seq":12,"items":5})").ref, "12");
  EXPECT_EQ(Refused(R"({"type":"nope","v":1,"id":"x-1"})").ref, "x-1");
  EXPECT_EQ(Refused(R"({"type":"ack","v":1,"seq":"1"})").ref, "");
}

TEST(WireMessagesTest, UnsupportedVersion) {
  for (const char* v : {"2", "0", "1.5", "-1", "1e3"}) {
    Error e = Refused(R"({"type":"ack","seq":1,"v":)" + std::string(v) + "}");
    EXPECT_EQ(e.code, kUnsupportedVersion) << v;
    EXPECT_EQ(e.message, "ack: version " + std::string(v == std::string("1e3") ? "1000.0" : v) +
                             " is not supported (this side speaks version 1)");
  }
  // A newer version of a type this side does not know is still a version problem.
  EXPECT_EQ(Refused(R"({"type":"telemetry","v":2})").code, kUnsupportedVersion);
}

TEST(WireMessagesTest, UnknownType) {
  Error e = Refused(R"({"type":"bogus","v":1,"id":"q"})");
  EXPECT_EQ(e.code, kUnknownType);
  EXPECT_EQ(e.message, "unknown message type \"bogus\"");
  // The answer is itself a message the peer can decode.
  EXPECT_EQ(std::get<Error>(Decoded(Encode(e))), e);
}

// Every prefix of a valid message is refused as malformed, never crashes, and never decodes to
// something else; so is every single-byte change that breaks the JSON.
TEST(WireMessagesTest, TruncatedAndCorruptedMessagesAreRefused) {
  std::mt19937 random(62443);
  for (const Message& message : Samples()) {
    const std::string text = Encode(message);
    for (size_t length = 0; length < text.size(); ++length) {
      DecodeResult result = Decode(std::string_view(text).substr(0, length));
      ASSERT_FALSE(result.ok()) << text.substr(0, length);
      EXPECT_EQ(result.error().code, kMalformed) << text.substr(0, length);
      EXPECT_FALSE(result.error().message.empty());
    }
    for (int i = 0; i < 200; ++i) {
      std::string corrupt = text;
      corrupt[random() % corrupt.size()] = static_cast<char>(random() % 256);
      DecodeResult result = Decode(corrupt);
      if (result.ok()) continue;  // still valid JSON of a known shape
      EXPECT_THAT(std::string(result.error().code),
                  ::testing::AnyOf(std::string(kMalformed), std::string(kUnknownType),
                                   std::string(kUnsupportedVersion)))
          << corrupt;
    }
  }
}

// ---- config and its signature ----

TEST(WireMessagesTest, ConfigIsKeptAsReceivedForTheSignature) {
  const std::string text =
      "{ \"type\": \"config\", \"v\": 1, \"version\": 3,\n \"packs\": [], \"signature\": \"c2ln\" "
      "}";
  auto config = std::get<Config>(Decoded(text));
  EXPECT_EQ(config.json, text);
  EXPECT_EQ(config.version, 3u);
  EXPECT_EQ(config.signature, "c2ln");
  EXPECT_EQ(Encode(config), text);
}

TEST(WireMessagesTest, ConfigReadsAsANodeConfig) {
  auto config = std::get<Config>(Decoded(ConfigText("c2ln")));
  auto node = packs::ParseNodeConfig("hub", config.json);
  ASSERT_TRUE(node.ok()) << node.status().message();
  EXPECT_EQ(node->version, 7u);
  EXPECT_EQ(node->signature, "c2ln");
  EXPECT_EQ(node->enforce, packs::EnforceMode::kDryRun);
  ASSERT_EQ(node->packs.size(), 1u);
}

TEST(WireMessagesTest, SignatureCoversTheCanonicalJsonWithoutIt) {
  // What the hub signs: the message before it has a signature.
  auto unsigned_form = CanonicalJsonWithout(ConfigText(""), "signature");
  ASSERT_TRUE(unsigned_form.ok()) << unsigned_form.status().message();
  EXPECT_EQ(*unsigned_form,
            R"({"enforce":"dry-run","packs":[{"checks":[{"id":"a","interval":15.5,"sl":1}],)"
            R"("name":"local"}],"roles":["historian"],"target_sl":3,"type":"config","v":1,)"
            R"("vars":{"zone_cidrs":["10.1.0.0/16","10.2.0.0/16"]},"version":7})");
  // What the agent checks: the message as received, signature left out, whatever its layout.
  auto received = std::get<Config>(Decoded(ConfigText("c2ln")));
  EXPECT_EQ(CanonicalJsonWithout(received.json, "signature").value_or(""), *unsigned_form);
  EXPECT_EQ(CanonicalJsonWithout(R"( {"v" : 1, "signature":"x", "type":"config",
                                     "version": 7.0, "roles":["historian"], "enforce":"dry-run",
                                     "target_sl":3, "vars":{"zone_cidrs":["10.1.0.0/16",
                                     "10.2.0.0/16"]}, "packs":[{"name":"local","checks":[
                                     {"sl":1,"interval":1.55e1,"id":"a"}]}]})",
                                 "signature")
                .value_or(""),
            *unsigned_form);
  // Any change to what is signed changes the canonical form.
  std::string changed = ConfigText("c2ln");
  changed.replace(changed.find("dry-run"), 7, "auto");
  EXPECT_NE(CanonicalJsonWithout(changed, "signature").value_or(""), *unsigned_form);
  // Only the top-level member is left out.
  EXPECT_EQ(
      CanonicalJsonWithout(R"({"b":{"signature":1},"signature":2})", "signature").value_or(""),
      R"({"b":{"signature":1}})");
}

TEST(WireMessagesTest, CanonicalJsonWithoutRefusesWhatCannotBeSigned) {
  auto twice = CanonicalJsonWithout(R"({"signature":"a","signature":"b","v":1})", "signature");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("duplicate key \"signature\""));
  auto dup = CanonicalJsonWithout(R"({"a":1,"a":2})", "signature");
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("duplicate key \"a\""));
  EXPECT_FALSE(CanonicalJsonWithout("[1]", "signature").ok());
  EXPECT_FALSE(CanonicalJsonWithout("{", "signature").ok());
}

}  // namespace
}  // namespace vigil::wire
