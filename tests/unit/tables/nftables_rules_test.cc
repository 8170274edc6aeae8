#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/query_context.h"
#include "tables/internal/nftables_ruleset.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::FixtureRoot;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql, Rows* warnings = nullptr) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (!result.ok()) return {};
  if (warnings != nullptr) {
    *warnings = result->warnings;
  } else {
    EXPECT_EQ(result->warnings, Rows{}) << sql;
  }
  return RowsAsText(*result);
}

// The fixture's /etc/nftables.conf: `define`s kept in the rule text, a rule continued inside
// braces, two rules on one line, an included file that adds a table and appends to a chain, and
// chains without rules still listed with their policy.
TEST(NftablesRulesTable, ParsesTheConfiguredRulesetUnderARoot) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT family, table_name, chain, chain_type, hook, priority, policy, position, "
            "rule, handle, source, line FROM nftables_rules "
            "ORDER BY family, table_name, chain, position"),
      (Rows{
          "inet|filter|forward|filter|forward|0|drop|NULL|NULL|NULL|/etc/nftables.conf|27",
          "inet|filter|input|filter|input|0|drop|1|iif \"lo\" accept|NULL|/etc/nftables.conf|17",
          "inet|filter|input|filter|input|0|drop|2|ct state established,related accept|NULL|"
          "/etc/nftables.conf|18",
          "inet|filter|input|filter|input|0|drop|3|ct state invalid drop|NULL|"
          "/etc/nftables.conf|19",
          "inet|filter|input|filter|input|0|drop|4|ip saddr @blocked drop|NULL|"
          "/etc/nftables.conf|20",
          "inet|filter|input|filter|input|0|drop|5|"
          "ip saddr $admin_net tcp dport $ssh_port accept|NULL|/etc/nftables.conf|21",
          "inet|filter|input|filter|input|0|drop|6|tcp dport { 443, 4840 } accept|NULL|"
          "/etc/nftables.conf|22",
          "inet|filter|input|filter|input|0|drop|7|"
          "icmp type echo-request limit rate 5/second accept|NULL|/etc/nftables.conf|24",
          "inet|filter|input|filter|input|0|drop|8|"
          "ip saddr 10.30.0.0/24 tcp dport 502 accept comment \"modbus\"|NULL|"
          "/etc/nftables.d/50-nat.nft|9",
          "inet|filter|logging|NULL|NULL|NULL|NULL|1|log prefix \"dropped: \" counter|NULL|"
          "/etc/nftables.conf|37",
          "inet|filter|logging|NULL|NULL|NULL|NULL|2|drop|NULL|/etc/nftables.conf|37",
          // "priority filter + 10"
          "inet|filter|output|filter|output|10|accept|NULL|NULL|NULL|/etc/nftables.conf|32",
          "ip|nat|postrouting|nat|postrouting|100|accept|1|"
          "oifname \"eth0\" ip saddr 10.30.0.0/24 masquerade|NULL|/etc/nftables.d/50-nat.nft|5",
      }));
}

TEST(NftablesRulesTable, AnswersTheDefaultDenyCheck) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT DISTINCT hook, policy FROM nftables_rules WHERE chain_type = 'filter' "
                  "ORDER BY hook"),
            (Rows{"forward|drop", "input|drop", "output|accept"}));
}

TEST(NftablesRulesTable, CommandsApplyInOrder) {
  TempDir root;
  root.WriteFile("etc/nftables.conf",
                 "table inet old { chain c { type filter hook input priority 0; } }\n"
                 "flush ruleset\n"
                 "define prio = -150\n"
                 "table filter {\n"  // no family: ip
                 "  chain pre { type filter hook prerouting priority $prio; policy drop; }\n"
                 "  chain mangled {\n"
                 "    type route hook output priority mangle - 5\n"
                 "    meta mark set 0x1\n"
                 "  }\n"
                 "  chain gone { counter }\n"
                 "}\n"
                 "add table bridge br\n"
                 "add chain bridge br out { type filter hook output priority out; }\n"
                 "add chain ip filter helper\n"
                 "add rule filter helper counter accept\n"
                 "insert rule ip filter helper ip daddr 10.0.0.1 drop\n"
                 "add rule ip filter helper position 3 log\n"
                 "add table netdev ingress\n"
                 "add chain netdev ingress eth { type filter hook ingress device \"eth0\" "
                 "priority filter; }\n"
                 "flush chain ip filter mangled\n"
                 "delete chain ip filter gone\n"
                 "table inet t2 { chain a { accept } }\n"
                 "delete table inet t2\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT family, table_name, chain, chain_type, hook, priority, policy, "
                  "position, rule, line FROM nftables_rules"),
            (Rows{
                "ip|filter|pre|filter|prerouting|-150|drop|NULL|NULL|5",
                "ip|filter|mangled|route|output|-155|accept|NULL|NULL|6",
                "ip|filter|helper|NULL|NULL|NULL|NULL|1|ip daddr 10.0.0.1 drop|16",
                "ip|filter|helper|NULL|NULL|NULL|NULL|2|counter accept|15",
                "ip|filter|helper|NULL|NULL|NULL|NULL|3|log|17",
                "bridge|br|out|filter|output|100|accept|NULL|NULL|13",
                "netdev|ingress|eth|filter|ingress|0|accept|NULL|NULL|19",
            }));
}

