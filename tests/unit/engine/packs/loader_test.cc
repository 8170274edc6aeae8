#include "engine/packs/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::packs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One action: "demo.set" with a required "key" and an optional list "values".
class DemoActions final : public ActionCatalog {
 public:
  const ActionSpec* FindAction(std::string_view name) const override {
    return name == spec_.name ? &spec_ : nullptr;
  }

 private:
  ActionSpec spec_{"demo.set",
                   "Sets a key",
                   {{"key", true, false, "the key"}, {"values", false, true, "values"}}};
};

std::vector<std::string> Messages(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  for (const Problem& p : problems) out.push_back(p.ToString());
  return out;
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterIntrospectionTables(registry_).ok());
    host_ = std::move(Host::Open("/")).value();
    db_ = std::move(Database::Open(registry_, *host_)).value();
    auto catalog = ParseCatalog("catalog.json", R"({
      "name": "IEC 62443-3-3",
      "frameworks": {"nist-800-53": {"name": "NIST SP 800-53", "source": "test"}},
      "frs": [{"id": "FR 1", "abbreviation": "IAC", "title": "Identification"}],
      "srs": [{"id": "SR 1.1", "fr": "FR 1", "title": "Human users", "sl": 1,
               "coverage": "machine", "checks": ["c1"],
               "enhancements": [{"id": "RE 1", "title": "Unique", "sl": 2}]}]})");
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(catalog).value();
    options_.database = db_.get();
    options_.actions = &actions_;
    options_.catalog = &catalog_;
  }

  std::vector<std::string> Problems(const std::string& json, const Params* vars = nullptr) {
    std::vector<Problem> problems;
    auto pack = ParsePack("p.json", json, problems);
    if (pack) {
      LoadOptions options = options_;
      options.vars = vars;
      ValidatePack(*pack, options, problems);
    }
    return Messages(problems);
  }

  TableRegistry registry_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<Database> db_;
  DemoActions actions_;
  Catalog catalog_;
  LoadOptions options_;
};

TEST_F(LoaderTest, AValidPackLoads) {
  std::vector<Problem> problems;
  auto pack = ParsePack("/x/access.json", R"({
    "name": "access", "platform": "linux",
    "vars": {"wanted": "vigil_tables", "list": ["a", 2, true]},
    "queries": {"tables": {"query": "SELECT name FROM vigil_tables", "interval": "60",
                           "snapshot": true}},
    "checks": {"c1": {"sr": "SR 1.1", "sl": 2, "frameworks": {"nist-800-53": ["IA-2"]},
                      "query": "SELECT name AS n FROM vigil_tables WHERE name = {{vars.wanted}} AND name <> {{vars.wanted}} || 'x'",
                      "enforce": {"action": "demo.set", "with": {"key": "{{row.n}}", "values": ["{{vars.list}}", 3]}}}}})",
                        problems);
  ASSERT_TRUE(pack.has_value());
  ValidatePack(*pack, options_, problems);
  EXPECT_THAT(Messages(problems), ElementsAre());
  EXPECT_EQ(pack->name, "access");
  ASSERT_EQ(pack->queries.size(), 1u);
  EXPECT_EQ(pack->queries[0].interval, 60);
  EXPECT_TRUE(pack->queries[0].snapshot);
  ASSERT_EQ(pack->checks.size(), 1u);
  const Check& c = pack->checks[0];
  EXPECT_EQ(c.sr, std::vector<std::string>{"SR 1.1"});
  EXPECT_EQ(c.sl, 2);
  EXPECT_EQ(c.prepared_query,
            "SELECT name AS n FROM vigil_tables WHERE name = ?1 AND name <> ?1 || 'x'");
  EXPECT_EQ(c.parameters, std::vector<std::string>{"wanted"});
  EXPECT_EQ(pack->vars.at("list").items, (std::vector<std::string>{"a", "2", "true"}));
  EXPECT_EQ(c.enforce->with.at("values").items, (std::vector<std::string>{"{{vars.list}}", "3"}));
  EXPECT_EQ(pack->sha256.size(), 64u);
}

TEST_F(LoaderTest, OsqueryPacksLoadAsTheyAre) {
  std::vector<Problem> problems;
  auto pack = ParsePack("/packs/incident-response.json", R"({
    "platform": "linux", "version": "1.4.5", "discovery": ["SELECT 1 FROM vigil_tables"],
    "queries": {"q": {"query": "SELECT * FROM vigil_tables", "interval": 3600,
      "description": "d", "value": "v", "removed": false, "shard": 10, "platform": "linux",
      "version": "2.0"}}})",
                        problems);
  ASSERT_TRUE(pack.has_value());
  ValidatePack(*pack, options_, problems);
  EXPECT_THAT(Messages(problems), ElementsAre());
  EXPECT_EQ(pack->name, "incident-response");
  EXPECT_FALSE(pack->queries[0].removed);
  EXPECT_EQ(pack->queries[0].shard, 10);
}

