#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::FixtureRoot;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

std::vector<std::string> Rows(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : std::vector<std::string>{};
}

TEST(DnsResolversTable, AppliesResolvConfAsTheCLibraryDoes) {
  auto result = RunSql(FixtureRoot("debian12"),
                       "SELECT id, type, address, netmask, options, line FROM dns_resolvers");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // 705 (the defaults) + rotate 0x4000 + edns0 0x100000
  EXPECT_EQ(RowsAsText(*result), (std::vector<std::string>{
                                     "0|nameserver|192.0.2.53|32|1065665|5",
                                     "1|nameserver|fd00::53|128|1065665|6",
                                     // an indented keyword is no keyword; 300.1.1.1 is no address
                                     "2|nameserver|192.0.2.54|32|1065665|9",
                                     // the search line replaces the domain line before it
                                     "0|search|plant.example|NULL|1065665|4",
                                     "1|search|corp.example|NULL|1065665|4",
                                     "0|sortlist|192.0.2.0|24|1065665|11",
                                     "1|sortlist|10.10.0.0|8|1065665|11",  // class A without a mask
                                     "0|options|ndots:2|NULL|1065665|12",
                                     "1|options|timeout:3|NULL|1065665|12",
                                     "2|options|rotate|NULL|1065665|12",
                                     "3|options|edns0|NULL|1065665|12",
                                     "4|options|rotte|NULL|1065665|12",
                                 }));
  EXPECT_EQ(result->warnings,
            (std::vector<std::string>{
                "dns_resolvers: /etc/resolv.conf:8: not a name server address",
                "dns_resolvers: /etc/resolv.conf:10: more than 3 name servers; the resolver "
                "ignores this one",
                "dns_resolvers: /etc/resolv.conf:12: unknown option rotte",
            }));
}

TEST(DnsResolversTable, SelectStarHidesTheLineColumn) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM dns_resolvers WHERE id = 0");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->columns,
            (std::vector<std::string>{"id", "type", "address", "netmask", "options"}));
}

TEST(DnsResolversTable, DefaultsWithoutNameserversOrSearch) {
  TempDir root;
  root.WriteFile("/etc/resolv.conf", "# nothing configured\noptions no-aaaa\n");
  root.WriteFile("/proc/sys/kernel/hostname", "hmi-04.cell3.plant.example\n");
  EXPECT_EQ(Rows(root.path(),
                 "SELECT id, type, address, netmask, options, line "
                 "FROM dns_resolvers"),
            (std::vector<std::string>{
                "0|nameserver|127.0.0.1|32|134218433|NULL",
                "0|search|cell3.plant.example|NULL|134218433|NULL",
                "0|options|no-aaaa|NULL|134218433|2",
            }));
}

TEST(DnsResolversTable, DomainLineAfterSearchWins) {
  TempDir root;
  root.WriteFile("/etc/resolv.conf",
                 "search a.example b.example\ndomain c.example d.example\nnameserver ::1\n");
  EXPECT_EQ(Rows(root.path(), "SELECT type, address FROM dns_resolvers"),
            (std::vector<std::string>{"nameserver|::1", "search|c.example"}));
}

TEST(DnsResolversTable, MissingFileHasNoRows) {
  TempDir root;
  root.MakeDir("/etc");
  EXPECT_EQ(Rows(root.path(), "SELECT count(*) FROM dns_resolvers"), std::vector<std::string>{"0"});
}

std::string NumericHost(const sockaddr* address, socklen_t length) {
  char text[NI_MAXHOST];
  return getnameinfo(address, length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) == 0 ? text
                                                                                           : "?";
}

TEST(DnsResolversTable, MatchesTheCLibrarysResolverOnThisMachine) {
  struct __res_state state = {};
  ASSERT_EQ(res_ninit(&state), 0);
  std::vector<std::string> expected;
  const std::string options = std::to_string(state.options);
  for (int i = 0; i < state.nscount; ++i) {
    std::string address =
        state._u._ext.nsaddrs[i] != nullptr
            ? NumericHost(reinterpret_cast<sockaddr*>(state._u._ext.nsaddrs[i]),
                          sizeof(sockaddr_in6))
            : NumericHost(reinterpret_cast<sockaddr*>(&state.nsaddr_list[i]), sizeof(sockaddr_in));
    expected.push_back("nameserver|" + address + "|" + options);
  }
  for (int i = 0; i < MAXDNSRCH && state.dnsrch[i] != nullptr; ++i) {
    expected.push_back(std::string("search|") + state.dnsrch[i] + "|" + options);
  }
  for (int i = 0; i < state.nsort; ++i) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &state.sort_list[i].addr, text, sizeof(text));
    expected.push_back(std::string("sortlist|") + text + "|" + options);
  }
  res_nclose(&state);
  EXPECT_EQ(Rows("/",
                 "SELECT type, address, options FROM dns_resolvers WHERE type != 'options' "
                 "AND (type != 'search' OR id < 6)"),
            expected);
}

}  // namespace
}  // namespace vigil::tables
