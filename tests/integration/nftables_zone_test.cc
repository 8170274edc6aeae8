// nftables.zone against the real nft: the ruleset the action renders is checked with
// `nft -c -f`, then loaded into a fresh network namespace (`unshare -n`, never this machine's
// own) and listed back. The kernel must hold exactly the rendered tables, so the action's
// live comparison (`nft list ruleset` against the file's tables) sees a loaded ruleset as
// compliant, and the chains must have the hooks and policies the zone model asks for.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using testing::HaveCommand;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using ChainKey = std::tuple<std::string, std::string, std::string>;

std::string Text(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return "NULL";
  if (it->value.IsString()) return it->value.GetString();
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  return "?";
}

// family, table, chain -> "type|hook|prio|policy|rules".
std::map<ChainKey, std::string> Chains(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  std::map<ChainKey, std::string> chains;
  std::map<ChainKey, int> rules;
  if (doc.HasParseError() || !doc.HasMember("nftables")) return chains;
  for (const rapidjson::Value& item : doc["nftables"].GetArray()) {
    if (item.HasMember("chain")) {
      const rapidjson::Value& c = item["chain"];
      chains[{Text(c, "family"), Text(c, "table"), Text(c, "name")}] =
          Text(c, "type") + "|" + Text(c, "hook") + "|" + Text(c, "prio") + "|" + Text(c, "policy");
    } else if (item.HasMember("rule")) {
      const rapidjson::Value& r = item["rule"];
      ++rules[{Text(r, "family"), Text(r, "table"), Text(r, "chain")}];
    }
  }
  for (auto& [key, settings] : chains) settings += "|" + std::to_string(rules[key]);
  return chains;
}

TEST(NftablesZoneLiveTest, RenderedRulesetLoadsInAFreshNamespaceAsWritten) {
  if (!HaveCommand("unshare")) GTEST_SKIP() << "unshare (util-linux) is not installed";
  if (!HaveCommand("nft")) GTEST_SKIP() << "nft (nftables) is not installed";
  ProcessResult probe = RunProcess({"unshare", "-n", "nft", "list", "ruleset"});
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "cannot give nft a network namespace of its own here (needs root or user "
                    "namespaces): "
                 << probe.err;
  }

  TempDir root;
  auto host = Host::Open(root.path());
  ASSERT_TRUE(host.ok());
  const enforcers::Action* action = enforcers::ActionRegistry::Builtin().Find("nftables.zone");
  ASSERT_NE(action, nullptr);
  packs::Params args = {
      {"zone_cidrs", packs::Param{{"10.20.0.0/16", "fd20::/48"}, true}},
      {"conduits", packs::Param{{"tcp/22 from 10.20.0.0/24", "tcp/502", "udp/123",
                                 "tcp/4840 from 10.30.0.7,fd30::7", "tcp/8000-8080"},
                                true}}};
  auto plan = action->PlanFix(**host, args);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_FALSE(plan->refused);
  ASSERT_EQ(plan->files.size(), 1u);
  const std::string content = *plan->files[0].content;
  root.WriteFile("etc/nftables.conf", content);
  const std::string file = (*host)->RealPath("/etc/nftables.conf").value();

  // The plan's validator, as the applier runs it.
  ProcessResult check = RunProcess({"nft", "-c", "-f", file});
  EXPECT_EQ(check.exit_code, 0) << check.err;

  ProcessResult listed = RunProcess({"unshare", "-n", "sh", "-c",
                                     "nft -f \"$1\" && nft list ruleset && echo @@@ && "
                                     "nft -j list ruleset",
                                     "sh", file});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  size_t split = listed.out.find("@@@\n");
  ASSERT_NE(split, std::string::npos) << listed.out;
  const std::string text = listed.out.substr(0, split);
  const std::string json = listed.out.substr(split + 4);

  // The kernel lists back exactly the file's tables: the action's live comparison holds.
  EXPECT_EQ(text, content.substr(content.find("table inet filter {")));

  std::map<ChainKey, std::string> chains = Chains(json);
  // input: 4 base rules, 1 for tcp/22, 2 (zone v4, v6) for each of 3 zone conduits, 2 for
  // the two sources of tcp/4840.
  EXPECT_EQ(chains, (std::map<ChainKey, std::string>{
                        {{"inet", "filter", "input"}, "filter|input|0|drop|13"},
                        {{"inet", "filter", "forward"}, "filter|forward|0|drop|0"},
                        {{"inet", "filter", "output"}, "filter|output|0|accept|0"}}));

  // Loaded once, the file is what the action would write: a second plan is empty.
  auto again = action->PlanFix(**host, args);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

}  // namespace
}  // namespace vigil
