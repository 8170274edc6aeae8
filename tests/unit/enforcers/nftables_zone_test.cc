#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "engine/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using vigil::testing::TempDir;

packs::Param List(std::vector<std::string> items) { return packs::Param{std::move(items), true}; }

class NftablesZoneTest : public ::testing::Test {
 protected:
  Result<Plan> PlanFix(const packs::Params& args) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    const Action* action = ActionRegistry::Builtin().Find("nftables.zone");
    EXPECT_NE(action, nullptr);
    return action->PlanFix(**host, args);
  }
  static packs::Params Args(std::vector<std::string> zone, std::vector<std::string> conduits) {
    return {{"zone_cidrs", List(std::move(zone))}, {"conduits", List(std::move(conduits))}};
  }

  TempDir dir_;
};

constexpr const char* kExpected =
    "#!/usr/sbin/nft -f\n"
    "# Written by vigil (nftables.zone): the whole ruleset. Edits here are replaced.\n"
    "# Zone: 10.0.0.0/8, fd00::/8\n"
    "# Conduits: tcp/22 from 10.20.0.0/24, tcp/502, udp/123 from 10.20.0.5\n"
    "\n"
    "flush ruleset\n"
    "\n"
    "table inet filter {\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy drop;\n"
    "\t\tct state established,related accept\n"
    "\t\tct state invalid drop\n"
    "\t\tiif \"lo\" accept\n"
    "\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept\n"
    "\t\tip saddr 10.20.0.0/24 tcp dport 22 accept\n"
    "\t\tip saddr 10.0.0.0/8 tcp dport 502 accept\n"
    "\t\tip6 saddr fd00::/8 tcp dport 502 accept\n"
    "\t\tip saddr 10.20.0.5 udp dport 123 accept\n"
    "\t}\n"
    "\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy drop;\n"
    "\t}\n"
    "\n"
    "\tchain output {\n"
    "\t\ttype filter hook output priority filter; policy accept;\n"
    "\t}\n"
    "}\n";

const std::vector<std::string> kZone = {"10.0.0.0/8", "fd00::/8"};
const std::vector<std::string> kConduits = {"tcp/22 from 10.20.0.0/24", "tcp/502",
                                            "udp/123  from 10.20.0.5"};

TEST_F(NftablesZoneTest, RendersTheWholeRulesetWithValidatorAndLiveLoad) {
  dir_.WriteFile("etc/nftables.conf", "#!/usr/sbin/nft -f\nflush ruleset\n");
  auto plan = PlanFix(Args(kZone, kConduits));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/nftables.conf");
  EXPECT_EQ(*plan->files[0].content, kExpected);
  EXPECT_EQ(plan->files[0].mode_if_new, 0755u);
  ASSERT_EQ(plan->commands.size(), 2u);
  EXPECT_EQ(plan->commands[0].when, PlannedCommand::When::kValidate);
  EXPECT_THAT(plan->commands[0].argv,
              ElementsAre("nft", "-c", "-f", "{{file:/etc/nftables.conf}}"));
  EXPECT_EQ(plan->commands[1].when, PlannedCommand::When::kApply);
  EXPECT_THAT(plan->commands[1].argv, ElementsAre("nft", "-f", "/etc/nftables.conf"));
  EXPECT_FALSE(plan->refused);
}

TEST_F(NftablesZoneTest, AFileThatAlreadyHoldsTheRulesetIsCompliant) {
  dir_.WriteFile("etc/nftables.conf", kExpected);
  auto plan = PlanFix(Args(kZone, kConduits));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
  EXPECT_TRUE(plan->commands.empty());
}

TEST_F(NftablesZoneTest, WritesAMissingFileAndAnOtherFileName) {
  auto plan = PlanFix({{"zone_cidrs", packs::Param::One("192.168.7.0/24")},
                       {"conduits", packs::Param::One("tcp/20-30")},
                       {"file", packs::Param::One("/etc/nftables.d/zone.nft")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/nftables.d/zone.nft");
  EXPECT_THAT(*plan->files[0].content,
              HasSubstr("\t\tip saddr 192.168.7.0/24 tcp dport 20-30 accept\n"));
  EXPECT_THAT(plan->commands[1].argv, ElementsAre("nft", "-f", "/etc/nftables.d/zone.nft"));
}

TEST_F(NftablesZoneTest, HostBitsAreClearedAndDuplicateRulesDropped) {
  auto plan = PlanFix(Args({"10.1.2.3/8", "10.0.0.0/8"}, {"tcp/22", "tcp/22 from 10.9.9.9/8"}));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const std::string& content = *plan->files[0].content;
  EXPECT_THAT(content, HasSubstr("# Zone: 10.0.0.0/8, 10.0.0.0/8\n"));
  const std::string rule = "\t\tip saddr 10.0.0.0/8 tcp dport 22 accept\n";
  size_t first = content.find(rule);
  ASSERT_NE(first, std::string::npos) << content;
  EXPECT_EQ(content.find(rule, first + 1), std::string::npos) << content;
}

TEST_F(NftablesZoneTest, RefusesARulesetWithoutAConduitToSsh) {
  auto plan = PlanFix(Args({"10.0.0.0/8"}, {"tcp/502", "udp/22"}));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->refused);
  EXPECT_THAT(*plan->refused, HasSubstr("no conduit opens tcp port 22"));
  EXPECT_TRUE(plan->files.empty());

  plan = PlanFix(Args({"10.0.0.0/8"}, {}));
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->refused);

  // Another SSH port: the conduit to 22 no longer counts, one to 2222 does.
  packs::Params args = Args({"10.0.0.0/8"}, {"tcp/22"});
  args["ssh_port"] = packs::Param::One("2222");
  plan = PlanFix(args);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->refused);
  EXPECT_THAT(*plan->refused, HasSubstr("tcp port 2222"));
  args["conduits"] = List({"tcp/2000-3000"});
  plan = PlanFix(args);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->refused);
}

