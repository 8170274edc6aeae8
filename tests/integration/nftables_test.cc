// nftables_rules against a live kernel ruleset: the fixture's /etc/nftables.conf is loaded with
// `nft -f` into a fresh network namespace (`unshare -n`), `vigil sql` runs inside it, and its
// rows are compared with `nft -j list ruleset` from the same namespace and with what the table
// parses from the file itself.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using testing::FixtureRoot;
using testing::HaveCommand;
using testing::ProcessResult;
using testing::RunProcess;

// family, table, chain -> chain type, hook, priority, policy and rule count, as text.
using ChainKey = std::tuple<std::string, std::string, std::string>;
using Chains = std::map<ChainKey, std::string>;

std::string Text(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return "NULL";
  if (it->value.IsString()) return it->value.GetString();
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  return "?";
}

// `nft -j list ruleset`: chains with their settings, and a rule count per chain.
Chains FromNftJson(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  Chains chains;
  std::map<ChainKey, int> rules;
  if (doc.HasParseError() || !doc.HasMember("nftables")) return chains;
  for (const rapidjson::Value& item : doc["nftables"].GetArray()) {
    if (item.HasMember("chain")) {
      const rapidjson::Value& c = item["chain"];
      ChainKey key{Text(c, "family"), Text(c, "table"), Text(c, "name")};
      chains[key] =
          Text(c, "type") + "|" + Text(c, "hook") + "|" + Text(c, "prio") + "|" + Text(c, "policy");
    } else if (item.HasMember("rule")) {
      const rapidjson::Value& r = item["rule"];
      ++rules[{Text(r, "family"), Text(r, "table"), Text(r, "chain")}];
    }
  }
  for (auto& [key, settings] : chains) settings += "|" + std::to_string(rules[key]);
  return chains;
}

constexpr const char* kChainsSql =
    "SELECT family, table_name, chain, chain_type, hook, priority, policy, count(rule) AS rules "
    "FROM nftables_rules GROUP BY family, table_name, chain";

// Rows of kChainsSql (as objects from `vigil sql --json`, or from the library) as Chains.
Chains FromRows(const std::vector<std::vector<std::string>>& rows) {
  Chains chains;
  for (const auto& r : rows) {
    chains[{r[0], r[1], r[2]}] = r[3] + "|" + r[4] + "|" + r[5] + "|" + r[6] + "|" + r[7];
  }
  return chains;
}

std::vector<std::vector<std::string>> FromVigilJson(const std::string& json,
                                                    const std::vector<const char*>& columns) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_TRUE(!doc.HasParseError() && doc.IsArray()) << json;
  std::vector<std::vector<std::string>> rows;
  if (doc.HasParseError() || !doc.IsArray()) return rows;
  for (const rapidjson::Value& object : doc.GetArray()) {
    std::vector<std::string> row;
    for (const char* column : columns) row.push_back(Text(object, column));
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST(NftablesLiveTest, KernelRulesetInAFreshNetworkNamespaceMatchesNft) {
  if (!HaveCommand("unshare")) GTEST_SKIP() << "unshare (util-linux) is not installed";
  if (!HaveCommand("nft")) GTEST_SKIP() << "nft (nftables) is not installed";
  ProcessResult probe = RunProcess({"unshare", "-n", "nft", "list", "ruleset"});
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "cannot give nft a network namespace of its own here (needs root or user "
                    "namespaces): "
                 << probe.err;
  }
  const std::string etc = FixtureRoot("debian12") + "/etc";
  const std::string rules_sql =
      "SELECT rule, handle, source, line FROM nftables_rules "
      "WHERE table_name = 'filter' AND chain = 'input' ORDER BY position";
  const std::string script =
      "nft -I \"$1\" -f \"$1/nftables.conf\" && \"$2\" sql --json \"$3\" && echo @@@ && "
      "\"$2\" sql --json \"$4\" && echo @@@ && nft -j list ruleset";
  ProcessResult r = RunProcess(
      {"unshare", "-n", "sh", "-c", script, "sh", etc, VIGIL_BIN, kChainsSql, rules_sql});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no warning: the kernel's ruleset was read
  size_t first = r.out.find("\n@@@\n");
  size_t second = r.out.find("\n@@@\n", first + 1);
  ASSERT_NE(second, std::string::npos) << r.out;
  std::string vigil_chains = r.out.substr(0, first);
  std::string vigil_rules = r.out.substr(first + 5, second - first - 5);
  std::string nft_json = r.out.substr(second + 5);

  Chains kernel = FromNftJson(nft_json);
  ASSERT_EQ(kernel.size(), 5u) << nft_json;
  EXPECT_EQ(kernel[ChainKey("inet", "filter", "input")], "filter|input|0|drop|8");
  EXPECT_EQ(FromRows(FromVigilJson(vigil_chains, {"family", "table_name", "chain", "chain_type",
                                                  "hook", "priority", "policy", "rules"})),
            kernel);

  // The file the namespace loaded, parsed by the table under a root, agrees on every chain.
  auto parsed = testing::RunSql(FixtureRoot("debian12"), kChainsSql);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  std::vector<std::vector<std::string>> parsed_rows;
  for (const Row& row : parsed->rows) {
    std::vector<std::string> cells;
    for (const Value& v : row) cells.push_back(v.is_null() ? "NULL" : v.ToString());
    parsed_rows.push_back(std::move(cells));
  }
  EXPECT_EQ(FromRows(parsed_rows), kernel);

  // Rule text as the kernel lists it: variables substituted, counters without values.
  std::vector<std::vector<std::string>> rules =
      FromVigilJson(vigil_rules, {"rule", "handle", "source", "line"});
  ASSERT_EQ(rules.size(), 8u) << vigil_rules;
  EXPECT_EQ(rules[0][0], "iif \"lo\" accept");
  EXPECT_EQ(rules[4][0], "ip saddr 10.20.0.0/24 tcp dport 22 accept");
  EXPECT_EQ(rules[5][0], "tcp dport { 443, 4840 } accept");
  EXPECT_EQ(rules[7][0], "ip saddr 10.30.0.0/24 tcp dport 502 accept comment \"modbus\"");
  for (const auto& rule : rules) {
    EXPECT_NE(rule[1], "NULL") << rule[0];
    EXPECT_EQ(rule[2], "kernel");
    EXPECT_EQ(rule[3], "NULL");
  }
}

}  // namespace
}  // namespace vigil
