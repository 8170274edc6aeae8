// system_info: the machine's identity, processor, memory and firmware (DMI) strings, in one row.
#include <sys/utsname.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum SystemInfoColumn : int {
  kHostname,
  kUuid,
  kCpuType,
  kCpuSubtype,
  kCpuBrand,
  kCpuPhysicalCores,
  kCpuLogicalCores,
  kCpuMicrocode,
  kPhysicalMemory,
  kHardwareVendor,
  kHardwareModel,
  kHardwareVersion,
  kHardwareSerial,
  kBoardVendor,
  kBoardModel,
  kBoardVersion,
  kBoardSerial,
  kComputerName,
  kLocalHostname,
  kColumnCount
};

Schema SystemInfoSchema() {
  return Schema{
      "system_info",
      "Identity, processor, memory and firmware strings of the host, in one row. A source "
      "that cannot be read (DMI serials need root, containers lack DMI) leaves its text "
      "columns empty and its numbers NULL.",
      {
          {"hostname", ColumnType::kText,
           "Host name as the kernel reports it (/proc/sys/kernel/hostname, else /etc/hostname)"},
          {"uuid", ColumnType::kText, "Machine UUID from the firmware (DMI product_uuid)"},
          {"cpu_type", ColumnType::kText,
           "Machine architecture of the running kernel (uname), e.g. x86_64"},
          {"cpu_subtype", ColumnType::kText, "Processor model number (/proc/cpuinfo model)"},
          {"cpu_brand", ColumnType::kText, "Processor brand string (/proc/cpuinfo model name)"},
          {"cpu_physical_cores", ColumnType::kInteger,
           "Distinct physical cores (socket and core id pairs); the logical count when "
           "/proc/cpuinfo does not say"},
          {"cpu_logical_cores", ColumnType::kInteger,
           "Online logical processors listed in /proc/cpuinfo"},
          {"cpu_microcode", ColumnType::kText, "Microcode revision of the first processor"},
          {"physical_memory", ColumnType::kInteger,
           "Memory usable by the kernel in bytes (/proc/meminfo MemTotal)"},
          {"hardware_vendor", ColumnType::kText, "System vendor (DMI sys_vendor)"},
          {"hardware_model", ColumnType::kText, "System model (DMI product_name)"},
          {"hardware_version", ColumnType::kText, "System version (DMI product_version)"},
          {"hardware_serial", ColumnType::kText, "System serial number (DMI product_serial)"},
          {"board_vendor", ColumnType::kText, "Main board vendor (DMI board_vendor)"},
          {"board_model", ColumnType::kText, "Main board model (DMI board_name)"},
          {"board_version", ColumnType::kText, "Main board version (DMI board_version)"},
          {"board_serial", ColumnType::kText, "Main board serial number (DMI board_serial)"},
          {"computer_name", ColumnType::kText, "Friendly name; on Linux the host name"},
          {"local_hostname", ColumnType::kText, "Local host name; on Linux the host name"},
      }};
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\0')) {
    s.remove_suffix(1);
  }
  return s;
}

// A small host file with surrounding whitespace removed; empty when it cannot be read.
std::string ReadValue(const Host& host, std::string_view path) {
  Result<std::string> text = host.ReadFile(path, size_t{64} << 10);
  return text.ok() ? std::string(Trim(*text)) : std::string();
}

std::string Hostname(const Host& host) {
  std::string name = ReadValue(host, "/proc/sys/kernel/hostname");
  if (name.empty()) name = ReadValue(host, "/etc/hostname");
  return name;
}

std::string MachineArch() {
  struct utsname names;
  if (::uname(&names) != 0) return "";
  return names.machine;
}

struct CpuInfo {
  std::string model;
  std::string brand;
  std::string microcode;
  std::optional<int64_t> logical;
  std::optional<int64_t> physical;
};

// /proc/cpuinfo: blocks of "key<tabs>: value" lines, one block per logical processor.
CpuInfo ParseCpuInfo(std::string_view text) {
  CpuInfo info;
  int64_t processors = 0;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical_id;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (key == "processor") {
      ++processors;
      physical_id.clear();
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      cores.emplace(physical_id, value);
    } else if (processors <= 1) {  // descriptive fields: the first processor's
      if (key == "model" && info.model.empty()) info.model = value;
      if (key == "model name" && info.brand.empty()) info.brand = value;
      if (key == "microcode" && info.microcode.empty()) info.microcode = value;
    }
  }
  if (processors > 0) {
    info.logical = processors;
    info.physical = cores.empty() ? processors : static_cast<int64_t>(cores.size());
  }
  return info;
}

// MemTotal from /proc/meminfo, converted from kB to bytes.
std::optional<int64_t> MemTotalBytes(std::string_view text) {
  size_t at = text.find("MemTotal:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = Trim(text.substr(at + 9, text.find('\n', at) - at - 9));
  int64_t kib = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc() || kib < 0) return std::nullopt;
  return kib * 1024;
}

class SystemInfoTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Host& host = ctx.host();
    Row row(kColumnCount);
    std::string hostname = Hostname(host);
    row[kHostname] = hostname;
    row[kComputerName] = hostname;
    row[kLocalHostname] = hostname;
    row[kCpuType] = MachineArch();

    Result<std::string> cpuinfo = host.ReadFile("/proc/cpuinfo");
    CpuInfo cpu = ParseCpuInfo(cpuinfo.ok() ? std::string_view(*cpuinfo) : std::string_view());
    row[kCpuSubtype] = cpu.model;
    row[kCpuBrand] = cpu.brand;
    row[kCpuMicrocode] = cpu.microcode;
    if (cpu.logical) row[kCpuLogicalCores] = *cpu.logical;
    if (cpu.physical) row[kCpuPhysicalCores] = *cpu.physical;

    Result<std::string> meminfo = host.ReadFile("/proc/meminfo");
    if (meminfo.ok()) {
      if (auto bytes = MemTotalBytes(*meminfo)) row[kPhysicalMemory] = *bytes;
    }

    // DMI files are read only when their column is used: the serials are root-only and some
    // firmware answers slowly.
    static constexpr std::pair<int, std::string_view> kDmi[] = {
        {kUuid, "product_uuid"},
        {kHardwareVendor, "sys_vendor"},
        {kHardwareModel, "product_name"},
        {kHardwareVersion, "product_version"},
        {kHardwareSerial, "product_serial"},
        {kBoardVendor, "board_vendor"},
        {kBoardModel, "board_name"},
        {kBoardVersion, "board_version"},
        {kBoardSerial, "board_serial"},
    };
    for (const auto& [column, file] : kDmi) {
      if (ctx.IsUsed(column)) row[column] = ReadValue(host, JoinPath("/sys/class/dmi/id", file));
    }
    std::vector<Row> rows;
    rows.push_back(std::move(row));
    return rows;
  }

 private:
  const Schema schema_ = SystemInfoSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSystemInfoTable() { return std::make_unique<SystemInfoTable>(); }

}  // namespace vigil::tables
