// listening_ports: TCP sockets in LISTEN, bound unconnected UDP sockets and UNIX sockets that
// accept connections, with the processes holding them. Same sources as process_open_sockets.
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
enum ListeningPortsColumn : int {
  kPid,
  kPort,
  kProtocol,
  kFamily,
  kAddress,
  kFd,
  kSocket,
  kPath,
  kNetNamespace,
  kColumnCount
};

Schema ListeningPortsSchema() {
  return Schema{
      "listening_ports",
      "Sockets waiting for peers: TCP in LISTEN, UDP bound to a port and not connected, and "
      "UNIX sockets accepting connections, from the socket tables of every process's network "
      "namespace (/proc/PID/net/{tcp,tcp6,udp,udp6,unix}) joined on the inode with "
      "/proc/PID/fd. One row per socket and process holding it (a listener shared by forked "
      "workers appears once per worker); a socket no readable descriptor holds (another "
      "user's process when not privileged) has pid and fd -1.",
      {
          {"pid", ColumnType::kInteger, "Process holding the socket; -1 when none is visible"},
          {"port", ColumnType::kInteger, "Local port; NULL for UNIX sockets"},
          {"protocol", ColumnType::kInteger, "6 TCP, 17 UDP; 0 for UNIX sockets"},
          {"family", ColumnType::kInteger, "Address family: 2 IPv4, 10 IPv6, 1 UNIX"},
          {"address", ColumnType::kText,
           "Local address bound (0.0.0.0 or :: for every address); NULL for UNIX sockets"},
          {"fd", ColumnType::kInteger,
           "Lowest descriptor number of the socket in the process; -1 without a process"},
          {"socket", ColumnType::kInteger, "Socket inode"},
          {"path", ColumnType::kText,
           "UNIX socket name (a path, or @name for an abstract name); NULL for IP sockets"},
          {"net_namespace", ColumnType::kText,
           "Inode of the network namespace (/proc/PID/ns/net); NULL when unknown"},
      }};
}

class ListeningPortsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<int64_t> pids = internal::ProcessIds(ctx, kPid);
    constexpr unsigned kTables =
        internal::kTcpSockets | internal::kUdpSockets | internal::kUnixSockets;
    VIGIL_ASSIGN_OR_RETURN(internal::SocketScan scan,
                           internal::ScanSockets(ctx, pids, true, kTables, true));
    std::vector<Row> rows;
    rows.reserve(scan.sockets.size());
    for (const SocketEntry& socket : scan.sockets) {
      if (socket.family == AF_UNIX && socket.path.empty()) continue;  // nothing to connect to
      auto [first, last] = internal::OwnersOf(scan, socket.inode);
      if (first == last) {
        rows.push_back(MakeRow(socket, -1, -1));
        continue;
      }
      // Owners are sorted by pid, then fd: the first of each pid has its lowest descriptor.
      for (const internal::SocketOwner* owner = first; owner != last; ++owner) {
        if (owner != first && owner[-1].pid == owner->pid) continue;
        rows.push_back(MakeRow(socket, owner->pid, owner->fd));
      }
    }
    return rows;
  }

 private:
  static Row MakeRow(const SocketEntry& socket, int64_t pid, int64_t fd) {
    Row row(kColumnCount);
    row[kPid] = pid;
    row[kProtocol] = socket.protocol;
    row[kFamily] = socket.family;
    if (socket.family == AF_UNIX) {
      row[kPath] = socket.path;
    } else {
      row[kPort] = socket.local_port;
      row[kAddress] = socket.local_address;
    }
    row[kFd] = fd;
    row[kSocket] = static_cast<int64_t>(socket.inode);
    if (socket.net_namespace != 0) row[kNetNamespace] = std::to_string(socket.net_namespace);
    return row;
  }

  const Schema schema_ = ListeningPortsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeListeningPortsTable() { return std::make_unique<ListeningPortsTable>(); }

}  // namespace vigil::tables
