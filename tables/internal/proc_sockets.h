// The sockets of a host as /proc shows them: the per-namespace socket tables
// (/proc/PID/net/{tcp,udp,...,unix}) joined with the processes' descriptors (/proc/PID/fd
// links "socket:[INODE]"). Shared by process_open_sockets and listening_ports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"
#include "engine/status.h"

namespace vigil::tables::internal {

// Which socket tables to read; combine with |.
enum SocketTables : unsigned {
  kTcpSockets = 1u << 0,      // tcp, tcp6
  kUdpSockets = 1u << 1,      // udp, udp6
  kUdpLiteSockets = 1u << 2,  // udplite, udplite6
  kRawSockets = 1u << 3,      // raw, raw6
  kIcmpSockets = 1u << 4,     // icmp, icmp6 (ping sockets)
  kUnixSockets = 1u << 5,     // unix
};

struct SocketEntry {
  uint64_t inode = 0;          // 0 for sockets no descriptor holds (TIME_WAIT, orphans)
  uint64_t net_namespace = 0;  // inode of the network namespace; 0 when unknown
  int family = 0;              // AF_INET, AF_INET6 or AF_UNIX
  int protocol = 0;            // IPPROTO_TCP, IPPROTO_UDP, ...; 0 for AF_UNIX
  int state = 0;               // the kernel's state number (TCP states for IP sockets)
  bool listening = false;      // TCP LISTEN, bound unconnected UDP, UNIX accepting connections
  std::string local_address;   // numeric; empty for AF_UNIX
  std::string remote_address;
  int local_port = 0;
  int remote_port = 0;
  std::string path;  // AF_UNIX: bound path ("@name" for abstract); else empty
};

// One open descriptor that refers to a socket.
struct SocketOwner {
  uint64_t inode = 0;
  int64_t pid = 0;
  int64_t fd = 0;
};

struct SocketScan {
  std::vector<SocketEntry> sockets;  // namespace by namespace, in file order
  std::vector<SocketOwner> owners;   // sorted by inode, then pid, then fd
};

// Reads the socket tables of every network namespace the processes `pids` are in, and the
// socket descriptors of those processes. With `every_process` (the pids are the whole /proc
// listing) the reader's own namespace is read too, so that a root without process
// directories still lists its sockets. With `listening_only`, only listening sockets are kept.
// Processes that vanish during the scan are skipped; unreadable descriptor directories (other
// users' processes without privileges) leave their sockets without an owner. Fails only when
// the statement's deadline passes.
Result<SocketScan> ScanSockets(const QueryContext& ctx, const std::vector<int64_t>& pids,
                               bool every_process, unsigned tables, bool listening_only);

// The owners of a socket: a range of `owners`.
std::pair<const SocketOwner*, const SocketOwner*> OwnersOf(const SocketScan& scan, uint64_t inode);

// "LISTEN", "ESTABLISHED", ... for a TCP state number; "UNKNOWN" for others.
std::string_view TcpStateName(int state);

}  // namespace vigil::tables::internal
