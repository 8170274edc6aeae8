#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

std::vector<std::string> Rows(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : std::vector<std::string>{};
}

TEST(RoutesTable, ReadsIpv4AndIpv6RoutesFromProc) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT destination, netmask, gateway, source, flags, interface, mtu, metric, "
                 "type, hopcount FROM routes"),
            (std::vector<std::string>{
                "0.0.0.0|0|192.0.2.1|NULL|3|eth0|0|0|gateway|NULL",
                "192.0.2.0|24|NULL|NULL|1|eth0|0|0|gateway|NULL",
                "10.10.0.0|16|NULL|NULL|1|eth1|0|0|gateway|NULL",
                "10.20.0.0|16|10.10.0.1|NULL|3|eth1|1500|100|gateway|NULL",
                "192.168.0.0|16|NULL|NULL|513|NULL|0|0|other|NULL",  // unreachable
                "fd00::|64|NULL|NULL|1|eth0|NULL|256|gateway|NULL",
                "fe80::|64|NULL|NULL|1|eth0|NULL|256|gateway|NULL",
                "::|0|fd00::1|NULL|3|eth0|NULL|1024|gateway|NULL",
                "::1|128|NULL|NULL|2149580801|lo|NULL|0|local|NULL",
                "fd00::10|128|NULL|NULL|2149580801|eth0|NULL|0|local|NULL",
                "ff00::|8|NULL|NULL|1|eth0|NULL|256|other|NULL",  // multicast
                // the kernel's "unreachable ::/0 dev lo" placeholder is not listed
            }));
}

TEST(RoutesTable, DefaultRouteQuery) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT gateway, interface FROM routes WHERE destination = '0.0.0.0' AND "
                 "netmask = 0"),
            std::vector<std::string>{"192.0.2.1|eth0"});
}

TEST(RoutesTable, MalformedLinesAreWarnings) {
  TempDir root;
  root.WriteFile("/proc/net/route",
                 "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\n"
                 "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                 "eth0\tnonsense\n"
                 "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0\n");  // holes
  root.WriteFile("/proc/net/ipv6_route", "fd00 40\n");
  auto result = RunSql(root.path(), "SELECT destination, netmask, interface FROM routes");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), std::vector<std::string>{"192.168.2.0|24|eth0"});
  EXPECT_EQ(result->warnings, (std::vector<std::string>{
                                  "routes: /proc/net/route:3: malformed route",
                                  "routes: /proc/net/route:4: malformed route",
                                  "routes: /proc/net/ipv6_route:1: malformed route",
                              }));
}

TEST(RoutesTable, RootWithoutRouteFilesHasNoRoutes) {
  TempDir root;
  root.MakeDir("/proc/net");
  EXPECT_EQ(Rows(root.path(), "SELECT count(*) FROM routes"), std::vector<std::string>{"0"});
}

// "dest|len|gateway|dev|metric|type" for each route `ip -o route` lists.
std::set<std::string> IpRoutes(const std::string& family, const std::string& table) {
  static const std::set<std::string> kTypes = {"unicast",   "local",     "broadcast",
                                               "multicast", "anycast",   "unreachable",
                                               "prohibit",  "blackhole", "throw"};
  std::set<std::string> out;
  std::istringstream lines(CommandOutput("ip -o " + family + " route show table " + table));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string type = "unicast", destination, word, gateway = "NULL", dev = "NULL", metric = "0";
    words >> destination;
    if (kTypes.contains(destination)) {
      type = destination;
      words >> destination;
    }
    while (words >> word) {
      if (word == "via") words >> gateway;
      if (word == "dev") words >> dev;
      if (word == "metric") words >> metric;
    }
    std::string length = family == "-4" ? "32" : "128";
    if (destination == "default") {
      destination = family == "-4" ? "0.0.0.0" : "::";
      length = "0";
    }
    if (size_t slash = destination.find('/'); slash != std::string::npos) {
      length = destination.substr(slash + 1);
      destination = destination.substr(0, slash);
    }
    std::string ours = type == "unicast"                        ? "gateway"
                       : (type == "local" || type == "anycast") ? type
                                                                : "other";
    out.insert(destination + "|" + length + "|" + gateway + "|" + dev + "|" + metric + "|" + ours);
  }
  return out;
}

std::set<std::string> OurRoutes(bool ipv6) {
  std::vector<std::string> rows =
      Rows("/", std::string("SELECT destination, netmask, gateway, interface, metric, type FROM "
                            "routes WHERE instr(destination, ':') ") +
                    (ipv6 ? "> 0" : "= 0"));
  return std::set<std::string>(rows.begin(), rows.end());
}

TEST(RoutesTable, MatchesIpRouteOnThisMachine) {
  if (!HaveCommand("ip")) GTEST_SKIP() << "ip is not installed";
  std::set<std::string> ipv4 = IpRoutes("-4", "main");
  EXPECT_EQ(OurRoutes(false), ipv4);
  // IPv6: every table is in /proc/net/ipv6_route.
  EXPECT_EQ(OurRoutes(true), IpRoutes("-6", "all"));
}

}  // namespace
}  // namespace vigil::tables
