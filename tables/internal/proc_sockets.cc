#include "tables/internal/proc_sockets.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <tuple>
#include <utility>

#include "engine/host.h"
#include "tables/internal/inet.h"
#include "tables/internal/procfs.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

// Socket tables grow with the connection count; they are streamed, never held whole.
constexpr size_t kMaxSocketTableBytes = size_t{1} << 30;
constexpr int kTcpListen = 10;
constexpr int kTcpClose = 7;                          // also an unconnected UDP socket
constexpr unsigned kUnixAcceptConnections = 0x10000;  // __SO_ACCEPTCON in the Flags column

struct TableFile {
  unsigned table;
  std::string_view name;
  int family;
  int protocol;
};

constexpr TableFile kTableFiles[] = {
    {kTcpSockets, "tcp", AF_INET, IPPROTO_TCP},
    {kTcpSockets, "tcp6", AF_INET6, IPPROTO_TCP},
    {kUdpSockets, "udp", AF_INET, IPPROTO_UDP},
    {kUdpSockets, "udp6", AF_INET6, IPPROTO_UDP},
    {kUdpLiteSockets, "udplite", AF_INET, IPPROTO_UDPLITE},
    {kUdpLiteSockets, "udplite6", AF_INET6, IPPROTO_UDPLITE},
    {kRawSockets, "raw", AF_INET, IPPROTO_RAW},
    {kRawSockets, "raw6", AF_INET6, IPPROTO_RAW},
    {kIcmpSockets, "icmp", AF_INET, IPPROTO_ICMP},
    {kIcmpSockets, "icmp6", AF_INET6, IPPROTO_ICMPV6},
    {kUnixSockets, "unix", AF_UNIX, 0},
};

// Calls `line` for every line of a file read in chunks (the last line may lack its '\n').
Status ForEachLine(const Host& host, const std::string& path,
                   const std::function<Status(int number, std::string_view line)>& line) {
  std::string carry;
  int number = 0;
  Status status = host.ReadChunks(path, kMaxSocketTableBytes, [&](std::string_view chunk) {
    while (!chunk.empty()) {
      size_t eol = chunk.find('\n');
      if (eol == std::string_view::npos) {
        carry.append(chunk);
        return Status::Ok();
      }
      std::string_view text = chunk.substr(0, eol);
      chunk.remove_prefix(eol + 1);
      if (!carry.empty()) {
        carry.append(text);
        VIGIL_RETURN_IF_ERROR(line(++number, carry));
        carry.clear();
      } else {
        VIGIL_RETURN_IF_ERROR(line(++number, text));
      }
    }
    return Status::Ok();
  });
  if (status.ok() && !carry.empty()) status = line(++number, carry);
  return status;
}

// "0100007F:0016" -> address text and port.
bool ParseEndpoint(std::string_view text, int family, std::string& address, int& port) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  std::optional<uint64_t> number = ParseUint(text.substr(colon + 1), 16);
  if (!number || *number > 0xffff) return false;
  port = static_cast<int>(*number);
  if (family == AF_INET) {
    std::optional<in_addr> a = ParseProcIpv4(text.substr(0, colon));
    if (!a) return false;
    address = Ipv4Text(*a);
  } else {
    std::optional<in6_addr> a = ParseProcIpv6(text.substr(0, colon));
    if (!a) return false;
    address = Ipv6Text(*a);
  }
  return true;
}

// One socket table line into `entry`; false when it is malformed.
bool ParseInetLine(std::string_view line, const TableFile& file, SocketEntry& entry) {
  std::array<std::string_view, 10> f;
  if (SplitInto(line, f) < f.size()) return false;
  std::optional<uint64_t> state = ParseUint(f[3], 16);
  std::optional<uint64_t> inode = ParseUint(f[9]);
  if (!state || !inode) return false;
  entry.family = file.family;
  entry.protocol = file.protocol;
  entry.state = static_cast<int>(*state);
  entry.inode = *inode;
  return ParseEndpoint(f[1], file.family, entry.local_address, entry.local_port) &&
         ParseEndpoint(f[2], file.family, entry.remote_address, entry.remote_port);
}

bool ParseUnixLine(std::string_view line, SocketEntry& entry) {
  // Num RefCount Protocol Flags Type St Inode [Path]; the path may hold spaces.
  std::array<std::string_view, 7> f;
  if (SplitInto(line, f) < f.size()) return false;
  std::optional<uint64_t> flags = ParseUint(f[3], 16);
  std::optional<uint64_t> state = ParseUint(f[5], 16);
  std::optional<uint64_t> inode = ParseUint(f[6]);
  if (!flags || !state || !inode) return false;
  entry.family = AF_UNIX;
  entry.protocol = 0;
  entry.state = static_cast<int>(*state);
  entry.inode = *inode;
  entry.listening = (*flags & kUnixAcceptConnections) != 0;
  size_t rest = static_cast<size_t>(f[6].data() + f[6].size() - line.data());
  entry.path = std::string(Trim(line.substr(rest)));
  return true;
}

bool IsListening(const SocketEntry& e) {
  if (e.family == AF_UNIX) return e.listening;
  if (e.protocol == IPPROTO_TCP) return e.state == kTcpListen;
  return e.state == kTcpClose && e.local_port != 0 && e.remote_port == 0;
}

class Scanner {
 public:
  Scanner(const QueryContext& ctx, unsigned tables, bool listening_only)
      : ctx_(ctx), tables_(tables), listening_only_(listening_only) {
    Result<std::string> self = ctx.host().ReadLink("/proc/self/ns/net");
    if (self.ok()) self_ns_ = NamespaceInode(*self, "net").value_or(0);
  }

