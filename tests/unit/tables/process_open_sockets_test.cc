#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
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

constexpr std::string_view kAllColumns =
    "SELECT pid, fd, socket, family, protocol, local_address, remote_address, local_port, "
    "remote_port, path, state, net_namespace FROM process_open_sockets ";

TEST(ProcessOpenSocketsTable, JoinsSocketTablesWithDescriptors) {
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"), std::string(kAllColumns) + "ORDER BY pid, fd, socket"),
      (std::vector<std::string>{
          // Held by no descriptor the reader can see: a TIME_WAIT connection, another user's
          // listeners.
          "-1|-1|0|2|6|192.0.2.10|192.0.2.51|4840|50000|NULL|TIME_WAIT|4026531840",
          "-1|-1|40000|10|6|::|::|9100|0|NULL|LISTEN|4026531840",
          "-1|-1|40001|1|0|NULL|NULL|NULL|NULL|/run/historian/plant data.sock|NULL|4026531840",
          "1|7|15001|1|0|NULL|NULL|NULL|NULL|/run/systemd/private|NULL|4026531840",
          "1|8|15002|1|0|NULL|NULL|NULL|NULL|@/org/freedesktop/systemd1/notify|NULL|4026531840",
          "412|3|20101|2|6|0.0.0.0|0.0.0.0|22|0|NULL|LISTEN|4026531840",
          "412|4|20103|10|6|::|::|22|0|NULL|LISTEN|4026531840",
          "412|5|20101|2|6|0.0.0.0|0.0.0.0|22|0|NULL|LISTEN|4026531840",  // a dup of fd 3
          "873|5|30001|2|6|0.0.0.0|0.0.0.0|4840|0|NULL|LISTEN|4026531840",
          "873|6|30002|2|6|192.0.2.10|192.0.2.50|4840|51234|NULL|ESTABLISHED|4026531840",
          "873|7|30003|2|17|0.0.0.0|0.0.0.0|47808|0|NULL|NULL|4026531840",
          "873|8|30004|10|17|fd00::10|fd00::53|40000|53|NULL|NULL|4026531840",
          "873|9|30010|1|0|NULL|NULL|NULL|NULL||NULL|4026531840",
      }));
}

TEST(ProcessOpenSocketsTable, PidConstraintListsOnlyThatProcess) {
  EXPECT_EQ(Rows(FixtureRoot("debian12"),
                 "SELECT pid, fd, socket FROM process_open_sockets WHERE pid IN (1, 412) "
                 "ORDER BY pid, fd"),
            (std::vector<std::string>{"1|7|15001", "1|8|15002", "412|3|20101", "412|4|20103",
                                      "412|5|20101"}));
  EXPECT_EQ(
      Rows(FixtureRoot("debian12"), "SELECT count(*) FROM process_open_sockets WHERE pid = 99999"),
      std::vector<std::string>{"0"});
}

TEST(ProcessOpenSocketsTable, MalformedLinesAndHeadersAreWarnings) {
  TempDir root;
  root.WriteFile("/proc/net/tcp",
                 "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                 "   uid  timeout inode\n"
                 "   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
                 "     0        0 555 1 0000000000000000 100 0 0 10 0\n"
                 "   1: this line is not a socket\n"
                 "   2: 0100007F:GGGG 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
                 "     0        0 556 1 0000000000000000 100 0 0 10 0\n");
  root.WriteFile("/proc/net/udp", "not a socket table\n   0: whatever\n");
  root.WriteFile("/proc/net/unix",
                 "Num       RefCount Protocol Flags    Type St Inode Path\n"
                 "0000000000000000: 00000002 00000000 00010000 0001 01 777 /run/a b\n");
  auto result = RunSql(root.path(), std::string(kAllColumns) + "ORDER BY socket");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // No process directories: the sockets of the reader's namespace, with no owner and no
  // namespace inode.
  EXPECT_EQ(RowsAsText(*result), (std::vector<std::string>{
                                     "-1|-1|555|2|6|127.0.0.1|0.0.0.0|80|0|NULL|LISTEN|NULL",
                                     "-1|-1|777|1|0|NULL|NULL|NULL|NULL|/run/a b|NULL|NULL",
                                 }));
  EXPECT_EQ(result->warnings,
            (std::vector<std::string>{
                "process_open_sockets: /proc/net/tcp:3: malformed socket entry",
                "process_open_sockets: /proc/net/tcp:4: malformed socket entry",
                "process_open_sockets: /proc/net/udp:1: not a socket table header",
            }));
}

// A socket of this test process, closed when the object goes away.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  std::string inode() const {
    struct stat st;
    return ::fstat(fd_, &st) == 0 ? std::to_string(st.st_ino) : "?";
  }

 private:
  int fd_;
};

int LocalPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

TEST(ProcessOpenSocketsTable, FindsThisProcessesConnection) {
  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  const int port = LocalPort(listener.get());
  address.sin_port = htons(static_cast<uint16_t>(port));
  Fd client(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  Fd accepted(::accept(listener.get(), nullptr, nullptr));
  ASSERT_GE(accepted.get(), 0);
  const std::string client_port = std::to_string(LocalPort(client.get()));
  const std::string p = std::to_string(port);
  const std::string ns = std::filesystem::read_symlink("/proc/self/ns/net").string();
  const std::string ns_inode = ns.substr(5, ns.size() - 6);  // net:[N]

  std::vector<std::string> expected = {
      std::to_string(listener.get()) + "|" + listener.inode() + "|127.0.0.1|" + p +
          "|0.0.0.0|0|LISTEN|" + ns_inode,
      std::to_string(client.get()) + "|" + client.inode() + "|127.0.0.1|" + client_port +
          "|127.0.0.1|" + p + "|ESTABLISHED|" + ns_inode,
      std::to_string(accepted.get()) + "|" + accepted.inode() + "|127.0.0.1|" + p + "|127.0.0.1|" +
          client_port + "|ESTABLISHED|" + ns_inode,
  };
  EXPECT_EQ(Rows("/",
                 "SELECT fd, socket, local_address, local_port, remote_address, "
                 "remote_port, state, net_namespace FROM process_open_sockets WHERE pid = " +
                     std::to_string(::getpid()) + " AND family = 2 AND protocol = 6 AND (" +
                     "local_port = " + p + " OR remote_port = " + p + ") ORDER BY fd"),
            expected);
}

TEST(ProcessOpenSocketsTable, FindsThisProcessesUnixSocket) {
  TempDir dir;
  const std::string path = dir.path() + "/control.sock";
  Fd server(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(server.get(), 1), 0);
  const std::string self = std::to_string(::getpid());
  EXPECT_EQ(Rows("/", "SELECT fd, socket, protocol FROM process_open_sockets WHERE pid = " + self +
                          " AND path = '" + path + "'"),
            std::vector<std::string>{std::to_string(server.get()) + "|" + server.inode() + "|0"});
  EXPECT_EQ(Rows("/", "SELECT pid, fd, socket, port, address FROM listening_ports WHERE path = '" +
                          path + "'"),
            std::vector<std::string>{self + "|" + std::to_string(server.get()) + "|" +
                                     server.inode() + "|NULL|NULL"});
}

}  // namespace
}  // namespace vigil::tables
