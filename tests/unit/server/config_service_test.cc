// Config versions on the hub over the real embedded store: publish (the good fixture becomes a
// version, the broken one is refused with every problem and changes nothing), history, files,
// rollback, each node's signed message holding only its roles' packs and vars, the message
// cache, the audit chain, and a restart keeping the current version.
#include "server/config_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/packs/node_config.h"
#include "engine/signing.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::TempDir;

// Every regular file under tests/fixtures/fleet/NAME, by relative path.
std::map<std::string, std::string> FleetFiles(const std::string& name) {
  const std::filesystem::path root =
      std::filesystem::path(VIGIL_SOURCE_DIR) / "tests/fixtures/fleet" / name;
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

std::vector<std::string> Texts(const std::vector<packs::Problem>& problems) {
  std::vector<std::string> out;
  for (const packs::Problem& p : problems) out.push_back(p.ToString());
  return out;
}

// A store and a service in a temporary directory; Reopen() is a hub restart.
class ConfigServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = GenerateSigningKey();
    ASSERT_TRUE(key.ok());
    key_ = *key;
    Reopen();
  }

  void Reopen() {
    service_.reset();
    store_.reset();
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto service = ConfigService::Open(*store_, key_, work_dir());
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
  }

  std::string work_dir() const { return dir_.path() + "/work"; }

  uint64_t PublishOk(const std::map<std::string, std::string>& files,
                     const std::string& actor = "tok_admin") {
    auto outcome = service_->Publish(files, actor);
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    if (!outcome.ok()) return 0;
    EXPECT_THAT(Texts(outcome->problems), IsEmpty());
    return outcome->version;
  }

  // The node's message: verified with the hub's key and parsed as an agent does.
  packs::NodeConfig MessageOf(const std::string& id, const std::string& hostname) {
    auto message = service_->MessageFor(id, hostname);
    EXPECT_TRUE(message.ok()) << message.status().ToString();
    if (!message.ok() || !*message) {
      ADD_FAILURE() << "no message for " << id;
      return {};
    }
    EXPECT_EQ(VerifyConfig(service_->public_key(), **message).value_or(false), true);
    auto parsed = packs::ParseNodeConfig("config", **message);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    return parsed.ok() ? *parsed : packs::NodeConfig{};
  }

  std::vector<audit::Record> AuditRecords() {
    std::vector<audit::Record> records;
    EXPECT_TRUE(store_->audit()
                    .Read(0,
                          [&](const audit::Record& r) {
                            records.push_back(r);
                            return true;
                          })
                    .ok());
    return records;
  }

  TempDir dir_;
  SigningKey key_;
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<ConfigService> service_;
};

std::vector<std::string> PackNames(const packs::NodeConfig& config) {
  std::vector<std::string> names;
  for (const packs::PackSource& source : config.packs) {
    rapidjson::Document doc;
    doc.Parse(source.content.data(), source.content.size());
    if (doc.IsObject() && doc.HasMember("name") && doc["name"].IsString()) {
      names.push_back(doc["name"].GetString());
    }
  }
  return names;
}

std::string VarText(const packs::NodeConfig& config, const std::string& name) {
  auto it = config.vars.find(name);
  if (it == config.vars.end()) return "<unset>";
  std::string out;
  for (const std::string& v : it->second.items) out += (out.empty() ? "" : ",") + v;
  return it->second.is_list ? "[" + out + "]" : out;
}

TEST_F(ConfigServiceTest, NothingPublishedGivesNoMessage) {
  EXPECT_EQ(service_->current_version(), 0u);
  auto message = service_->MessageFor("hist-01", "hist-01");
  ASSERT_TRUE(message.ok());
  EXPECT_FALSE(message->has_value());
  EXPECT_THAT(service_->RolesFor("hist-01", "hist-01"), IsEmpty());
  EXPECT_FALSE(service_->Catalog().has_value());
  auto history = service_->History();
  ASSERT_TRUE(history.ok());
  EXPECT_THAT(*history, IsEmpty());
}