TEST(NftablesRulesTable, ProblemsAreWarningsWithFileAndLine) {
  TempDir root;
  root.WriteFile("etc/nftables.conf",
                 "include \"/etc/nft/missing.nft\"\n"
                 "include \"/etc/nft/none-*.nft\"\n"
                 "include \"nft/loop.nft\"\n"
                 "table inet f {\n"
                 "  chain c {\n"
                 "    type filter hook input priority sideways; policy $nope;\n"
                 "    meta l4proto tcp accept\n"
                 "  }\n"
                 "}\n"
                 "add rule inet f nosuch accept\n"
                 "frobnicate everything\n");
  root.WriteFile("etc/nft/loop.nft",
                 "include \"nft/loop.nft\"\n"
                 "add rule inet f c drop comment \"unterminated\n");
  Rows warnings;
  EXPECT_EQ(Query(root.path(),
                  "SELECT chain, chain_type, priority, policy, rule, source, line "
                  "FROM nftables_rules",
                  &warnings),
            (Rows{
                "c|filter|NULL|$nope|meta l4proto tcp accept|/etc/nftables.conf|7",
            }));
  EXPECT_EQ(warnings,
            (Rows{
                "nftables_rules: /etc/nftables.conf:1: cannot open include file "
                "'/etc/nft/missing.nft'",
                "nftables_rules: /etc/nft/loop.nft:2: unterminated string",
                "nftables_rules: /etc/nft/loop.nft:1: include loop: /etc/nft/loop.nft is "
                "already being read",
                "nftables_rules: /etc/nft/loop.nft:2: no chain 'c' in table inet f",
                "nftables_rules: /etc/nftables.conf:6: unknown chain priority 'sideways'",
                "nftables_rules: /etc/nftables.conf:6: undefined variable '$nope'",
                "nftables_rules: /etc/nftables.conf:10: no chain 'nosuch' in table inet f",
                "nftables_rules: /etc/nftables.conf:11: unknown statement 'frobnicate'",
            }));
}

TEST(NftablesRulesTable, NoConfigurationMeansNoRows) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM nftables_rules"), Rows{});
}

TEST(NftablesRuleset, StandardPriorityNamesDependOnTheFamily) {
  using internal::ChainPriority;
  EXPECT_EQ(ChainPriority("inet", "filter"), 0);
  EXPECT_EQ(ChainPriority("ip6", "raw"), -300);
  EXPECT_EQ(ChainPriority("ip", "dstnat+5"), -95);
  EXPECT_EQ(ChainPriority("ip", "security"), 50);
  EXPECT_EQ(ChainPriority("bridge", "filter"), -200);
  EXPECT_EQ(ChainPriority("bridge", "srcnat"), 300);
  EXPECT_EQ(ChainPriority("netdev", "filter-10"), -10);
  EXPECT_EQ(ChainPriority("ip", "-7"), -7);
  EXPECT_EQ(ChainPriority("netdev", "srcnat"), std::nullopt);
  EXPECT_EQ(ChainPriority("ip", "filter*2"), std::nullopt);
  EXPECT_EQ(ChainPriority("ip", ""), std::nullopt);
}

// What `nft -s -a list ruleset` prints: handles come from the "# handle N" comments.
TEST(NftablesRuleset, ListingGivesHandlesAndRuleText) {
  auto host = Host::Open("/");
  ASSERT_TRUE(host.ok());
  Schema schema{"t", "test", {}};
  QueryContext ctx(**host, schema);
  internal::NftRuleset ruleset = internal::ParseNftListing(ctx,
                                                           "table inet filter { # handle 1\n"
                                                           "\tset blocked { # handle 5\n"
                                                           "\t\ttype ipv4_addr\n"
                                                           "\t\telements = { 192.0.2.1 }\n"
                                                           "\t}\n"
                                                           "\n"
                                                           "\tchain input { # handle 1\n"
                                                           "\t\ttype filter hook input priority "
                                                           "filter; policy drop;\n"
                                                           "\t\tiif \"lo\" accept # handle 6\n"
                                                           "\t\tlog prefix \"x # y\" counter "
                                                           "# handle 14\n"
                                                           "\t}\n"
                                                           "}\n",
                                                           "listing");
  ASSERT_EQ(ruleset.tables.size(), 1u);
  ASSERT_EQ(ruleset.tables[0].chains.size(), 1u);
  const internal::NftChain& chain = ruleset.tables[0].chains[0];
  EXPECT_EQ(chain.policy, "drop");
  EXPECT_EQ(chain.priority, 0);
  ASSERT_EQ(chain.rules.size(), 2u);
  EXPECT_EQ(chain.rules[0].text, "iif \"lo\" accept");
  EXPECT_EQ(chain.rules[0].handle, 6);
  EXPECT_EQ(chain.rules[0].file, "");
  EXPECT_EQ(chain.rules[1].text, "log prefix \"x # y\" counter");
  EXPECT_EQ(chain.rules[1].handle, 14);
}

}  // namespace
}  // namespace vigil::tables
