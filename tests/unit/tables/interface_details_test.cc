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

TEST(InterfaceDetailsTable, ReadsSysfsForEveryInterface) {
  // bonding_masters, a file beside the interfaces, is not one.
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT interface, mac, type, mtu, metric, flags, ipackets, opackets, ibytes, "
                 "obytes, ierrors, oerrors, idrops, odrops, collisions, last_change, link_speed, "
                 "pci_slot FROM interface_details"),
            (std::vector<std::string>{
                // UP BROADCAST MULTICAST + RUNNING (operstate up) + LOWER_UP (carrier)
                "eth0|52:54:00:12:34:56|1|1500|0|69699|9876543|8765432|12345678901|2345678901|3|"
                "0|117|0|0|NULL|1000|0000:00:19.0",
                // UP BROADCAST PROMISC MULTICAST, cable out: neither RUNNING nor LOWER_UP
                "eth1|52:54:00:ab:cd:ef|1|9000|0|4355|1234|567|890123|45678|0|2|5|0|1|NULL|NULL|"
                "NULL",
                // UP LOOPBACK + RUNNING (operstate unknown) + LOWER_UP
                "lo|00:00:00:00:00:00|772|65536|0|65609|48213|48213|5123456|5123456|0|0|0|0|0|"
                "NULL|NULL|NULL",
            }));
}

TEST(InterfaceDetailsTable, InterfaceConstraintReadsOnlyThoseInterfaces) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT interface, mtu FROM interface_details WHERE interface = 'eth1'"),
            std::vector<std::string>{"eth1|9000"});
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT interface FROM interface_details WHERE interface IN ('lo', 'nosuch', "
                 "'../net/lo')"),
            std::vector<std::string>{"lo"});
}

TEST(InterfaceDetailsTable, MissingAttributesAreNull) {
  TempDir root;
  root.WriteFile("/sys/class/net/wg0/type", "65534\n");
  root.WriteFile("/sys/class/net/wg0/flags", "0x91\n");  // UP POINTOPOINT NOARP
  root.WriteFile("/sys/class/net/wg0/operstate", "unknown\n");
  root.WriteFile("/sys/class/net/wg0/address", "\n");
  EXPECT_EQ(Rows(root.path(),
                 "SELECT interface, mac, type, mtu, flags, ipackets, link_speed "
                 "FROM interface_details"),
            std::vector<std::string>{"wg0|NULL|65534|NULL|209|NULL|NULL"});
}

// The flag names `ip link` prints for the flags the table reports.
std::set<std::string> IpFlagNames(long flags) {
  static const std::pair<long, const char*> kNames[] = {
      {0x1, "UP"},           {0x2, "BROADCAST"},    {0x4, "DEBUG"},      {0x8, "LOOPBACK"},
      {0x10, "POINTOPOINT"}, {0x20, "NOTRAILERS"},  {0x80, "NOARP"},     {0x100, "PROMISC"},
      {0x200, "ALLMULTI"},   {0x400, "MASTER"},     {0x800, "SLAVE"},    {0x1000, "MULTICAST"},
      {0x2000, "PORTSEL"},   {0x4000, "AUTOMEDIA"}, {0x8000, "DYNAMIC"}, {0x10000, "LOWER_UP"},
      {0x20000, "DORMANT"},  {0x40000, "ECHO"}};
  std::set<std::string> names;
  if ((flags & 0x1) && !(flags & 0x40)) names.insert("NO-CARRIER");
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) names.insert(name);
  }
  return names;
}

std::string Join(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

TEST(InterfaceDetailsTable, MatchesIpLinkOnThisMachine) {
  if (!HaveCommand("ip")) GTEST_SKIP() << "ip is not installed";
  // "2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... link/ether 02:.. brd ..."
  std::vector<std::string> expected;
  std::istringstream lines(CommandOutput("ip -o link show"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string index, name, flags, word, mtu, mac = "NULL";
    words >> index >> name >> flags;
    name = name.substr(0, name.find_first_of("@:"));
    std::set<std::string> names;
    std::istringstream list(flags.substr(1, flags.size() - 2));
    for (std::string f; std::getline(list, f, ',');) names.insert(f);
    while (words >> word) {
      if (word == "mtu") words >> mtu;
      if (word.starts_with("link/") && word != "link/none") words >> mac;
    }
    expected.push_back(name + "|" + mtu + "|" + mac + "|" + Join(names));
  }
  std::vector<std::string> actual;
  for (const std::string& row :
       Rows("/", "SELECT interface, mtu, mac, flags FROM interface_details")) {
    size_t last = row.rfind('|');
    actual.push_back(row.substr(0, last + 1) + Join(IpFlagNames(std::stol(row.substr(last + 1)))));
  }
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace vigil::tables