TEST_F(ConfigServiceTest, PublishingTheGoodFixtureMakesVersionOne) {
  const auto files = FleetFiles("good");
  EXPECT_EQ(PublishOk(files), 1u);
  EXPECT_EQ(service_->current_version(), 1u);

  auto history = service_->History();
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 1u);
  const ConfigVersionInfo& info = history->front();
  EXPECT_EQ(info.version, 1u);
  EXPECT_EQ(info.published_by, "tok_admin");
  EXPECT_EQ(info.note, "");
  EXPECT_EQ(info.digest, ConfigDigest(files));
  EXPECT_EQ(info.digest.size(), 64u);
  EXPECT_THAT(info.files, ElementsAre("fleet.yaml", "packs/baseline.json", "site/historian.json"));
  EXPECT_GT(info.published_at, 1'700'000'000'000);

  auto stored = service_->Files(1);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, files);
  EXPECT_EQ(service_->Files(2).status().code(), StatusCode::kNotFound);

  // The working directory is left empty.
  EXPECT_TRUE(std::filesystem::is_empty(work_dir()));

  const auto records = AuditRecords();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().actor, "tok_admin");
  EXPECT_EQ(records.back().action, "config.publish");
  EXPECT_EQ(records.back().subject, "1");
  EXPECT_THAT(records.back().detail, HasSubstr(info.digest));
}

TEST_F(ConfigServiceTest, DigestIsOverPathsAndContentsLengthPrefixed) {
  // Moving a byte from a path to its content changes the digest.
  EXPECT_NE(ConfigDigest({{"ab", "c"}}), ConfigDigest({{"a", "bc"}}));
  EXPECT_NE(ConfigDigest({{"a", "1"}, {"b", "2"}}), ConfigDigest({{"a", "1,1:b,1:2"}}));
  EXPECT_EQ(ConfigDigest({{"a", "1"}, {"b", "2"}}), ConfigDigest({{"b", "2"}, {"a", "1"}}));
}

TEST_F(ConfigServiceTest, ABrokenPublishNamesEveryProblemAndLeavesTheCurrentVersion) {
  ASSERT_EQ(PublishOk(FleetFiles("good")), 1u);
  auto before = service_->MessageFor("hist-01", "hist-01");
  ASSERT_TRUE(before.ok() && before->has_value());
  const size_t audit_before = AuditRecords().size();
  int changes = 0;
  service_->OnChange([&](uint64_t) { ++changes; });

  auto outcome = service_->Publish(FleetFiles("broken"), "tok_admin");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->version, 0u);
  const std::vector<std::string> texts = Texts(outcome->problems);
  EXPECT_THAT(texts, Contains(HasSubstr("fleet.yaml: /nodes/1/colour: line 7: unknown key")));
  EXPECT_THAT(texts, Contains(HasSubstr("packs/bad.json: /checks/bad-sql/query")));
  EXPECT_THAT(texts, Contains(HasSubstr("role 'scada' is not defined")));
  // The problems name files relative to the fleet, never the hub's working directory.
  for (const packs::Problem& p : outcome->problems) {
    EXPECT_THAT(p.file, Not(HasSubstr(work_dir()))) << p.ToString();
    EXPECT_THAT(p.message, Not(HasSubstr(work_dir()))) << p.ToString();
  }

  EXPECT_EQ(service_->current_version(), 1u);
  auto history = service_->History();
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
  auto after = service_->MessageFor("hist-01", "hist-01");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ(**after, **before);
  EXPECT_EQ(changes, 0);
  EXPECT_EQ(AuditRecords().size(), audit_before);
  EXPECT_TRUE(std::filesystem::is_empty(work_dir()));
}

TEST_F(ConfigServiceTest, AConfigWithoutFleetYamlIsAProblem) {
  auto outcome = service_->Publish({{"packs/a.json", "{}"}}, "tok_admin");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->version, 0u);
  EXPECT_THAT(Texts(outcome->problems), ElementsAre(HasSubstr("fleet.yaml: the config has no")));
  EXPECT_EQ(service_->current_version(), 0u);
}