  Status VisitProcess(int64_t pid) {
    VIGIL_RETURN_IF_ERROR(ctx_.CheckDeadline());
    std::optional<uint64_t> ns;
    if (Result<std::string> link = ctx_.host().ReadLink(ProcPath(pid, "ns/net")); link.ok()) {
      ns = NamespaceInode(*link, "net");
    }
    if (ns && *ns != self_ns_ && !done_.contains(*ns)) {
      std::string dir = ProcPath(pid, "net");
      if (ctx_.host().IsDirectory(dir)) {
        if (ReadNamespace(dir, *ns)) done_.insert(*ns);
      } else {
        ReadProcNet(*ns);  // no per-process view (an old kernel, a fixture): the one there is
      }
    } else if (!ns || *ns == self_ns_) {
      ReadProcNet(ns.value_or(self_ns_));
    }
    return ReadDescriptors(pid);
  }

  void Finish(bool every_process) {
    if (every_process) ReadProcNet(self_ns_);
    std::sort(scan_.owners.begin(), scan_.owners.end(),
              [](const SocketOwner& a, const SocketOwner& b) {
                return std::tie(a.inode, a.pid, a.fd) < std::tie(b.inode, b.pid, b.fd);
              });
  }

  SocketScan& scan() { return scan_; }

 private:
  void ReadProcNet(uint64_t ns) {
    if (proc_net_read_) return;
    proc_net_read_ = true;
    ReadNamespace("/proc/net", ns);
    done_.insert(ns);
  }

  // Reads every selected table of one namespace; false when none of them exists (the process
  // whose view it was has gone).
  bool ReadNamespace(const std::string& dir, uint64_t ns) {
    bool any = false;
    for (const TableFile& file : kTableFiles) {
      if ((tables_ & file.table) == 0) continue;
      if (ReadTable(JoinPath(dir, file.name), file, ns)) any = true;
    }
    return any;
  }

  bool ReadTable(const std::string& path, const TableFile& file, uint64_t ns) {
    bool header_ok = false;
    Status status = ForEachLine(ctx_.host(), path, [&](int number, std::string_view line) {
      if (number == 1) {
        std::string_view head = Trim(line);
        header_ok = file.family == AF_UNIX ? head.starts_with("Num") : head.starts_with("sl");
        if (!header_ok) {
          return Status::InvalidArgument(path + ":1: not a socket table header");
        }
        return Status::Ok();
      }
      if (number % 4096 == 0) VIGIL_RETURN_IF_ERROR(ctx_.CheckDeadline());
      if (Trim(line).empty()) return Status::Ok();
      SocketEntry entry;
      bool ok =
          file.family == AF_UNIX ? ParseUnixLine(line, entry) : ParseInetLine(line, file, entry);
      if (!ok) {
        ctx_.Warn(path + ":" + std::to_string(number) + ": malformed socket entry");
        return Status::Ok();
      }
      if (listening_only_ && !IsListening(entry)) return Status::Ok();
      entry.listening = IsListening(entry);
      entry.net_namespace = ns;
      scan_.sockets.push_back(std::move(entry));
      return Status::Ok();
    });
    if (status.ok()) return true;
    if (status.code() == StatusCode::kNotFound) return false;  // e.g. no IPv6 on this host
    if (status.code() == StatusCode::kDeadlineExceeded) return true;
    ctx_.Warn(status.message());
    return true;
  }

  Status ReadDescriptors(int64_t pid) {
    std::string path = ProcPath(pid, "fd/");
    Result<std::vector<DirEntry>> fds = ctx_.host().ListDirectory(path);
    if (!fds.ok()) return Status::Ok();  // gone, or another user's process
    const size_t base = path.size();
    for (const DirEntry& entry : *fds) {
      std::optional<int64_t> fd = ParseInt(entry.name);
      if (!fd) continue;
      path.resize(base);
      path.append(entry.name);
      Result<std::string> target = ctx_.host().ReadLink(path);
      if (!target.ok()) continue;  // closed meanwhile
      if (std::optional<uint64_t> inode = SocketInode(*target)) {
        scan_.owners.push_back({*inode, pid, *fd});
      }
    }
    return Status::Ok();
  }

  const QueryContext& ctx_;
  const unsigned tables_;
  const bool listening_only_;
  uint64_t self_ns_ = 0;
  bool proc_net_read_ = false;
  std::set<uint64_t> done_;
  SocketScan scan_;
};

}  // namespace

Result<SocketScan> ScanSockets(const QueryContext& ctx, const std::vector<int64_t>& pids,
                               bool every_process, unsigned tables, bool listening_only) {
  Scanner scanner(ctx, tables, listening_only);
  for (int64_t pid : pids) VIGIL_RETURN_IF_ERROR(scanner.VisitProcess(pid));
  VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
  scanner.Finish(every_process);
  return std::move(scanner.scan());
}

std::pair<const SocketOwner*, const SocketOwner*> OwnersOf(const SocketScan& scan, uint64_t inode) {
  auto range = std::equal_range(
      scan.owners.begin(), scan.owners.end(), SocketOwner{inode, 0, 0},
      [](const SocketOwner& a, const SocketOwner& b) { return a.inode < b.inode; });
  if (range.first == range.second) return {nullptr, nullptr};
  return {&*range.first, &*range.first + (range.second - range.first)};
}

std::string_view TcpStateName(int state) {
  static constexpr std::string_view kNames[] = {
      "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
      "CLOSE",   "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
  if (state <= 0 || state >= static_cast<int>(std::size(kNames))) return kNames[0];
  return kNames[state];
}

}  // namespace vigil::tables::internal
