// interface_addresses: the IPv4 and IPv6 addresses of the network interfaces. The kernel
// gives IPv4 addresses only over netlink/ioctl, so the live answer (getifaddrs) is used for the
// machine's own root; under another root they are derived from /proc files.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/inet.h"
#include "tables/internal/procfs.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::ParseUint;

// Column positions, in the order of the column list below.
enum InterfaceAddressesColumn : int {
  kInterface,
  kAddress,
  kMask,
  kBroadcast,
  kPointToPoint,
  kType,
  kColumnCount
};

Schema InterfaceAddressesSchema() {
  return Schema{
      "interface_addresses",
      "IP addresses of the network interfaces. On the machine's own root they come from the "
      "kernel (getifaddrs). Under another root (--root, a fixture) IPv6 addresses come from "
      "/proc/net/if_inet6 and IPv4 addresses are derived from /proc/net/fib_trie (each "
      "'/32 host LOCAL' entry; its mask from the enclosing connected prefix, its interface "
      "from that prefix's route in /proc/net/route, loopback prefixes on lo) so peers, labels "
      "and addresses without a connected route may be missing or incomplete there.",
      {
          {"interface", ColumnType::kText,
           "Interface name; NULL when a derived IPv4 address has no matching route"},
          {"address", ColumnType::kText,
           "Address; link-local IPv6 addresses carry their interface (fe80::1%eth0)"},
          {"mask", ColumnType::kText, "Netmask (255.255.255.0, ffff:ffff:ffff:ffff::)"},
          {"broadcast", ColumnType::kText, "IPv4 broadcast address; NULL when none"},
          {"point_to_point", ColumnType::kText,
           "Peer address of a point-to-point link; NULL otherwise (never derived from files)"},
          {"type", ColumnType::kText,
           "How the address was set: for IPv6 manual (permanent global), auto (link-local, "
           "or with a lifetime: autoconfigured or DHCPv6) or other (host scope); unknown for "
           "IPv4, whose origin the kernel does not report"},
      }};
}

constexpr size_t kMaxProcNetBytes = 64u << 20;
constexpr uint64_t kIfaPermanent = 0x80;
constexpr uint64_t kScopeHost = 0x10;
constexpr uint64_t kScopeLink = 0x20;

struct Ipv6Info {
  std::string interface;
  in6_addr address;
  int prefix = 0;
  uint64_t scope = 0;
  uint64_t flags = 0;
};

std::string_view Ipv6Type(const Ipv6Info& info) {
  if (info.scope == kScopeHost) return "other";
  if (info.scope == kScopeLink || (info.flags & kIfaPermanent) == 0) return "auto";
  return "manual";
}

// /proc/net/if_inet6: address ifindex prefix scope flags name (hex numbers).
std::vector<Ipv6Info> ReadIfInet6(const QueryContext& ctx) {
  std::vector<Ipv6Info> out;
  auto text = internal::ReadOptionalFile(ctx, "/proc/net/if_inet6", kMaxProcNetBytes);
  if (!text) return out;
  for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
    if (internal::Trim(line.text).empty()) continue;
    std::array<std::string_view, 6> f;
    Ipv6Info info;
    auto address =
        internal::SplitInto(line.text, f) == f.size() ? internal::ParseHexIpv6(f[0]) : std::nullopt;
    auto prefix = address ? ParseUint(f[2], 16) : std::nullopt;
    auto scope = prefix ? ParseUint(f[3], 16) : std::nullopt;
    auto flags = scope ? ParseUint(f[4], 16) : std::nullopt;
    if (!flags || *prefix > 128) {
      ctx.Warn("/proc/net/if_inet6:" + std::to_string(line.number) + ": malformed address");
      continue;
    }
    out.push_back({std::string(f[5]), *address, static_cast<int>(*prefix), *scope, *flags});
  }
  return out;
}

std::string Ipv6AddressText(const Ipv6Info& info) {
  std::string text = internal::Ipv6Text(info.address);
  if (internal::IsIpv6LinkLocal(info.address)) text += "%" + info.interface;
  return text;
}

// The file-derived IPv4 addresses (see the table description).
class FibTrieAddresses {
 public:
  explicit FibTrieAddresses(const QueryContext& ctx) : ctx_(ctx) {}

  void AddRows(std::vector<Row>& rows) {
    auto trie = internal::ReadOptionalFile(ctx_, "/proc/net/fib_trie", kMaxProcNetBytes);
    if (!trie) return;
    ReadLinkRoutes();
    std::optional<in_addr> leaf;
    for (const internal::NumberedLine& line : internal::SplitLines(*trie)) {
      std::string_view text = internal::Trim(line.text);
      if (text.starts_with("|-- ")) {
        in_addr a;
        std::string address(text.substr(4));
        leaf.reset();
        if (inet_pton(AF_INET, address.c_str(), &a) == 1) leaf = a;
      } else if (text.starts_with("/") && leaf) {
        std::array<std::string_view, 3> f;  // "/24 link UNICAST"
        if (internal::SplitInto(text, f) < f.size()) continue;
        auto length = ParseUint(f[0].substr(1));
        if (!length || *length > 32) continue;
        AddLeaf(*leaf, static_cast<int>(*length), f[1], f[2]);
      }
    }
    for (const in_addr& local : locals_) rows.push_back(MakeRow(local));
  }

 private:
  struct Prefix {
    in_addr network;
    int length;
    bool host_scope;  // a loopback range ("/8 host LOCAL")
  };

