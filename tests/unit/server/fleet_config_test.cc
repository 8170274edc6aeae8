// The fleet definition: fleet.yaml and its packs loaded, validated as a publish would (real
// tables, real enforcer actions) and rendered into each node's config message.
#include "server/fleet_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/packs/loader.h"
#include "engine/packs/node_config.h"
#include "engine/signing.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

std::string FleetFixture(const std::string& name) {
  return std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/fleet/" + name;
}

FleetDefinition Load(const std::string& dir) {
  auto fleet = LoadFleetDir(dir);
  EXPECT_TRUE(fleet.ok()) << fleet.status().ToString();
  return fleet.ok() ? std::move(fleet).value() : FleetDefinition{};
}

// A fleet directory from fleet.yaml text and pack files.
FleetDefinition LoadText(const TempDir& dir, const std::string& yaml,
                         const std::vector<std::pair<std::string, std::string>>& files = {}) {
  dir.WriteFile("/fleet.yaml", yaml);
  for (const auto& [name, content] : files) dir.WriteFile("/" + name, content);
  return Load(dir.path());
}

std::vector<std::string> Texts(const std::vector<packs::Problem>& problems) {
  std::vector<std::string> out;
  for (const packs::Problem& p : problems) out.push_back(p.ToString());
  return out;
}

// The node's config message, parsed back as an agent reads it.
struct NodeView {
  std::string json;
  packs::NodeConfig config;
  std::vector<std::string> pack_names;
};

NodeView ConfigOf(const FleetDefinition& fleet, const std::string& id, const std::string& host,
                  uint64_t version = 7) {
  NodeView view;
  auto json = NodeConfigFor(fleet, id, host, version);
  EXPECT_TRUE(json.ok()) << json.status().ToString();
  if (!json.ok()) return view;
  view.json = *json;
  auto parsed = packs::ParseNodeConfig("config", *json);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return view;
  view.config = std::move(parsed).value();
  packs::LoadResult loaded = packs::LoadPackSources(view.config.packs, {});
  EXPECT_THAT(Texts(loaded.problems), IsEmpty());
  for (const packs::Pack& p : loaded.packs) view.pack_names.push_back(p.name);
  return view;
}

packs::Param List(std::vector<std::string> items) { return packs::Param{std::move(items), true}; }

TEST(FleetConfigTest, GoodFixtureLoadsAndPassesPublishValidation) {
  const FleetDefinition fleet = Load(FleetFixture("good"));
  EXPECT_THAT(Texts(fleet.problems), IsEmpty());
  ASSERT_EQ(fleet.nodes.size(), 3u);
  EXPECT_EQ(fleet.nodes[0].match, "hist-*");
  EXPECT_EQ(fleet.nodes[0].line, 4);
  EXPECT_THAT(fleet.nodes[1].roles, ElementsAre("baseline", "historian"));
  ASSERT_EQ(fleet.roles.count("historian"), 1u);
  const RoleDefinition& historian = fleet.roles.at("historian");
  EXPECT_EQ(historian.enforce, packs::EnforceMode::kDryRun);
  EXPECT_EQ(historian.target_sl, 3);
  EXPECT_THAT(historian.packs, ElementsAre("site/"));
  ASSERT_EQ(fleet.packs.count("site/"), 1u);
  ASSERT_EQ(fleet.packs.at("site/").size(), 1u);
  EXPECT_EQ(fleet.packs.at("site/")[0].file, "site/historian.json");
  EXPECT_EQ(fleet.packs.at("iec62443").size(), 5u);
  // The catalogue comes with the built-in bundle, so SR ids are checked too.
  ASSERT_TRUE(fleet.catalog.has_value());
  EXPECT_EQ(fleet.catalog_name, "builtin:iec62443/catalog.json");

  EXPECT_THAT(Texts(ValidateFleetForPublish(fleet)), IsEmpty());
}

TEST(FleetConfigTest, FirstMatchingRuleWins) {
  const FleetDefinition fleet = Load(FleetFixture("good"));
  // Both hist-* and * match; ENG-WS matches the hostname too, but hist-* comes first.
  const NodeRule* rule = MatchNode(fleet, "hist-02", "eng-ws.plant.example");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->match, "hist-*");
  const NodeView view = ConfigOf(fleet, "hist-02", "eng-ws.plant.example");
  EXPECT_THAT(view.config.roles, ElementsAre("historian"));

  rule = MatchNode(fleet, "plc-gw-1", "plc-gw-1");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->match, "*");
}

