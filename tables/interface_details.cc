// interface_details: network interfaces and their counters from /sys/class/net/IF.
#include <net/if.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::ParseInt;
using internal::Trim;

// Column positions, in the order of the column list below.
enum InterfaceDetailsColumn : int {
  kInterface,
  kMac,
  kType,
  kMtu,
  kMetric,
  kFlags,
  kIpackets,
  kOpackets,
  kIbytes,
  kObytes,
  kIerrors,
  kOerrors,
  kIdrops,
  kOdrops,
  kCollisions,
  kLastChange,
  kLinkSpeed,
  kPciSlot,
  kColumnCount
};

Schema InterfaceDetailsSchema() {
  return Schema{
      "interface_details",
      "Network interfaces with their link settings and counters, one row per entry of "
      "/sys/class/net, by name. Counters are the kernel's since the interface was created.",
      {
          {"interface", ColumnType::kText, "Interface name", kIndex},
          {"mac", ColumnType::kText,
           "Hardware address (sysfs address); NULL for interfaces without one"},
          {"type", ColumnType::kInteger,
           "ARP hardware type (sysfs type): 1 Ethernet, 772 loopback, 65534 none (tun, wireguard)"},
          {"mtu", ColumnType::kInteger, "MTU in bytes"},
          {"metric", ColumnType::kInteger, "Interface metric; Linux keeps none, always 0"},
          {"flags", ColumnType::kInteger,
           "Interface flags as SIOCGIFFLAGS reports them (IFF_UP 0x1, IFF_BROADCAST 0x2, "
           "IFF_LOOPBACK 0x8, IFF_RUNNING 0x40, IFF_PROMISC 0x100, IFF_MULTICAST 0x1000, "
           "IFF_LOWER_UP 0x10000, ...): sysfs flags with RUNNING, LOWER_UP and DORMANT derived "
           "from operstate and carrier"},
          {"ipackets", ColumnType::kInteger, "Packets received (statistics/rx_packets)"},
          {"opackets", ColumnType::kInteger, "Packets sent (statistics/tx_packets)"},
          {"ibytes", ColumnType::kInteger, "Bytes received (statistics/rx_bytes)"},
          {"obytes", ColumnType::kInteger, "Bytes sent (statistics/tx_bytes)"},
          {"ierrors", ColumnType::kInteger, "Receive errors (statistics/rx_errors)"},
          {"oerrors", ColumnType::kInteger, "Transmit errors (statistics/tx_errors)"},
          {"idrops", ColumnType::kInteger, "Received packets dropped (statistics/rx_dropped)"},
          {"odrops", ColumnType::kInteger, "Packets dropped on send (statistics/tx_dropped)"},
          {"collisions", ColumnType::kInteger, "Collisions (statistics/collisions)"},
          {"last_change", ColumnType::kInteger,
           "Time of the last change; Linux does not record it, always NULL"},
          {"link_speed", ColumnType::kInteger,
           "Negotiated speed in Mb/s (sysfs speed); NULL when down or not reported"},
          {"pci_slot", ColumnType::kText,
           "PCI address of the device (PCI_SLOT_NAME in the uevent of the device or, for "
           "virtio, of its parent); NULL when not on PCI"},
      }};
}

constexpr size_t kMaxAttributeBytes = 64u << 10;
constexpr int64_t kIffUp = IFF_UP;
constexpr int64_t kIffRunning = IFF_RUNNING;
constexpr int64_t kIffLowerUp = 0x10000;
constexpr int64_t kIffDormant = 0x20000;

struct Counter {
  int column;
  std::string_view file;
};
constexpr Counter kCounters[] = {
    {kIpackets, "statistics/rx_packets"},   {kOpackets, "statistics/tx_packets"},
    {kIbytes, "statistics/rx_bytes"},       {kObytes, "statistics/tx_bytes"},
    {kIerrors, "statistics/rx_errors"},     {kOerrors, "statistics/tx_errors"},
    {kIdrops, "statistics/rx_dropped"},     {kOdrops, "statistics/tx_dropped"},
    {kCollisions, "statistics/collisions"},
};

class InterfaceDetailsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    for (const std::string& name : InterfaceNames(ctx)) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      Row row(kColumnCount);
      if (Describe(ctx, name, row)) rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  static std::vector<std::string> InterfaceNames(const QueryContext& ctx) {
    std::vector<std::string> names;
    if (auto wanted = ctx.EqualsText("interface")) {
      for (std::string& name : *wanted) {
        if (!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..") {
          names.push_back(std::move(name));
        }
      }
      return names;
    }
    Result<std::vector<DirEntry>> entries = ctx.host().ListDirectory("/sys/class/net");
    if (!entries.ok()) {
      if (entries.status().code() != StatusCode::kNotFound) ctx.Warn(entries.status().message());
      return names;
    }
    for (DirEntry& entry : *entries) {
      if (entry.type != FileType::kDirectory && entry.type != FileType::kSymlink) continue;
      if (ctx.Matches(kInterface, Value(entry.name))) names.push_back(std::move(entry.name));
    }
    return names;
  }

  // One attribute without its trailing newline; nullopt when absent or unreadable (many
  // attributes fail with EINVAL while the link is down).
  static std::optional<std::string> Attribute(const Host& host, const std::string& dir,
                                              std::string_view name) {
    Result<std::string> text = host.ReadFile(JoinPath(dir, name), kMaxAttributeBytes);
    if (!text.ok()) return std::nullopt;
    return std::string(Trim(*text));
  }

  static std::optional<int64_t> Integer(const Host& host, const std::string& dir,
                                        std::string_view name) {
    std::optional<std::string> text = Attribute(host, dir, name);
    return text ? ParseInt(*text) : std::nullopt;
  }

  // False when the interface does not exist.
  static bool Describe(const QueryContext& ctx, const std::string& name, Row& row) {
    const Host& host = ctx.host();
    const std::string dir = "/sys/class/net/" + name;
    std::optional<int64_t> type = Integer(host, dir, "type");
    if (!type) return false;
    row[kInterface] = name;
    row[kType] = *type;
    row[kMetric] = 0;
    if (ctx.IsUsed(kMac)) {
      std::optional<std::string> mac = Attribute(host, dir, "address");
      if (mac && !mac->empty()) row[kMac] = std::move(*mac);
    }
    if (ctx.IsUsed(kMtu)) {
      if (auto mtu = Integer(host, dir, "mtu")) row[kMtu] = *mtu;
    }
    if (ctx.IsUsed(kFlags)) {
      if (auto flags = Flags(host, dir)) row[kFlags] = *flags;
    }
    for (const Counter& counter : kCounters) {
      if (!ctx.IsUsed(counter.column)) continue;
      if (auto value = Integer(host, dir, counter.file)) row[counter.column] = *value;
    }
    if (ctx.IsUsed(kLinkSpeed)) {
      auto speed = Integer(host, dir, "speed");
      if (speed && *speed >= 0) row[kLinkSpeed] = *speed;
    }
    if (ctx.IsUsed(kPciSlot)) {
      // A PCI network card is the device itself; a virtio one sits on a PCI device.
      for (std::string_view uevent_path : {"device/uevent", "device/../uevent"}) {
        if (auto slot = PciSlot(host, dir, uevent_path)) {
          row[kPciSlot] = std::move(*slot);
          break;
        }
      }
    }
    return true;
  }

  static std::optional<std::string> PciSlot(const Host& host, const std::string& dir,
                                            std::string_view uevent_path) {
    std::optional<std::string> uevent = Attribute(host, dir, uevent_path);
    if (!uevent) return std::nullopt;
    for (const internal::NumberedLine& line : internal::SplitLines(*uevent)) {
      if (line.text.starts_with("PCI_SLOT_NAME=")) return std::string(line.text.substr(14));
    }
    return std::nullopt;
  }

  // The flags the kernel reports for the interface: sysfs holds the configured ones; RUNNING,
  // LOWER_UP and DORMANT follow the operational state of an interface that is up.
  static std::optional<int64_t> Flags(const Host& host, const std::string& dir) {
    std::optional<std::string> text = Attribute(host, dir, "flags");
    if (!text || !text->starts_with("0x")) return std::nullopt;
    std::optional<uint64_t> raw = internal::ParseUint(std::string_view(*text).substr(2), 16);
    if (!raw) return std::nullopt;
    int64_t flags = static_cast<int64_t>(*raw) & ~(kIffRunning | kIffLowerUp | kIffDormant);
    if ((flags & kIffUp) == 0) return flags;
    std::optional<std::string> operstate = Attribute(host, dir, "operstate");
    if (operstate == "up" || operstate == "unknown") flags |= kIffRunning;
    if (operstate == "dormant") flags |= kIffDormant;
    if (Attribute(host, dir, "carrier") == "1") flags |= kIffLowerUp;
    return flags;
  }

  const Schema schema_ = InterfaceDetailsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeInterfaceDetailsTable() {
  return std::make_unique<InterfaceDetailsTable>();
}

}  // namespace vigil::tables