TEST_F(ConfigServiceTest, BadFileNamesAreRefusedBeforeAnythingIsWritten) {
  auto files = FleetFiles("good");
  for (const char* bad : {"/etc/passwd", "../escape.json", "packs/../../x", "a//b", ""}) {
    auto with_bad = files;
    with_bad[bad] = "{}";
    auto outcome = service_->Publish(with_bad, "tok_admin");
    ASSERT_FALSE(outcome.ok()) << bad;
    EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(outcome.status().message(), HasSubstr("config file")) << bad;
  }
  auto clash = files;
  clash["packs/baseline.json/x"] = "{}";
  auto outcome = service_->Publish(clash, "tok_admin");
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(), HasSubstr("packs/baseline.json"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/etc/passwd"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/escape.json"));
  EXPECT_TRUE(std::filesystem::is_empty(work_dir()));
  EXPECT_EQ(service_->current_version(), 0u);

  auto big = files;
  big["packs/huge.json"] = std::string((4u << 20) + 1, ' ');
  auto too_big = service_->Publish(big, "tok_admin");
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.status().message(), HasSubstr("packs/huge.json"));
}

TEST_F(ConfigServiceTest, EachNodeGetsOnlyItsRolesPacksAndVarsSigned) {
  ASSERT_EQ(PublishOk(FleetFiles("good")), 1u);

  const packs::NodeConfig hist = MessageOf("hist-01", "hist-01.plant");
  EXPECT_EQ(hist.version, 1u);
  EXPECT_THAT(hist.roles, ElementsAre("historian"));
  EXPECT_THAT(PackNames(hist), ElementsAre("site-historian"));
  EXPECT_EQ(VarText(hist, "zone_cidrs"), "[10.1.0.0/16]");
  EXPECT_EQ(VarText(hist, "max_sessions"), "4");
  EXPECT_EQ(VarText(hist, "forwarding"), "<unset>");  // the baseline role's, not this node's
  EXPECT_EQ(hist.enforce, packs::EnforceMode::kDryRun);
  EXPECT_EQ(hist.target_sl, 3);

  // Matched by hostname, case-insensitively: both roles, the rule's vars win.
  const packs::NodeConfig eng = MessageOf("0a1b2c", "eng-ws.plant.example");
  EXPECT_THAT(eng.roles, ElementsAre("baseline", "historian"));
  EXPECT_THAT(PackNames(eng), ElementsAre("site-baseline", "site-historian"));
  EXPECT_EQ(VarText(eng, "max_sessions"), "2");
  EXPECT_EQ(VarText(eng, "forwarding"), "0");

  const packs::NodeConfig plc = MessageOf("plc-1", "plc-1");
  EXPECT_THAT(plc.roles, ElementsAre("iec62443"));
  const std::vector<std::string> names = PackNames(plc);
  EXPECT_FALSE(names.empty());
  EXPECT_THAT(names, Not(Contains("site-historian")));
  EXPECT_THAT(names, Not(Contains("site-baseline")));

  EXPECT_THAT(service_->RolesFor("0a1b2c", "ENG-WS.plant.example"),
              ElementsAre("baseline", "historian"));
  EXPECT_THAT(service_->RolesFor("plc-1", "plc-1"), ElementsAre("iec62443"));
  EXPECT_TRUE(service_->Catalog().has_value());

  // A message changed after signing does not verify.
  auto message = service_->MessageFor("hist-01", "hist-01");
  ASSERT_TRUE(message.ok() && message->has_value());
  std::string tampered = **message;
  const size_t at = tampered.find("dry-run");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 7, "auto");
  EXPECT_EQ(VerifyConfig(service_->public_key(), tampered).value_or(true), false);
}