TEST(FleetConfigTest, GlobMatchesTheHostnameCaseInsensitively) {
  const FleetDefinition fleet = Load(FleetFixture("good"));
  // The host identifier (a machine id) matches no specific rule; the hostname does.
  const NodeRule* rule =
      MatchNode(fleet, "4c4c4544-0038-5010-8030-b4c04f4e4a32", "eng-ws.plant.example");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->match, "ENG-WS.plant.example");
  // And the identifier alone is enough.
  rule = MatchNode(fleet, "hist-07", "");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->match, "hist-*");
  // A glob is over the whole name, not a substring.
  rule = MatchNode(fleet, "old-hist-01", "eng-ws");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->match, "*");
}

TEST(FleetConfigTest, VarsMergeRoleDefaultsThenRuleVars) {
  const FleetDefinition fleet = Load(FleetFixture("good"));
  const NodeView eng = ConfigOf(fleet, "ws-17", "eng-ws.plant.example", 12);
  EXPECT_EQ(eng.config.version, 12u);
  EXPECT_THAT(eng.config.roles, ElementsAre("baseline", "historian"));
  EXPECT_EQ(eng.config.vars, (packs::Params{
                                 {"forwarding", packs::Param::One("0")},    // baseline
                                 {"max_sessions", packs::Param::One("2")},  // rule over role's 4
                                 {"zone_cidrs", List({"10.0.0.0/8"})},      // baseline
                             }));
  // Roles disagree: the most cautious enforce mode and the highest target SL.
  EXPECT_EQ(eng.config.enforce, packs::EnforceMode::kDryRun);
  EXPECT_EQ(eng.config.target_sl, 3);

  const NodeView hist = ConfigOf(fleet, "hist-01", "hist-01");
  EXPECT_EQ(hist.config.vars, (packs::Params{
                                  {"max_sessions", packs::Param::One("4")},
                                  {"zone_cidrs", List({"10.1.0.0/16"})},
                              }));
  EXPECT_EQ(hist.config.enforce, packs::EnforceMode::kDryRun);
  EXPECT_EQ(hist.config.target_sl, 3);
}

TEST(FleetConfigTest, NodeGetsOnlyItsRolesPacksAsAConfigMessage) {
  const FleetDefinition fleet = Load(FleetFixture("good"));
  const NodeView hist = ConfigOf(fleet, "hist-01", "hist-01");
  EXPECT_THAT(hist.pack_names, ElementsAre("site-historian"));
  EXPECT_THAT(hist.json, StartsWith(R"({"type":"config","v":1,"version":7,)"));
  rapidjson::Document doc;
  doc.Parse(hist.json.data(), hist.json.size());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_FALSE(doc.HasMember("signature"));  // unsigned: the hub signs it
  EXPECT_TRUE(hist.config.catalog.has_value());

  const NodeView eng = ConfigOf(fleet, "ws-17", "eng-ws.plant.example");
  EXPECT_THAT(eng.pack_names, ElementsAre("site-baseline", "site-historian"));

  const NodeView other = ConfigOf(fleet, "plc-gw-1", "plc-gw-1");
  EXPECT_THAT(other.pack_names,
              UnorderedElementsAre("iec62443-access-control", "iec62443-audit-logging",
                                   "iec62443-availability", "iec62443-system-integrity",
                                   "iec62443-zone-segmentation"));
  EXPECT_EQ(other.config.enforce, packs::EnforceMode::kOff);
  EXPECT_EQ(other.config.target_sl, 2);
}

TEST(FleetConfigTest, ANodesConfigSignedByTheHubVerifies) {
  const FleetDefinition fleet = Load(FleetFixture("good"));
  auto json = NodeConfigFor(fleet, "hist-01", "hist-01", 3);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto key = GenerateSigningKey();
  ASSERT_TRUE(key.ok());
  auto signed_json = SignedConfigMessage(*key, *json);
  ASSERT_TRUE(signed_json.ok()) << signed_json.status().ToString();
  EXPECT_EQ(VerifyConfig(key->public_key, *signed_json).value_or(false), true);
  auto parsed = packs::ParseNodeConfig("config", *signed_json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto signature = SignConfig(*key, *json);
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(parsed->signature, *signature);
  // Another node's config does not carry this one's signature.
  auto other = NodeConfigFor(fleet, "plc-1", "plc-1", 3);
  ASSERT_TRUE(other.ok());
  const std::string moved =
      other->substr(0, other->size() - 1) + R"(,"signature":")" + *signature + "\"}";
  EXPECT_EQ(VerifyConfig(key->public_key, moved).value_or(true), false);
}