TEST_F(NftablesZoneTest, BadValuesAreInvalidArgumentsNamingThem) {
  struct Case {
    packs::Params args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Args({"10.0.0.0/33"}, {"tcp/22"}),
       "nftables.zone: zone_cidrs item '10.0.0.0/33' is not a CIDR (prefix length out of range)"},
      {Args({"intranet"}, {"tcp/22"}),
       "nftables.zone: zone_cidrs item 'intranet' is not a CIDR (not an IPv4 or IPv6 address)"},
      {Args({}, {"tcp/22"}), "nftables.zone: zone_cidrs is empty"},
      {Args({"10.0.0.0/8"}, {"icmp/8"}),
       "nftables.zone: conduit 'icmp/8' has protocol 'icmp' (tcp, udp or sctp)"},
      {Args({"10.0.0.0/8"}, {"tcp/70000"}),
       "nftables.zone: conduit 'tcp/70000': port '70000' is not 1-65535"},
      {Args({"10.0.0.0/8"}, {"tcp/30-20"}),
       "nftables.zone: conduit 'tcp/30-20' has an empty port range"},
      {Args({"10.0.0.0/8"}, {"tcp/22 to 10.0.0.0/8"}),
       "nftables.zone: conduit 'tcp/22 to 10.0.0.0/8' is not \"PROTO/PORT\" or \"PROTO/PORT from "
       "CIDR\""},
      {Args({"10.0.0.0/8"}, {"tcp/22 from 10.0.0.0/8,x"}),
       "nftables.zone: conduit 'tcp/22 from 10.0.0.0/8,x': source 'x' is not a CIDR (not an IPv4 "
       "or IPv6 address)"},
      {Args({"10.0.0.0/8"}, {"tcp/22\naccept"}),
       "nftables.zone: conduits 'tcp/22\naccept' holds a line break"},
  };
  for (const Case& c : cases) {
    auto plan = PlanFix(c.args);
    ASSERT_FALSE(plan.ok()) << c.message;
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(plan.status().message(), c.message);
  }
  packs::Params args = Args({"10.0.0.0/8"}, {"tcp/22"});
  args["file"] = packs::Param::One("etc/nftables.conf");
  auto plan = PlanFix(args);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "nftables.zone: file 'etc/nftables.conf' is not an absolute path");
  args["file"] = packs::Param::One("/etc/nftables.conf");
  args["ssh_port"] = packs::Param::One("ssh");
  plan = PlanFix(args);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("port 'ssh' is not 1-65535"));
}

// The validator of the plan accepts the rendered file and rejects a broken one. `nft -c` only
// checks: nothing is loaded into this machine's ruleset.
TEST_F(NftablesZoneTest, NftCheckAcceptsTheRenderingAndRejectsABrokenOne) {
  if (!vigil::testing::HaveCommand("nft")) GTEST_SKIP() << "nft (nftables) is not installed";
  auto plan = PlanFix(Args(kZone, kConduits));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  dir_.WriteFile("etc/nftables.conf", *plan->files[0].content);
  auto host = Host::Open(dir_.path());
  ASSERT_TRUE(host.ok());
  auto real = (*host)->RealPath("/etc/nftables.conf");
  ASSERT_TRUE(real.ok());
  std::vector<std::string> argv = plan->commands[0].argv;
  argv.back() = *real;
  auto good = RunCommand(argv);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  if (good->exit_code != 0 && good->err.find("Operation not permitted") != std::string::npos) {
    GTEST_SKIP() << "nft -c needs netlink access here: " << good->err;
  }
  EXPECT_EQ(good->exit_code, 0) << good->err;

  std::string broken = *plan->files[0].content;
  broken.replace(broken.find("policy drop"), 11, "policy dorp");
  dir_.WriteFile("etc/nftables.conf", broken);
  auto bad = RunCommand(argv);
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(bad->exit_code, 0);
}

}  // namespace
}  // namespace vigil::enforcers
