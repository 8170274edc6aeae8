#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bitset>
#include <fstream>
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

TEST(InterfaceAddressesTable, DerivesAddressesFromProcUnderAnotherRoot) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT interface, address, mask, broadcast, point_to_point, type "
                 "FROM interface_addresses ORDER BY interface, address"),
            (std::vector<std::string>{
                "eth0|192.0.2.10|255.255.255.0|192.0.2.255|NULL|unknown",
                "eth0|fd00::10|ffff:ffff:ffff:ffff::|NULL|NULL|manual",
                // autoconfigured: no IFA_F_PERMANENT
                "eth0|fd00::5054:ff:fe12:3456|ffff:ffff:ffff:ffff::|NULL|NULL|auto",
                "eth0|fe80::5054:ff:fe12:3456%eth0|ffff:ffff:ffff:ffff::|NULL|NULL|auto",
                "eth1|10.10.0.5|255.255.0.0|10.10.255.255|NULL|unknown",
                "lo|127.0.0.1|255.0.0.0|NULL|NULL|unknown",
                "lo|::1|ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff|NULL|NULL|other",
            }));
}

TEST(InterfaceAddressesTable, AddressWithoutConnectedRouteAndMalformedLines) {
  TempDir root;
  root.WriteFile("/proc/net/fib_trie",
                 "Local:\n"
                 "  +-- 0.0.0.0/0 3 0 5\n"
                 "     |-- 198.51.100.7\n"
                 "        /32 host LOCAL\n"
                 "     |-- not-an-address\n"
                 "        /32 host LOCAL\n");
  root.WriteFile("/proc/net/if_inet6",
                 "fd000000000000000000000000000010 02 40 00 80     eth0\n"
                 "fd00 02 40 00 80 eth0\n");
  auto result = RunSql(root.path(),
                       "SELECT interface, address, mask, broadcast, type FROM interface_addresses");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), (std::vector<std::string>{
                                     "NULL|198.51.100.7|255.255.255.255|NULL|unknown",
                                     "eth0|fd00::10|ffff:ffff:ffff:ffff::|NULL|manual",
                                 }));
  EXPECT_EQ(result->warnings, std::vector<std::string>{
                                  "interface_addresses: /proc/net/if_inet6:2: malformed address"});
}

int PrefixLength(const std::string& mask) {
  unsigned char bytes[16] = {};
  int family = mask.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(family, mask.c_str(), bytes) != 1) return -1;
  int bits = 0;
  for (int i = 0; i < (family == AF_INET ? 4 : 16); ++i) bits += std::bitset<8>(bytes[i]).count();
  return bits;
}

// "lo|127.0.0.1|8|NULL" per address `ip -o addr` lists.
std::vector<std::string> IpAddresses() {
  std::vector<std::string> out;
  std::istringstream lines(CommandOutput("ip -o addr show"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string index, name, family, address, word, broadcast = "NULL";
    words >> index >> name >> family >> address;
    while (words >> word) {
      if (word == "brd") words >> broadcast;
    }
    size_t slash = address.find('/');
    out.push_back(name + "|" + address.substr(0, slash) + "|" + address.substr(slash + 1) + "|" +
                  broadcast);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> OurAddresses(std::string_view root) {
  std::vector<std::string> out;
  for (const std::string& row :
       Rows(root, "SELECT interface || '|' || address, mask, broadcast FROM interface_addresses")) {
    size_t first = row.find('|', row.find('|') + 1);
    size_t second = row.find('|', first + 1);
    std::string key = row.substr(0, first);
    key = key.substr(0, key.find('%'));  // ip prints link-local addresses without the scope
    out.push_back(key + "|" +
                  std::to_string(PrefixLength(row.substr(first + 1, second - first - 1))) + "|" +
                  row.substr(second + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(InterfaceAddressesTable, MatchesIpAddrOnThisMachine) {
  if (!HaveCommand("ip")) GTEST_SKIP() << "ip is not installed";
  std::vector<std::string> expected = IpAddresses();
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(OurAddresses("/"), expected);
}

TEST(InterfaceAddressesTable, DerivationFromThisMachinesProcFilesMatchesIpAddr) {
  if (!HaveCommand("ip")) GTEST_SKIP() << "ip is not installed";
  if (CommandOutput("ip -o addr show").find(" peer ") != std::string::npos) {
    GTEST_SKIP() << "point-to-point peers cannot be derived from /proc";
  }
  TempDir root;
  for (const char* file : {"fib_trie", "route", "if_inet6"}) {
    std::ifstream in(std::string("/proc/net/") + file);
    std::stringstream content;
    content << in.rdbuf();
    root.WriteFile(std::string("/proc/net/") + file, content.str());
  }
  EXPECT_EQ(OurAddresses(root.path()), IpAddresses());
}

}  // namespace
}  // namespace vigil::tables