TEST(FleetConfigTest, ARoleNamedTwiceOrPacksSharedAreSentOnce) {
  TempDir dir;
  const std::string pack =
      R"({"name": "p", "checks": {"c": {"sr": ["SR 1.1"], "query": "SELECT 1 WHERE 0"}}})";
  const FleetDefinition fleet = LoadText(dir,
                                         "nodes:\n"
                                         "  - match: '*'\n"
                                         "    roles: [a, b, a]\n"
                                         "roles:\n"
                                         "  a: {packs: [p.json]}\n"
                                         "  b: {packs: [p.json], enforce: auto}\n",
                                         {{"p.json", pack}});
  EXPECT_THAT(Texts(ValidateFleet(fleet, {})), IsEmpty());
  const NodeView view = ConfigOf(fleet, "n1", "n1");
  EXPECT_THAT(view.pack_names, ElementsAre("p"));
  EXPECT_EQ(view.config.enforce, packs::EnforceMode::kOff);  // default off wins over auto
  EXPECT_EQ(view.config.target_sl, 2);                       // default
}

TEST(FleetConfigTest, NoMatchingRuleIsNotFound) {
  TempDir dir;
  const FleetDefinition fleet = LoadText(dir,
                                         "nodes:\n"
                                         "  - match: 'hist-*'\n"
                                         "    roles: [r]\n"
                                         "roles:\n"
                                         "  r: {packs: [iec62443]}\n");
  EXPECT_THAT(Texts(fleet.problems), IsEmpty());
  EXPECT_EQ(MatchNode(fleet, "plc-1", "plc-1.plant"), nullptr);
  auto config = NodeConfigFor(fleet, "plc-1", "plc-1.plant", 1);
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("plc-1"));
}