TEST_F(ConfigServiceTest, ScopeForIsTheNodesRolesPacksChecksAndItsTargetSl) {
  auto none = service_->ScopeFor("hist-01", "hist-01");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());  // nothing published: no filter

  ASSERT_EQ(PublishOk(FleetFiles("good")), 1u);
  auto hist = service_->ScopeFor("hist-01", "hist-01.plant");
  ASSERT_TRUE(hist.ok() && hist->has_value());
  EXPECT_THAT((*hist)->checks,
              ElementsAre("site-historian-port-documented", "site-historian-sessions"));
  EXPECT_EQ((*hist)->target_sl, 3);
  auto eng = service_->ScopeFor("0a1b2c", "eng-ws.plant.example");
  ASSERT_TRUE(eng.ok() && eng->has_value());
  EXPECT_THAT((*eng)->checks, ElementsAre("site-historian-port-documented",
                                          "site-historian-sessions", "site-ip-forwarding-off"));
  EXPECT_EQ((*eng)->target_sl, 3);  // the highest of its roles'
  auto other = service_->ScopeFor("web-1", "web-1");  // the iec62443 bundle
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_TRUE((*other)->checks.count("ssh-root-login-disabled"));
  EXPECT_FALSE((*other)->checks.count("site-historian-sessions"));
  EXPECT_EQ((*other)->target_sl, 2);
}

TEST_F(ConfigServiceTest, ANodeMatchingNoRuleGetsNoMessage) {
  auto files = FleetFiles("good");
  files["fleet.yaml"] =
      "nodes:\n"
      "  - match: 'hist-*'\n"
      "    roles: [historian]\n"
      "    vars: {max_sessions: 3}\n"
      "roles:\n"
      "  historian: {packs: [site/]}\n";
  ASSERT_EQ(PublishOk(files), 1u);
  auto message = service_->MessageFor("plc-1", "plc-1");
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  EXPECT_FALSE(message->has_value());
  EXPECT_THAT(service_->RolesFor("plc-1", "plc-1"), IsEmpty());
  auto hist = service_->MessageFor("hist-9", "hist-9");
  ASSERT_TRUE(hist.ok());
  EXPECT_TRUE(hist->has_value());
}

TEST_F(ConfigServiceTest, AMessageIsRenderedOncePerRuleAndVersion) {
  ASSERT_EQ(PublishOk(FleetFiles("good")), 1u);
  EXPECT_EQ(service_->messages_rendered(), 0u);
  auto a = service_->MessageFor("hist-01", "hist-01");
  auto b = service_->MessageFor("hist-02", "hist-02");
  ASSERT_TRUE(a.ok() && a->has_value() && b.ok() && b->has_value());
  EXPECT_EQ(**a, **b);  // the same rule: the same signed message
  EXPECT_EQ(service_->messages_rendered(), 1u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(service_->MessageFor("hist-" + std::to_string(i), "h").ok());
  }
  EXPECT_EQ(service_->messages_rendered(), 1u);
  ASSERT_TRUE(service_->MessageFor("plc-1", "plc-1").ok());  // another rule
  EXPECT_EQ(service_->messages_rendered(), 2u);

  // A new version renders again and says so.
  ASSERT_EQ(PublishOk(FleetFiles("good")), 2u);
  EXPECT_EQ(MessageOf("hist-01", "hist-01").version, 2u);
  EXPECT_EQ(service_->messages_rendered(), 3u);
}

