// process_open_sockets: the sockets processes hold open, from each network namespace's socket
// tables (/proc/PID/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6,icmp,icmp6,unix}) joined
// on the socket inode with the descriptors in /proc/PID/fd.
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/table.h"
#include "tables/internal/proc_sockets.h"
#include "tables/internal/procfs.h"

namespace vigil::tables {
namespace {

using internal::SocketEntry;

// Column positions, in the order of the column list below.
enum ProcessOpenSocketsColumn : int {
  kPid,
  kFd,
  kSocket,
  kFamily,
  kProtocol,
  kLocalAddress,
  kRemoteAddress,
  kLocalPort,
  kRemotePort,
  kPath,
  kState,
  kNetNamespace,
  kColumnCount
};

Schema ProcessOpenSocketsSchema() {
  return Schema{
      "process_open_sockets",
      "Open sockets with the processes holding them: one row per descriptor that refers to a "
      "socket, from the socket tables of each process's network namespace "
      "(/proc/PID/net/{tcp,udp,udplite,raw,icmp}[6] and unix) joined on the inode with "
      "/proc/PID/fd. Without a pid constraint, sockets no readable descriptor holds (TIME_WAIT "
      "connections, other users' processes when not privileged) are listed with pid and fd -1.",
      {
          {"pid", ColumnType::kInteger, "Process id; -1 when no visible process holds it", kIndex},
          {"fd", ColumnType::kInteger, "Descriptor number in the process; -1 without a process"},
          {"socket", ColumnType::kInteger, "Socket inode (0 for sockets no descriptor refers to)"},
          {"family", ColumnType::kInteger, "Address family: 2 IPv4, 10 IPv6, 1 UNIX"},
          {"protocol", ColumnType::kInteger,
           "IP protocol: 6 TCP, 17 UDP, 136 UDP-Lite, 255 raw, 1 ICMP, 58 ICMPv6; 0 for UNIX"},
          {"local_address", ColumnType::kText, "Local IP address; NULL for UNIX sockets"},
          {"remote_address", ColumnType::kText,
           "Peer IP address (0.0.0.0 or :: when unconnected); NULL for UNIX sockets"},
          {"local_port", ColumnType::kInteger,
           "Local port (the protocol number for raw sockets); NULL for UNIX sockets"},
          {"remote_port", ColumnType::kInteger, "Peer port; NULL for UNIX sockets"},
          {"path", ColumnType::kText,
           "UNIX socket name: a path, @name for an abstract name, empty when unnamed; NULL for "
           "IP sockets"},
          {"state", ColumnType::kText,
           "TCP state (LISTEN, ESTABLISHED, TIME_WAIT, ...); NULL for other protocols"},
          {"net_namespace", ColumnType::kText,
           "Inode of the network namespace (/proc/PID/ns/net); NULL when unknown"},
      }};
}

class ProcessOpenSocketsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const bool by_pid = ctx.Equals(kPid).has_value();
    std::vector<int64_t> pids = internal::ProcessIds(ctx, kPid);
    constexpr unsigned kTables = internal::kTcpSockets | internal::kUdpSockets |
                                 internal::kUdpLiteSockets | internal::kRawSockets |
                                 internal::kIcmpSockets | internal::kUnixSockets;
    VIGIL_ASSIGN_OR_RETURN(internal::SocketScan scan,
                           internal::ScanSockets(ctx, pids, !by_pid, kTables, false));
    std::vector<Row> rows;
    rows.reserve(scan.sockets.size());
    for (const SocketEntry& socket : scan.sockets) {
      auto [first, last] = internal::OwnersOf(scan, socket.inode);
      if (socket.inode == 0) first = last = nullptr;  // not held by any descriptor
      if (first == last) {
        if (!by_pid && ctx.Matches(kPid, Value(-1))) rows.push_back(MakeRow(socket, -1, -1));
        continue;
      }
      for (const internal::SocketOwner* owner = first; owner != last; ++owner) {
        if (ctx.Matches(kPid, Value(owner->pid))) {
          rows.push_back(MakeRow(socket, owner->pid, owner->fd));
        }
      }
    }
    return rows;
  }

 private:
  static Row MakeRow(const SocketEntry& socket, int64_t pid, int64_t fd) {
    Row row(kColumnCount);
    row[kPid] = pid;
    row[kFd] = fd;
    row[kSocket] = static_cast<int64_t>(socket.inode);
    row[kFamily] = socket.family;
    row[kProtocol] = socket.protocol;
    if (socket.family == AF_UNIX) {
      row[kPath] = socket.path;
    } else {
      row[kLocalAddress] = socket.local_address;
      row[kRemoteAddress] = socket.remote_address;
      row[kLocalPort] = socket.local_port;
      row[kRemotePort] = socket.remote_port;
      if (socket.protocol == IPPROTO_TCP) row[kState] = internal::TcpStateName(socket.state);
    }
    if (socket.net_namespace != 0) row[kNetNamespace] = std::to_string(socket.net_namespace);
    return row;
  }

  const Schema schema_ = ProcessOpenSocketsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeProcessOpenSocketsTable() {
  return std::make_unique<ProcessOpenSocketsTable>();
}

}  // namespace vigil::tables