TEST(FleetConfigTest, BrokenFleetDirReportsEveryProblemAtOnce) {
  const FleetDefinition fleet = Load(FleetFixture("broken"));
  const std::vector<packs::Problem> problems = ValidateFleetForPublish(fleet);
  const std::vector<std::string> texts = Texts(problems);
  auto has = [&](const std::string& file, const std::string& pointer, const std::string& check,
                 const std::string& message) {
    return std::any_of(problems.begin(), problems.end(), [&](const packs::Problem& p) {
      return p.file == file && p.pointer == pointer && p.check == check &&
             p.message.find(message) != std::string::npos;
    });
  };
  // fleet.yaml: an unknown key, a bad enforce value, a target SL out of range, each with its
  // line; a pack name that names nothing; a role no one defined.
  EXPECT_TRUE(has("fleet.yaml", "/nodes/1/colour", "", "line 7: unknown key 'colour'"));
  EXPECT_TRUE(has("fleet.yaml", "/roles/baseline/enforce", "",
                  "line 11: must be auto, dry-run or off, not 'sometimes'"));
  EXPECT_TRUE(has("fleet.yaml", "/roles/baseline/target_sl", "",
                  "line 12: must be a security level from 1 to 4, not '7'"));
  EXPECT_TRUE(has("fleet.yaml", "/roles/baseline/packs/1", "",
                  "line 10: pack 'packs/missing.json' names no file or directory in the fleet "
                  "directory and no built-in bundle (built in: iec62443)"));
  EXPECT_TRUE(has("fleet.yaml", "/nodes/0/roles/1", "",
                  "line 3: role 'scada' is not defined under 'roles' (defined: baseline, "
                  "historian)"));
  // The packs: a statement that does not prepare, an unknown enforcer, named by file, check
  // and pointer.
  EXPECT_TRUE(has("packs/bad.json", "/checks/bad-sql/query", "bad-sql", "SELEC"));
  EXPECT_TRUE(has("packs/bad.json", "/checks/bad-action/enforce/action", "bad-action",
                  "unknown enforcer 'sysctl.sett'"));
  // Variables: each missing one named with the node rule that gets the check.
  EXPECT_TRUE(has("packs/bad.json", "/checks/uses-undefined", "uses-undefined",
                  "uses variable 'zone_name', which neither pack broken-baseline nor the vars "
                  "of nodes matching '*' (fleet.yaml /nodes/1, line 5, roles: baseline) define"));
  EXPECT_TRUE(has("packs/historian.json", "/checks/historian-sessions", "historian-sessions",
                  "uses variable 'max_sessions'"));
  EXPECT_EQ(problems.size(), 9u) << ::testing::PrintToString(texts);
  // Load problems alone already stop a node's config from being made.
  EXPECT_EQ(NodeConfigFor(fleet, "hist-1", "hist-1", 1).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(FleetConfigTest, YamlSyntaxErrorNamesItsLine) {
  TempDir dir;
  const FleetDefinition fleet = LoadText(dir,
                                         "nodes:\n"
                                         "  - match: '*'\n"
                                         "    roles: [iec62443\n"
                                         "roles:\n"
                                         "  iec62443: {packs: [iec62443]}\n");
  ASSERT_EQ(fleet.problems.size(), 1u) << ::testing::PrintToString(Texts(fleet.problems));
  EXPECT_EQ(fleet.problems[0].file, "fleet.yaml");
  EXPECT_THAT(fleet.problems[0].message, StartsWith("line 4: not valid YAML: "));
}

TEST(FleetConfigTest, ShapeProblemsAreAllNamed) {
  TempDir dir;
  const FleetDefinition fleet = LoadText(dir,
                                         "nodes:\n"                              // 1
                                         "  - match: ''\n"                       // 2
                                         "    roles: iec62443\n"                 // 3
                                         "  - roles: [r]\n"                      // 4
                                         "  - match: '*'\n"                      // 5
                                         "    roles: [r]\n"                      // 6
                                         "    vars: {a: {b: c}, l: [x, [y]]}\n"  // 7
                                         "roles:\n"                              // 8
                                         "  r:\n"                                // 9
                                         "    packs: [/etc/packs]\n"             // 10
                                         "    target_sl: two\n"                  // 11
                                         "    vars: [x]\n"                       // 12
                                         "  r: {packs: [iec62443]}\n"            // 13
                                         "  'bad role': {}\n"                    // 14
                                         "extra: 1\n");                          // 15
  EXPECT_THAT(
      Texts(fleet.problems),
      UnorderedElementsAre(
          "fleet.yaml: /nodes/0/match: line 2: must be a glob over host names, e.g. \"hist-*\"",
          "fleet.yaml: /nodes/0/roles: line 3: must be a list of strings (roles: [iec62443])",
          "fleet.yaml: /nodes/1/match: line 4: missing: the host name glob to match",
          "fleet.yaml: /nodes/2/vars/a: line 7: must be a string, number, boolean or a list of "
          "them",
          "fleet.yaml: /nodes/2/vars/l/1: line 7: must be a string, number or boolean",
          "fleet.yaml: /roles/r/target_sl: line 11: must be a security level from 1 to 4, not "
          "'two'",
          "fleet.yaml: /roles/r/vars: line 12: must be a map of name: value",
          "fleet.yaml: /roles/r: line 13: 'r' is given twice",
          "fleet.yaml: /roles/bad role: line 14: role name 'bad role' may hold only letters, "
          "digits, '-', '_' and '.'",
          "fleet.yaml: /extra: line 15: unknown key 'extra' (known: nodes, roles)",
          "fleet.yaml: /roles/r/packs/0: line 10: pack '/etc/packs': name a built-in bundle or a "
          "path relative to the fleet directory, not an absolute path"));
}

TEST(FleetConfigTest, MissingFleetFileIsNotFound) {
  TempDir dir;
  auto fleet = LoadFleetDir(dir.path());
  EXPECT_EQ(fleet.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(fleet.status().message(), HasSubstr("fleet.yaml"));
  EXPECT_FALSE(LoadFleetDir(dir.path() + "/nope").ok());
}

TEST(FleetConfigTest, AVarDefinedForOneRuleButNotAnotherIsNamedForThatRule) {
  TempDir dir;
  const std::string pack = R"({"name": "p", "checks": {"zone": {"sr": ["SR 5.1"],)"
                           R"( "query": "SELECT 1 WHERE {{vars.zone}} = ''"}}})";
  const FleetDefinition fleet = LoadText(dir,
                                         "nodes:\n"
                                         "  - match: 'a-*'\n"
                                         "    roles: [r]\n"
                                         "    vars: {zone: north}\n"
                                         "  - match: '*'\n"
                                         "    roles: [r]\n"
                                         "roles:\n"
                                         "  r: {packs: [p.json]}\n",
                                         {{"p.json", pack}});
  const std::vector<packs::Problem> problems = ValidateFleetForPublish(fleet);
  ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(Texts(problems));
  EXPECT_EQ(problems[0].file, "p.json");
  EXPECT_EQ(problems[0].pointer, "/checks/zone");
  EXPECT_THAT(problems[0].message, HasSubstr("nodes matching '*' (fleet.yaml /nodes/1"));
}

}  // namespace
}  // namespace vigil::server
