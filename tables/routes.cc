// routes: the kernel's routing tables as /proc shows them: the IPv4 main table from
// /proc/net/route, every IPv6 table from /proc/net/ipv6_route.
#include <array>
#include <cstdint>
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
enum RoutesColumn : int {
  kDestination,
  kNetmask,
  kGateway,
  kSource,
  kFlags,
  kInterface,
  kMtu,
  kMetric,
  kType,
  kHopcount,
  kColumnCount
};

Schema RoutesSchema() {
  return Schema{
      "routes",
      "Routes: the IPv4 main table from /proc/net/route, then every IPv6 table (main and "
      "local) from /proc/net/ipv6_route, in file order. The IPv4 local and broadcast routes and "
      "policy tables are not in /proc and are not listed; cached IPv6 clones and the kernel's "
      "placeholder for an empty table are skipped.",
      {
          {"destination", ColumnType::kText, "Destination network address"},
          {"netmask", ColumnType::kInteger, "Destination prefix length (0 for a default route)"},
          {"gateway", ColumnType::kText, "Next hop; NULL for routes to a directly attached link"},
          {"source", ColumnType::kText,
           "Source prefix of an IPv6 source-specific route; NULL otherwise (the preferred "
           "source address is not in /proc)"},
          {"flags", ColumnType::kInteger,
           "Kernel route flags (RTF_*: 0x1 up, 0x2 gateway, 0x4 host, 0x200 reject, "
           "0x80000000 local, ...)"},
          {"interface", ColumnType::kText, "Output interface; NULL when the route has none"},
          {"mtu", ColumnType::kInteger,
           "IPv4: the route's MTU metric, 0 when unset (the interface MTU applies); NULL for "
           "IPv6"},
          {"metric", ColumnType::kInteger, "Route metric (priority); the lowest is preferred"},
          {"type", ColumnType::kText,
           "gateway (a unicast route, with or without next hop), local, anycast, or other "
           "(unreachable, prohibit, blackhole, multicast)"},
          {"hopcount", ColumnType::kInteger, "Maximum hops; Linux keeps none, always NULL"},
      }};
}

constexpr uint64_t kRtfGateway = 0x2;
constexpr uint64_t kRtfReject = 0x200;
constexpr uint64_t kRtfAnycast = 0x100000;
constexpr uint64_t kRtfCache = 0x1000000;
constexpr uint64_t kRtfLocal = 0x80000000;
constexpr size_t kMaxRouteBytes = 64u << 20;

std::string_view RouteType(uint64_t flags, bool multicast) {
  if ((flags & kRtfReject) || multicast) return "other";
  if (flags & kRtfLocal) return "local";
  if (flags & kRtfAnycast) return "anycast";
  return "gateway";
}

class RoutesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    if (auto text = internal::ReadOptionalFile(ctx, "/proc/net/route", kMaxRouteBytes)) {
      for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
        if (line.number == 1 || internal::Trim(line.text).empty()) continue;  // the header
        if (!AddIpv4(line.text, rows)) Malformed(ctx, "/proc/net/route", line.number);
      }
    }
    if (auto text = internal::ReadOptionalFile(ctx, "/proc/net/ipv6_route", kMaxRouteBytes)) {
      for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
        if (line.number % 4096 == 0) VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
        if (internal::Trim(line.text).empty()) continue;
        if (!AddIpv6(line.text, rows)) Malformed(ctx, "/proc/net/ipv6_route", line.number);
      }
    }
    return rows;
  }

 private:
  static void Malformed(const QueryContext& ctx, std::string_view file, int line) {
    ctx.Warn(std::string(file) + ":" + std::to_string(line) + ": malformed route");
  }

  // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
  static bool AddIpv4(std::string_view line, std::vector<Row>& rows) {
    std::array<std::string_view, 9> f;
    if (internal::SplitInto(line, f) < f.size()) return false;
    auto destination = internal::ParseProcIpv4(f[1]);
    auto gateway = internal::ParseProcIpv4(f[2]);
    auto mask = internal::ParseProcIpv4(f[7]);
    auto flags = ParseUint(f[3], 16);
    auto metric = ParseUint(f[6]);
    auto mtu = ParseUint(f[8]);
    if (!destination || !gateway || !mask || !flags || !metric || !mtu) return false;
    std::optional<int> prefix = internal::Ipv4PrefixLength(*mask);
    if (!prefix) return false;
    Row row(kColumnCount);
    row[kDestination] = internal::Ipv4Text(*destination);
    row[kNetmask] = *prefix;
    if (*flags & kRtfGateway) row[kGateway] = internal::Ipv4Text(*gateway);
    row[kFlags] = static_cast<int64_t>(*flags);
    if (f[0] != "*") row[kInterface] = f[0];
    row[kMtu] = static_cast<int64_t>(*mtu);
    row[kMetric] = static_cast<int64_t>(*metric);
    row[kType] = RouteType(*flags, false);
    rows.push_back(std::move(row));
    return true;
  }

  // dst dst_len src src_len next_hop metric refcnt use flags iface (hex, iface last)
  static bool AddIpv6(std::string_view line, std::vector<Row>& rows) {
    std::array<std::string_view, 10> f;
    if (internal::SplitInto(line, f) < f.size()) return false;
    auto destination = internal::ParseHexIpv6(f[0]);
    auto prefix = ParseUint(f[1], 16);
    auto source = internal::ParseHexIpv6(f[2]);
    auto source_prefix = ParseUint(f[3], 16);
    auto gateway = internal::ParseHexIpv6(f[4]);
    auto metric = ParseUint(f[5], 16);
    auto flags = ParseUint(f[8], 16);
    if (!destination || !prefix || *prefix > 128 || !source || !source_prefix || !gateway ||
        !metric || !flags) {
      return false;
    }
    if (*flags & kRtfCache) return true;
    // The kernel's placeholder for an empty table ("unreachable ::/0 dev lo", the highest
    // metric) is not a route; ip(8) does not show it either.
    if (*prefix == 0 && (*flags & kRtfReject) && *metric == 0xffffffff && f[9] == "lo") {
      return true;
    }
    Row row(kColumnCount);
    row[kDestination] = internal::Ipv6Text(*destination);
    row[kNetmask] = static_cast<int64_t>(*prefix);
    if (*flags & kRtfGateway) row[kGateway] = internal::Ipv6Text(*gateway);
    if (*source_prefix != 0) {
      row[kSource] = internal::Ipv6Text(*source) + "/" + std::to_string(*source_prefix);
    }
    row[kFlags] = static_cast<int64_t>(*flags);
    row[kInterface] = f[9];
    row[kMetric] = static_cast<int64_t>(*metric);
    row[kType] = RouteType(*flags, destination->s6_addr[0] == 0xff);
    rows.push_back(std::move(row));
    return true;
  }

  const Schema schema_ = RoutesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeRoutesTable() { return std::make_unique<RoutesTable>(); }

}  // namespace vigil::tables
