#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
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

// findmnt -r writes unsafe characters as \xHH.
std::string DecodeHex(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
      out +=
          static_cast<char>(std::strtol(std::string(text.substr(i + 2, 2)).c_str(), nullptr, 16));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

TEST(MountsTable, ParsesProcMounts) {
  auto result =
      RunSql(FixtureRoot("debian12"), "SELECT device, device_alias, path, type, flags FROM mounts");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(
      RowsAsText(*result),
      (Rows{
          "sysfs|sysfs|/sys|sysfs|rw,nosuid,nodev,noexec,relatime",
          "proc|proc|/proc|proc|rw,nosuid,nodev,noexec,relatime",
          "udev|udev|/dev|devtmpfs|rw,nosuid,relatime,size=4012344k,nr_inodes=1003086,mode=755,"
          "inode64",
          "devpts|devpts|/dev/pts|devpts|rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000",
          "tmpfs|tmpfs|/run|tmpfs|rw,nosuid,nodev,noexec,relatime,size=804880k,mode=755,inode64",
          // Symlinks resolved inside the root.
          "/dev/mapper/vg0-root|/dev/dm-0|/|ext4|rw,relatime,errors=remount-ro",
          "securityfs|securityfs|/sys/kernel/security|securityfs|rw,nosuid,nodev,noexec,relatime",
          "cgroup2|cgroup2|/sys/fs/cgroup|cgroup2|rw,nosuid,nodev,noexec,relatime,nsdelegate,"
          "memory_recursiveprot",
          "systemd-1|systemd-1|/proc/sys/fs/binfmt_misc|autofs|rw,relatime,fd=30,pgrp=1,"
          "timeout=0,minproto=5,maxproto=5,direct,pipe_ino=15721",
          "/dev/sda1|/dev/sda1|/boot|ext2|rw,relatime",
          "/dev/disk/by-uuid/5A1C-2B3D|/dev/sda2|/boot/efi|vfat|rw,relatime,fmask=0077,"
          "dmask=0077,codepage=437,iocharset=ascii,shortname=mixed,utf8,errors=remount-ro",
          "tmpfs|tmpfs|/tmp|tmpfs|rw,nosuid,nodev,noexec,relatime,inode64",
          "historian-nas:/export/archive|historian-nas:/export/archive|/mnt/archive|nfs4|"
          "rw,relatime,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,"
          "retrans=2,sec=sys,clientaddr=192.0.2.21,local_lock=none,addr=192.0.2.10",
          // \040 in /proc/mounts is a space.
          "/dev/sdb1|/dev/sdb1|/media/historian/USB STICK|vfat|rw,nosuid,nodev,relatime,"
          "uid=1000,gid=1000,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,"
          "showexec,utf8,flush,errors=remount-ro,uhelper=udisks2",
      }));
  EXPECT_EQ(result->warnings,
            Rows{"mounts: /proc/mounts:15: expected 'device path type options dump pass'"});
}

TEST(MountsTable, CountsAreNullForAnotherRoot) {
  // statvfs() of the fixture's directories would describe the file system the fixture is on.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path, blocks_size, blocks, blocks_free, blocks_available, inodes, "
                  "inodes_free FROM mounts WHERE path IN ('/', '/boot')"),
            (Rows{"/|NULL|NULL|NULL|NULL|NULL|NULL", "/boot|NULL|NULL|NULL|NULL|NULL|NULL"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path FROM mounts WHERE type IN ('nfs4', 'vfat') ORDER BY path"),
            (Rows{"/boot/efi", "/media/historian/USB STICK", "/mnt/archive"}));
}

TEST(MountsTable, MissingProcMountsMeansNoRows) {
  TempDir root;
  auto result = RunSql(root.path(), "SELECT * FROM mounts");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->rows.empty());
  EXPECT_TRUE(result->warnings.empty());
}

// This machine: the same mount points and types as findmnt, and the root file system's size
// as stat -f reports it.
TEST(MountsTable, MatchesFindmntOnThisMachine) {
  if (!HaveCommand("findmnt")) GTEST_SKIP() << "findmnt is not installed";
  Rows expected;
  std::istringstream in(CommandOutput("findmnt -rn -o TARGET,FSTYPE"));
  for (std::string line; std::getline(in, line);) {
    size_t space = line.find(' ');
    expected.push_back(DecodeHex(line.substr(0, space)) + "|" + line.substr(space + 1));
  }
  Rows actual = Query("/", "SELECT path, type FROM mounts");
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(actual, expected);

  std::string stat = CommandOutput("stat -f -c '%S|%b|%c' /");
  stat.erase(stat.find_last_not_of('\n') + 1);
  EXPECT_EQ(Query("/",
                  "SELECT blocks_size, blocks, inodes FROM mounts WHERE path = '/' "
                  "LIMIT 1"),
            Rows{stat});
  EXPECT_EQ(Query("/",
                  "SELECT min(blocks_free <= blocks AND blocks_available <= blocks_free "
                  "AND inodes_free <= inodes) FROM mounts WHERE path = '/'"),
            Rows{"1"});
}

}  // namespace
}  // namespace vigil::tables
