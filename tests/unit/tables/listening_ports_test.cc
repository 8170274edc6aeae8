#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
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

TEST(ListeningPortsTable, ListsListenersAndBoundUdpWithTheirProcesses) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT pid, port, protocol, family, address, fd, socket, path, net_namespace "
                 "FROM listening_ports ORDER BY pid, socket"),
            (std::vector<std::string>{
                "-1|9100|6|10|::|-1|40000|NULL|4026531840",
                "-1|NULL|0|1|NULL|-1|40001|/run/historian/plant data.sock|4026531840",
                "1|NULL|0|1|NULL|7|15001|/run/systemd/private|4026531840",
                // Held twice (fd 3 and its dup 5): one row, the lowest descriptor.
                "412|22|6|2|0.0.0.0|3|20101|NULL|4026531840",
                "412|22|6|10|::|4|20103|NULL|4026531840",
                "873|4840|6|2|0.0.0.0|5|30001|NULL|4026531840",
                "873|47808|17|2|0.0.0.0|7|30003|NULL|4026531840",
            }));
}

TEST(ListeningPortsTable, ConnectedAndUnnamedSocketsAreNotListening) {
  // The fixture's established TCP connection, TIME_WAIT entry, connected UDP socket, unnamed
  // and datagram UNIX sockets.
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT count(*) FROM listening_ports WHERE socket IN (30002, 0, 30004, 30010, "
                 "15002)"),
            std::vector<std::string>{"0"});
}

TEST(ListeningPortsTable, RootWithoutSocketTablesHasNone) {
  TempDir root;
  root.MakeDir("/proc");
  EXPECT_EQ(Rows(root.path(), "SELECT count(*) FROM listening_ports"),
            std::vector<std::string>{"0"});
}

// A socket of this test process bound to 127.0.0.1 on a port the kernel picks.
class LoopbackSocket {
 public:
  // Close-on-exec, so that the commands the test runs do not hold it too.
  explicit LoopbackSocket(int type) : fd_(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
             (type != SOCK_STREAM || ::listen(fd_, 4) == 0);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~LoopbackSocket() { ::close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  bool bound() const { return bound_; }
  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_;
  bool bound_ = false;
  int port_ = 0;
};

TEST(ListeningPortsTable, FindsThisProcessesListeners) {
  LoopbackSocket tcp(SOCK_STREAM), udp(SOCK_DGRAM);
  ASSERT_TRUE(tcp.bound() && udp.bound());
  const std::string self = std::to_string(::getpid());
  EXPECT_EQ(
      Rows("/",
           "SELECT pid, port, protocol, family, address, fd FROM listening_ports "
           "WHERE port IN (" +
               std::to_string(tcp.port()) + ", " + std::to_string(udp.port()) +
               ") AND family = 2 ORDER BY protocol"),
      (std::vector<std::string>{
          self + "|" + std::to_string(tcp.port()) + "|6|2|127.0.0.1|" + std::to_string(tcp.fd()),
          self + "|" + std::to_string(udp.port()) + "|17|2|127.0.0.1|" + std::to_string(udp.fd()),
      }));
}

// "0.0.0.0", "::" and ss's "*" all mean every address.
std::string Normalize(std::string address) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  address = address.substr(0, address.find('%'));
  if (address == "0.0.0.0" || address == "::" || address == "*") return "*";
  return address;
}

// ss -H lines: Netid State Recv-Q Send-Q Local:Port Peer:Port [Process]
std::set<std::string> SsSockets(const std::string& options, bool with_pids) {
  std::set<std::string> out;
  std::istringstream lines(CommandOutput("ss -H " + options));
  static const std::regex kPid("pid=([0-9]+)");
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string netid, state, recv_q, send_q, local;
    fields >> netid >> state >> recv_q >> send_q >> local;
    size_t colon = local.rfind(':');
    std::string key =
        netid + "|" + Normalize(local.substr(0, colon)) + "|" + local.substr(colon + 1);
    if (!with_pids) {
      out.insert(key);
      continue;
    }
    for (auto it = std::sregex_iterator(line.begin(), line.end(), kPid);
         it != std::sregex_iterator(); ++it) {
      out.insert(key + "|" + (*it)[1].str());
    }
  }
  return out;
}

std::set<std::string> OurSockets(bool with_pids) {
  std::set<std::string> out;
  for (const std::string& row :
       Rows("/",
            "SELECT CASE protocol WHEN 6 THEN 'tcp' ELSE 'udp' END, address, port, pid "
            "FROM listening_ports WHERE family IN (2, 10)")) {
    std::vector<std::string> f;
    std::istringstream cells(row);
    for (std::string cell; std::getline(cells, cell, '|');) f.push_back(cell);
    if (f.size() != 4 || (with_pids && f[3] == "-1")) continue;
    std::string key = f[0] + "|" + Normalize(f[1]) + "|" + f[2];
    out.insert(with_pids ? key + "|" + f[3] : key);
  }
  return out;
}

// Our sockets and ss's of one moment: other tests on this machine open and close sockets while
// this one runs, so ss is read before and after our table, and it is all read again (up to 10
// times) until nothing changed in between.
std::pair<std::set<std::string>, std::set<std::string>> OursAndSs(bool with_pids) {
  const char* flags = with_pids ? "-ltnup" : "-ltnu";
  for (int attempt = 1;; ++attempt) {
    std::set<std::string> before = SsSockets(flags, with_pids);
    std::set<std::string> ours = OurSockets(with_pids);
    std::set<std::string> after = SsSockets(flags, with_pids);
    if (before == after || attempt == 10) return {ours, after};
  }
}

TEST(ListeningPortsTable, MatchesSsOnThisMachine) {
  if (!HaveCommand("ss")) GTEST_SKIP() << "ss is not installed";
  LoopbackSocket tcp(SOCK_STREAM), udp(SOCK_DGRAM);  // at least these two
  ASSERT_TRUE(tcp.bound() && udp.bound());
  auto [ours, theirs] = OursAndSs(false);
  EXPECT_TRUE(ours.contains("tcp|127.0.0.1|" + std::to_string(tcp.port())));
  EXPECT_EQ(ours, theirs);
  if (::geteuid() == 0) {
    // With privileges ss names every process holding each socket; so do we.
    auto [ours_with_pids, theirs_with_pids] = OursAndSs(true);
    EXPECT_EQ(ours_with_pids, theirs_with_pids);
  }
}

}  // namespace
}  // namespace vigil::tables