TEST_F(LoaderTest, EveryProblemIsNamedWithItsPlace) {
  auto problems = Problems(R"({
    "name": "bad", "colour": "red",
    "queries": {"q1": {"query": "SELECT nope FROM vigil_tables", "interval": 0}},
    "checks": {
      "c1": {"sr": ["SR 1.1", "SR 9.9"], "sl": 7, "query": "SELECT * FROM no_table"},
      "c2": {"sr": "SR 1.1", "query": "SELECT name FROM vigil_tables",
             "enforce": {"action": "demo.sett", "with": {}}},
      "c3": {"sr": "SR 1.1", "query": "SELECT name FROM vigil_tables",
             "enforce": {"action": "demo.set", "with": {"kee": "x", "values": "{{row.missing}}"}}},
      "c4": {"query": "SELECT '{{vars.x}}'", "enforce": {"action": "demo.set", "with": {"key": ["a"]}}}
    }})");
  EXPECT_THAT(problems, ElementsAre(
      "p.json: /colour: unknown key 'colour' (expected one of: name, description, platform, "
      "version, discovery, vars, queries, checks, shard)",
      "p.json: /queries/q1/interval: check q1: must be an integer from 1 to 604800",
      "p.json: /checks/c1/sl: check c1: must be an integer from 1 to 4",
      "p.json: /checks/c4/sr: check c4: a check names at least one SR (\"SR 1.1\")",
      "p.json: /checks/c4/query: check c4: a {{...}} placeholder inside a quoted string is not "
      "replaced; write the placeholder outside quotes, where it is bound as a value",
      "p.json: /queries/q1/query: check q1: no such column: nope (at character 8)",
      "p.json: /checks/c1/query: check c1: no such table: no_table",
      "p.json: /checks/c1/sr/1: check c1: 'SR 9.9' is not an SR of IEC 62443-3-3",
      "p.json: /checks/c2/enforce/action: check c2: unknown enforcer 'demo.sett'",
      "p.json: /checks/c3/enforce/with: check c3: enforcer demo.set needs 'key' (the key)",
      "p.json: /checks/c3/enforce/with/kee: check c3: enforcer demo.set has no parameter 'kee' "
      "(it takes: key, values)",
      "p.json: /checks/c3/enforce/with/values: check c3: {{row.missing}} names no column of the "
      "check's rows",
      "p.json: /checks/c4/enforce/with/key: check c4: enforcer demo.set takes one value for "
      "'key', not a list"));
}

TEST_F(LoaderTest, SyntaxErrorsSayWhere) {
  EXPECT_THAT(Problems("{\n  \"name\": \"x\",\n  \"checks\": {,}\n}"),
              ElementsAre(HasSubstr("p.json: invalid JSON at line 3, column 14")));
  EXPECT_THAT(Problems("[]"), ElementsAre("p.json: a pack is a JSON object"));
  EXPECT_THAT(Problems("{}"), ElementsAre("p.json: the pack has no queries and no checks"));
}

TEST_F(LoaderTest, VariablesMustBeDefinedSomewhere) {
  const std::string pack = R"({"vars": {"a": "1"}, "checks": {"c1": {"sr": "SR 1.1",
      "query": "SELECT {{vars.a}}, {{vars.b}} FROM vigil_tables",
      "enforce": {"action": "demo.set", "with": {"key": "{{vars.c}}"}}}}})";
  EXPECT_THAT(Problems(pack), ElementsAre());  // without node variables, not judged
  Params node = {{"b", Param::One("2")}};
  EXPECT_THAT(Problems(pack, &node),
              ElementsAre("p.json: /checks/c1: check c1: uses variable 'c', which neither the "
                          "pack nor the node's variables define"));
}

TEST_F(LoaderTest, OneStatementPerQuery) {
  EXPECT_THAT(Problems(R"({"checks": {"c1": {"sr": "SR 1.1",
      "query": "SELECT name FROM vigil_tables; SELECT 2"}}})"),
              ElementsAre(HasSubstr("only one statement may run at a time")));
}

TEST(BindVariablesTest, RewritesOutsideLiteralsAndComments) {
  std::vector<std::string> names;
  auto sql = BindVariables("SELECT {{vars.a}}, \"{x}\", 'it''s' -- {{vars.z}}\n, {{vars.b}}, {{vars.a}}",
                           names);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(*sql, "SELECT ?1, \"{x}\", 'it''s' -- {{vars.z}}\n, ?2, ?1");
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(BindVariables("SELECT {{row.a}}", names).ok());
  EXPECT_FALSE(BindVariables("SELECT {{vars.a", names).ok());
}

TEST(CatalogTest, ProblemsAreListed) {
  auto catalog = ParseCatalog("catalog.json", R"({"name": "x", "frs": [{"id": "FR 1", "title": "t"}],
    "srs": [{"id": "SR 1.1", "fr": "FR 2", "title": "t", "coverage": "machine"},
            {"id": "SR 1.1", "fr": "FR 1", "title": "t", "coverage": "organisational"}]})");
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().message(),
            "catalog.json: /srs/0/fr: 'FR 2' is not one of the catalogue's frs\n"
            "catalog.json: /srs/1/note: SR 1.1 is organisational: the note must say why, or what "
            "evidence to attach\n"
            "catalog.json: /srs/1/id: SR 1.1 appears twice");
}

}  // namespace
}  // namespace vigil::packs