  void AddLeaf(in_addr address, int length, std::string_view scope, std::string_view type) {
    if (length == 32 && scope == "host" && type == "LOCAL") {
      for (const in_addr& seen : locals_) {
        if (seen.s_addr == address.s_addr) return;  // listed again in the Local table
      }
      locals_.push_back(address);
    } else if (length == 32 && type == "BROADCAST") {
      broadcasts_.push_back(address);
    } else if (length < 32 &&
               ((scope == "link" && type == "UNICAST") || (scope == "host" && type == "LOCAL"))) {
      prefixes_.push_back({address, length, scope == "host"});
    }
  }

  // The routes to attached links (no gateway) of /proc/net/route: prefix -> interface.
  void ReadLinkRoutes() {
    auto text = internal::ReadOptionalFile(ctx_, "/proc/net/route", kMaxProcNetBytes);
    if (!text) return;
    for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
      std::array<std::string_view, 8> f;
      if (line.number == 1 || internal::SplitInto(line.text, f) < f.size()) continue;
      auto destination = internal::ParseProcIpv4(f[1]);
      auto mask = internal::ParseProcIpv4(f[7]);
      auto flags = ParseUint(f[3], 16);
      if (!destination || !mask || !flags || (*flags & 0x2) != 0) continue;
      if (auto length = internal::Ipv4PrefixLength(*mask)) {
        link_routes_.emplace(std::make_pair(destination->s_addr, *length), std::string(f[0]));
      }
    }
  }

  Row MakeRow(in_addr local) const {
    const Prefix* best = nullptr;
    for (const Prefix& p : prefixes_) {
      if (internal::Ipv4InPrefix(local, p.network, p.length) &&
          (best == nullptr || p.length > best->length)) {
        best = &p;
      }
    }
    Row row(kColumnCount);
    row[kAddress] = internal::Ipv4Text(local);
    row[kMask] = internal::Ipv4MaskText(best != nullptr ? best->length : 32);
    row[kType] = "unknown";
    if (best == nullptr) return row;
    if (best->host_scope) {
      row[kInterface] = "lo";
      return row;
    }
    auto route = link_routes_.find({best->network.s_addr, best->length});
    if (route != link_routes_.end()) row[kInterface] = route->second;
    in_addr broadcast;
    uint32_t host_bits = best->length >= 32 ? 0 : (0xffffffffu >> best->length);
    broadcast.s_addr = htonl(ntohl(best->network.s_addr) | host_bits);
    for (const in_addr& b : broadcasts_) {
      if (b.s_addr == broadcast.s_addr && best->length < 31) {
        row[kBroadcast] = internal::Ipv4Text(b);
      }
    }
    return row;
  }

  const QueryContext& ctx_;
  std::vector<in_addr> locals_;
  std::vector<in_addr> broadcasts_;
  std::vector<Prefix> prefixes_;
  std::map<std::pair<uint32_t, int>, std::string> link_routes_;
};

// getnameinfo's numeric form: what the kernel reports, with %interface for scoped addresses.
std::optional<std::string> NumericHost(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  socklen_t length = address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  char text[NI_MAXHOST];
  if (getnameinfo(address, length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) {
    return std::nullopt;
  }
  return std::string(text);
}

class InterfaceAddressesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Ipv6Info> ipv6 = ReadIfInet6(ctx);
    std::vector<Row> rows;
    if (ctx.host().is_machine_root()) {
      VIGIL_RETURN_IF_ERROR(LiveRows(ipv6, rows));
      return rows;
    }
    FibTrieAddresses(ctx).AddRows(rows);
    for (const Ipv6Info& info : ipv6) {
      Row row(kColumnCount);
      row[kInterface] = info.interface;
      row[kAddress] = Ipv6AddressText(info);
      row[kMask] = internal::Ipv6MaskText(info.prefix);
      row[kType] = Ipv6Type(info);
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  static Status LiveRows(const std::vector<Ipv6Info>& ipv6, std::vector<Row>& rows) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return Status::FromErrno(errno, "getifaddrs");
    for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
      if (ifa->ifa_addr == nullptr) continue;
      int family = ifa->ifa_addr->sa_family;
      if (family != AF_INET && family != AF_INET6) continue;
      Row row(kColumnCount);
      row[kInterface] = ifa->ifa_name;
      if (auto text = NumericHost(ifa->ifa_addr)) row[kAddress] = std::move(*text);
      if (auto text = NumericHost(ifa->ifa_netmask)) row[kMask] = std::move(*text);
      if ((ifa->ifa_flags & IFF_BROADCAST) != 0 && family == AF_INET) {
        if (auto text = NumericHost(ifa->ifa_broadaddr)) row[kBroadcast] = std::move(*text);
      } else if ((ifa->ifa_flags & IFF_POINTOPOINT) != 0) {
        if (auto text = NumericHost(ifa->ifa_dstaddr)) row[kPointToPoint] = std::move(*text);
      }
      row[kType] = "unknown";
      if (family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
        for (const Ipv6Info& info : ipv6) {
          if (info.interface == ifa->ifa_name &&
              std::memcmp(&info.address, &a->sin6_addr, sizeof(in6_addr)) == 0) {
            row[kType] = Ipv6Type(info);
          }
        }
      }
      rows.push_back(std::move(row));
    }
    freeifaddrs(list);
    return Status::Ok();
  }

  const Schema schema_ = InterfaceAddressesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeInterfaceAddressesTable() {
  return std::make_unique<InterfaceAddressesTable>();
}

}  // namespace vigil::tables
