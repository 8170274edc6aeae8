// mounts: the file systems mounted on the host, from /proc/mounts, with their size and free
// space from statvfs() when the host is this machine.
#include <sys/statvfs.h>

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
enum MountsColumn : int {
  kDevice,
  kDeviceAlias,
  kPath,
  kType,
  kBlocksSize,
  kBlocks,
  kBlocksFree,
  kBlocksAvailable,
  kInodes,
  kInodesFree,
  kFlags,
  kColumnCount
};

constexpr std::string_view kStatvfsNote =
    "; from statvfs() of the mount point, only when the host is this machine (--root /): "
    "NULL for another root, for network and automount file systems, and when statvfs fails";

Schema MountsSchema() {
  auto counted = [](std::string_view what) {
    return std::string(what) + std::string(kStatvfsNote);
  };
  return Schema{
      "mounts",
      "Mounted file systems, from /proc/mounts, in mount order. Sizes come from statvfs() of "
      "the mount point, only when the host is this machine and only when the statement uses "
      "them. statvfs() is never called on network or on-demand file systems (nfs, nfs4, cifs, "
      "smb3, smbfs, ncpfs, afs, ceph, glusterfs, 9p, autofs, fuse.sshfs and other network "
      "FUSE types), where an unreachable server can block the caller indefinitely or the "
      "call itself would trigger a mount; their counts are NULL.",
      {
          {"device", ColumnType::kText,
           "Mounted device or source as the kernel reports it (/dev/sda1, tmpfs, "
           "server:/export)"},
          {"device_alias", ColumnType::kText,
           "The device with symlinks resolved inside the host root (/dev/mapper/vg-root -> "
           "/dev/dm-0); the device itself when it is not a path"},
          {"path", ColumnType::kText, "Mount point", kIndex},
          {"type", ColumnType::kText, "File system type (ext4, xfs, tmpfs, nfs4, ...)", kIndex},
          {"blocks_size", ColumnType::kInteger, counted("Size of a block in bytes (f_frsize)")},
          {"blocks", ColumnType::kInteger, counted("Size of the file system in blocks")},
          {"blocks_free", ColumnType::kInteger,
           counted("Free blocks, including those reserved for root")},
          {"blocks_available", ColumnType::kInteger,
           counted("Blocks available to unprivileged users")},
          {"inodes", ColumnType::kInteger, counted("Number of inodes")},
          {"inodes_free", ColumnType::kInteger, counted("Free inodes")},
          {"flags", ColumnType::kText, "Mount options, comma-separated (rw,nosuid,relatime)"},
      }};
}

constexpr std::string_view kProcMounts = "/proc/mounts";

// File systems where statvfs() may hang on a dead server or trigger an automount.
bool SkipStatvfs(std::string_view type) {
  static constexpr std::string_view kSkipped[] = {
      "nfs",
      "nfs4",
      "cifs",
      "smb3",
      "smbfs",
      "ncpfs",
      "afs",
      "ceph",
      "glusterfs",
      "9p",
      "autofs",
      "fuse.sshfs",
      "fuse.s3fs",
      "fuse.rclone",
      "fuse.glusterfs",
      "fuse.ceph-fuse",
      "fuse.davfs2",
      "davfs",
  };
  for (std::string_view skipped : kSkipped) {
    if (type == skipped) return true;
  }
  return false;
}

// /proc/mounts writes space, tab, newline and backslash as \040, \011, \012 and \134.
std::string Unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      std::optional<uint64_t> code = internal::ParseUint(field.substr(i + 1, 3), 8);
      if (code && *code < 256) {
        out += static_cast<char>(*code);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

class MountsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> text = internal::ReadOptionalFile(ctx, kProcMounts);
    if (!text) return rows;
    const bool want_counts =
        ctx.host().is_machine_root() &&
        (ctx.IsUsed(kBlocksSize) || ctx.IsUsed(kBlocks) || ctx.IsUsed(kBlocksFree) ||
         ctx.IsUsed(kBlocksAvailable) || ctx.IsUsed(kInodes) || ctx.IsUsed(kInodesFree));
    for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      if (internal::Trim(line.text).empty()) continue;
      // device path type options dump pass
      std::vector<std::string_view> f = internal::SplitWhitespace(line.text);
      if (f.size() < 4) {
        ctx.Warn(std::string(kProcMounts) + ":" + std::to_string(line.number) +
                 ": expected 'device path type options dump pass'");
        continue;
      }
      std::string path = Unescape(f[1]);
      std::string type = Unescape(f[2]);
      if (!ctx.Matches(kPath, Value(path)) || !ctx.Matches(kType, Value(type))) continue;

      Row row(kColumnCount);
      std::string device = Unescape(f[0]);
      if (ctx.IsUsed(kDeviceAlias)) row[kDeviceAlias] = Alias(ctx.host(), device);
      row[kDevice] = std::move(device);
      row[kFlags] = Unescape(f[3]);
      if (want_counts && !SkipStatvfs(type)) AddCounts(ctx.host(), path, row);
      row[kPath] = std::move(path);
      row[kType] = std::move(type);
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  static std::string Alias(const Host& host, const std::string& device) {
    if (device.empty() || device[0] != '/') return device;
    Result<std::string> canonical = host.Canonical(device);
    return canonical.ok() ? *canonical : device;
  }

  static void AddCounts(const Host& host, const std::string& path, Row& row) {
    Result<std::string> real = host.RealPath(path);
    if (!real.ok()) return;
    struct statvfs st;
    if (::statvfs(real->c_str(), &st) != 0) return;
    row[kBlocksSize] = static_cast<int64_t>(st.f_frsize);
    row[kBlocks] = static_cast<int64_t>(st.f_blocks);
    row[kBlocksFree] = static_cast<int64_t>(st.f_bfree);
    row[kBlocksAvailable] = static_cast<int64_t>(st.f_bavail);
    row[kInodes] = static_cast<int64_t>(st.f_files);
    row[kInodesFree] = static_cast<int64_t>(st.f_ffree);
  }

  const Schema schema_ = MountsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeMountsTable() { return std::make_unique<MountsTable>(); }

}  // namespace vigil::tables
