#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

// The fixture: root hub usb1 with a USB stick on port 1 and a hub on port 2 carrying a
// serial adapter and a keyboard; 1-3 is caught before it has a device number.
TEST(UsbDevicesTable, OneRowPerDeviceFromSysfs) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM usb_devices");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{
                "1|3|SanDisk|0781|0100|Ultra Fit|5583|4C530001231219117155|0|0|0|1|1-1|8/6/80|1",
                // No manufacturer or serial string.
                "1|2||05e3|6067|USB2.0 Hub|0608||9|0|2|0|1-2|9/0/0|0",
                "1|4|FTDI|0403|0600|FT232R USB UART|6001|A50285BI|0|0|0|1|1-2.1|255/255/255|0",
                "1|5|Logitech|046d|6400|USB Keyboard|c31c||0|0|0|1|1-2.2|3/1/1 3/0/0|0",
                "1|1|Linux 6.1.0-18-amd64 xhci-hcd|1d6b|0601|xHCI Host Controller|0002|"
                "0000:00:14.0|9|0|1|-1|usb1|9/0/0|0",
            }));
  EXPECT_EQ(result->warnings,
            Rows{"usb_devices: /sys/bus/usb/devices/1-3: no bus or device number (busnum, "
                 "devnum)"});
}

TEST(UsbDevicesTable, MassStorageByInterface) {
  // The stick's device class is 0: only its interface says mass storage.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT vendor, model, serial, class FROM usb_devices WHERE storage = 1"),
            Rows{"SanDisk|Ultra Fit|4C530001231219117155|0"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT port_path FROM usb_devices WHERE class = '9' ORDER BY port_path"),
            (Rows{"1-2", "usb1"}));
}

TEST(UsbDevicesTable, NoUsbMeansNoRows) {
  TempDir root;
  root.MakeDir("sys/bus");
  auto result = RunSql(root.path(), "SELECT * FROM usb_devices");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->rows.empty());
  EXPECT_TRUE(result->warnings.empty());
}

// This machine: the devices lsusb lists (bus, device number, ids).
TEST(UsbDevicesTable, MatchesThisMachine) {
  std::error_code ec;
  auto result = RunSql("/", "SELECT usb_address, usb_port, vendor_id, model_id FROM usb_devices");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  if (!std::filesystem::exists("/sys/bus/usb/devices", ec)) {
    EXPECT_TRUE(result->rows.empty());
    EXPECT_TRUE(result->warnings.empty());
    GTEST_SKIP() << "no USB bus on this machine";
  }
  size_t devices = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/bus/usb/devices", ec)) {
    if (entry.path().filename().string().find(':') == std::string::npos) ++devices;
  }
  EXPECT_EQ(result->rows.size(), devices);
  if (!HaveCommand("lsusb")) return;
  Rows expected;
  std::istringstream in(CommandOutput("lsusb"));
  for (std::string line; std::getline(in, line);) {
    unsigned bus = 0, dev = 0;
    char vid[5] = {}, pid[5] = {};
    if (std::sscanf(line.c_str(), "Bus %u Device %u: ID %4s:%4s", &bus, &dev, vid, pid) == 4) {
      expected.push_back(std::to_string(bus) + "|" + std::to_string(dev) + "|" + vid + "|" + pid);
    }
  }
  Rows actual = RowsAsText(*result);
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace vigil::tables
