#include <gtest/gtest.h>

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

TEST(EtcHostsTable, ListsMappingsInFileOrder) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT address, hostnames, line FROM etc_hosts");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (std::vector<std::string>{
                "127.0.0.1|localhost|1",
                "127.0.1.1|historian01.plant.example historian01|2",  // tab separated
                "::1|localhost ip6-localhost ip6-loopback|5", "ff02::1|ip6-allnodes|6",
                "ff02::2|ip6-allrouters|7",
                "192.0.2.20|opcua-gw.plant.example opcua-gw|9",  // without the comment
                "fe80::1%eth0|router-ll|12",
                "10.10.0.7|plc-07.plant.example plc-07|13",  // trailing tab and CR dropped
            }));
  EXPECT_EQ(result->warnings,
            (std::vector<std::string>{
                "etc_hosts: /etc/hosts:10: address without a host name",
                "etc_hosts: /etc/hosts:11: not an IP address: plc-07.plant.example",
            }));
}

TEST(EtcHostsTable, FindsTheAddressOfAName) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT address FROM etc_hosts WHERE ' ' || hostnames || ' ' LIKE '% plc-07 %'"),
            std::vector<std::string>{"10.10.0.7"});
}

TEST(EtcHostsTable, MissingFileHasNoRows) {
  TempDir root;
  root.MakeDir("/etc");
  EXPECT_EQ(Rows(root.path(), "SELECT count(*) FROM etc_hosts"), std::vector<std::string>{"0"});
}

TEST(EtcHostsTable, MatchesGetentOnThisMachine) {
  if (!HaveCommand("getent")) GTEST_SKIP() << "getent is not installed";
  // The first IPv4 mapping of each name is among the addresses the C library resolves it to
  // from the files source.
  std::set<std::string> seen;
  int checked = 0;
  for (const std::string& row :
       Rows("/", "SELECT address, hostnames FROM etc_hosts WHERE instr(address, ':') = 0")) {
    std::string address = row.substr(0, row.find('|'));
    std::istringstream names(row.substr(row.find('|') + 1));
    for (std::string name; names >> name;) {
      if (!seen.insert(name).second) continue;
      std::string resolved = CommandOutput("getent -s files ahostsv4 " + name + " || true");
      EXPECT_NE(resolved.find(address + " "), std::string::npos) << name << ": " << resolved;
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no IPv4 mapping in /etc/hosts";
}

}  // namespace
}  // namespace vigil::tables