TEST_F(ConfigServiceTest, RollbackIsANewVersionWithTheOldFiles) {
  std::vector<uint64_t> changes;
  service_->OnChange([&](uint64_t v) { changes.push_back(v); });
  const auto v1_files = FleetFiles("good");
  ASSERT_EQ(PublishOk(v1_files), 1u);
  auto v2_files = v1_files;
  std::string& yaml = v2_files["fleet.yaml"];
  yaml.replace(yaml.find("enforce: dry-run"), 16, "enforce: auto");
  ASSERT_EQ(PublishOk(v2_files, "tok_other"), 2u);
  EXPECT_EQ(MessageOf("hist-01", "hist-01").enforce, packs::EnforceMode::kAuto);

  auto rolled = service_->Rollback(1, "tok_admin");
  ASSERT_TRUE(rolled.ok()) << rolled.status().ToString();
  EXPECT_EQ(*rolled, 3u);
  EXPECT_EQ(service_->current_version(), 3u);
  const packs::NodeConfig hist = MessageOf("hist-01", "hist-01");
  EXPECT_EQ(hist.version, 3u);  // agents see a new number
  EXPECT_EQ(hist.enforce, packs::EnforceMode::kDryRun);
  EXPECT_THAT(changes, ElementsAre(1u, 2u, 3u));

  auto files = service_->Files(3);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, v1_files);
  auto history = service_->History();
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].version, 3u);
  EXPECT_EQ((*history)[0].note, "rollback to 1");
  EXPECT_EQ((*history)[0].digest, (*history)[2].digest);
  EXPECT_NE((*history)[1].digest, (*history)[2].digest);
  EXPECT_EQ((*history)[1].published_by, "tok_other");
  EXPECT_EQ((*history)[2].version, 1u);

  const auto records = AuditRecords();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().action, "config.rollback");
  EXPECT_EQ(records.back().subject, "3");
  EXPECT_THAT(records.back().detail, HasSubstr("\"rollback_to\":1"));

  auto missing = service_->Rollback(9, "tok_admin");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("no config version 9"));
  EXPECT_EQ(service_->current_version(), 3u);
}

TEST_F(ConfigServiceTest, ARestartKeepsTheCurrentVersion) {
  ASSERT_EQ(PublishOk(FleetFiles("good")), 1u);
  ASSERT_EQ(PublishOk(FleetFiles("good")), 2u);
  auto rolled = service_->Rollback(1, "tok_admin");
  ASSERT_TRUE(rolled.ok());
  auto before = service_->MessageFor("hist-01", "hist-01");
  ASSERT_TRUE(before.ok() && before->has_value());

  Reopen();
  EXPECT_EQ(service_->current_version(), 3u);
  auto after = service_->MessageFor("hist-01", "hist-01");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ(**after, **before);  // Ed25519 signatures are deterministic
  EXPECT_THAT(service_->RolesFor("hist-01", "hist-01"), ElementsAre("historian"));
  // Versions keep growing after a restart.
  EXPECT_EQ(PublishOk(FleetFiles("good")), 4u);
  EXPECT_TRUE(std::filesystem::is_empty(work_dir()));
}

TEST_F(ConfigServiceTest, StoreKeepsVersionsGrowingAndListsThemWithoutFiles) {
  ConfigVersionRecord record;
  record.version = 5;
  record.published_at = 1795539720000;
  record.published_by = "local";
  record.digest = "d";
  record.files = {{"fleet.yaml", "x"}, {"b", std::string("\0\xff", 2)}};
  ASSERT_TRUE(store_->PutConfigVersion(record).ok());
  auto current = store_->CurrentConfigVersion();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(*current, 5u);
  record.version = 5;
  Status again = store_->PutConfigVersion(record);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("config version 5 is not above the newest stored one, 5"));
  record.version = 0;
  EXPECT_EQ(store_->PutConfigVersion(record).code(), StatusCode::kInvalidArgument);
  record.version = 300;  // past a byte boundary of the key
  record.note = "rollback to 5";
  ASSERT_TRUE(store_->PutConfigVersion(record).ok());

  auto list = store_->ListConfigVersions();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, 300u);
  EXPECT_EQ((*list)[0].note, "rollback to 5");
  EXPECT_THAT((*list)[0].paths, ElementsAre("b", "fleet.yaml"));
  EXPECT_THAT((*list)[0].files, IsEmpty());
  EXPECT_EQ((*list)[1].version, 5u);

  auto got = store_->GetConfigVersion(5);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->files, record.files);
  EXPECT_EQ((*got)->published_by, "local");
  auto none = store_->GetConfigVersion(6);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  current = store_->CurrentConfigVersion();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(*current, 300u);
}

}  // namespace
}  // namespace vigil::server
