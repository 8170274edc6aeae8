// usb_devices: the USB devices attached to the host (root hubs included), from the attributes
// the kernel publishes under /sys/bus/usb/devices.
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

// Column positions, in the order of the column list below.
enum UsbDevicesColumn : int {
  kUsbAddress,
  kUsbPort,
  kVendor,
  kVendorId,
  kVersion,
  kModel,
  kModelId,
  kSerial,
  kClass,
  kSubclass,
  kProtocol,
  kRemovable,
  kPortPath,
  kInterfaceClasses,
  kStorage,
  kColumnCount
};

Schema UsbDevicesSchema() {
  return Schema{
      "usb_devices",
      "USB devices attached to the host, root hubs included, one row per device directory "
      "of /sys/bus/usb/devices (interfaces are folded into their device's row). Strings are "
      "the ones the device reports about itself, not names from a hardware database; text "
      "columns are empty when the device reports nothing.",
      {
          {"usb_address", ColumnType::kInteger, "Bus number (busnum)"},
          {"usb_port", ColumnType::kInteger,
           "Device number on the bus (devnum), as osquery reports it; see port_path for the "
           "physical port"},
          {"vendor", ColumnType::kText, "Manufacturer string of the device"},
          {"vendor_id", ColumnType::kText, "Vendor id, 4 hex digits (idVendor)"},
          {"version", ColumnType::kText, "Device release number, 4 hex digits (bcdDevice)"},
          {"model", ColumnType::kText, "Product string of the device"},
          {"model_id", ColumnType::kText, "Product id, 4 hex digits (idProduct)"},
          {"serial", ColumnType::kText, "Serial number string of the device"},
          {"class", ColumnType::kText,
           "Device class in decimal (9 hub, 0 when each interface names its own class)"},
          {"subclass", ColumnType::kText, "Device subclass in decimal"},
          {"protocol", ColumnType::kText, "Device protocol in decimal"},
          {"removable", ColumnType::kInteger,
           "1 when the port reports the device as removable, 0 when fixed, -1 when unknown"},
          {"port_path", ColumnType::kText,
           "Where the device hangs: bus, then the hub ports from the root (1-2.1), or usbN "
           "for a root hub"},
          {"interface_classes", ColumnType::kText,
           "class/subclass/protocol of each interface in decimal, space-separated (8/6/80 is "
           "a mass-storage interface)"},
          {"storage", ColumnType::kInteger,
           "1 when the device or any of its interfaces is of the mass-storage class (8), "
           "else 0"},
      }};
}

constexpr std::string_view kUsbDevices = "/sys/bus/usb/devices";
constexpr uint64_t kMassStorageClass = 8;

// A sysfs attribute without its trailing newline; nullopt when the device lacks it.
std::optional<std::string> Attribute(const Host& host, const std::string& dir,
                                     std::string_view name) {
  Result<std::string> text = host.ReadFile(JoinPath(dir, name), 4096);
  if (!text.ok()) return std::nullopt;
  return std::string(internal::Trim(*text));
}

// A hex attribute (bDeviceClass "09") in decimal ("9"); nullopt when absent or not hex.
std::optional<uint64_t> HexAttribute(const Host& host, const std::string& dir,
                                     std::string_view name) {
  std::optional<std::string> text = Attribute(host, dir, name);
  return text ? internal::ParseUint(*text, 16) : std::nullopt;
}

std::string Decimal(std::optional<uint64_t> value) {
  return value ? std::to_string(*value) : std::string();
}

class UsbDevicesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    const Host& host = ctx.host();
    Result<std::vector<DirEntry>> entries = host.ListDirectory(kUsbDevices);
    if (!entries.ok()) {  // no USB support, or a root without /sys
      if (entries.status().code() != StatusCode::kNotFound) ctx.Warn(entries.status().message());
      return rows;
    }
    const bool want_interfaces = ctx.IsUsed(kInterfaceClasses) || ctx.IsUsed(kStorage);
    for (const DirEntry& entry : *entries) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      if (entry.name.find(':') != std::string::npos) continue;  // an interface
      const std::string dir = JoinPath(kUsbDevices, entry.name);
      std::optional<std::string> busnum = Attribute(host, dir, "busnum");
      std::optional<std::string> devnum = Attribute(host, dir, "devnum");
      std::optional<int64_t> bus = busnum ? internal::ParseInt(*busnum) : std::nullopt;
      std::optional<int64_t> dev = devnum ? internal::ParseInt(*devnum) : std::nullopt;
      if (!bus || !dev) {
        ctx.Warn(dir + ": no bus or device number (busnum, devnum)");
        continue;
      }
      Row row(kColumnCount);
      row[kUsbAddress] = *bus;
      row[kUsbPort] = *dev;
      row[kVendor] = Attribute(host, dir, "manufacturer").value_or("");
      row[kVendorId] = Attribute(host, dir, "idVendor").value_or("");
      row[kVersion] = Attribute(host, dir, "bcdDevice").value_or("");
      row[kModel] = Attribute(host, dir, "product").value_or("");
      row[kModelId] = Attribute(host, dir, "idProduct").value_or("");
      row[kSerial] = Attribute(host, dir, "serial").value_or("");
      std::optional<uint64_t> device_class = HexAttribute(host, dir, "bDeviceClass");
      row[kClass] = Decimal(device_class);
      row[kSubclass] = Decimal(HexAttribute(host, dir, "bDeviceSubClass"));
      row[kProtocol] = Decimal(HexAttribute(host, dir, "bDeviceProtocol"));
      std::optional<std::string> removable = Attribute(host, dir, "removable");
      row[kRemovable] = removable == "removable" ? 1 : removable == "fixed" ? 0 : -1;
      row[kPortPath] = entry.name;
      if (want_interfaces) {
        bool storage = device_class == kMassStorageClass;
        row[kInterfaceClasses] = InterfaceClasses(host, dir, storage);
        row[kStorage] = storage;
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  // "8/6/80 3/1/1" for the interface directories ("1-2:1.0") inside a device's directory;
  // sets `storage` when one of them is mass storage.
  static std::string InterfaceClasses(const Host& host, const std::string& dir, bool& storage) {
    std::string classes;
    Result<std::vector<DirEntry>> children = host.ListDirectory(dir);
    if (!children.ok()) return classes;
    for (const DirEntry& child : *children) {
      if (child.type != FileType::kDirectory || child.name.find(':') == std::string::npos) {
        continue;
      }
      const std::string interface = JoinPath(dir, child.name);
      std::optional<uint64_t> cls = HexAttribute(host, interface, "bInterfaceClass");
      if (!cls) continue;
      if (*cls == kMassStorageClass) storage = true;
      if (!classes.empty()) classes += ' ';
      classes += std::to_string(*cls) + "/" +
                 Decimal(HexAttribute(host, interface, "bInterfaceSubClass")) + "/" +
                 Decimal(HexAttribute(host, interface, "bInterfaceProtocol"));
    }
    return classes;
  }

  const Schema schema_ = UsbDevicesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeUsbDevicesTable() { return std::make_unique<UsbDevicesTable>(); }

}  // namespace vigil::tables
