// The `file` table: what stat() says about the paths a statement names.
//
// Symlinks: like osquery, a row describes what the path leads to. The path is lstat()ed to set
// `symlink`; a link is then followed (inside the host root) and every other column describes
// the target, so `type` is the target's type and `mode` the target's permissions, which is
// what a process opening the path gets. A link whose target cannot be reached (dangling, a
// loop, no permission) is described by the link itself, with type "symlink".
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/path_pattern.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the list in FileSchema().
enum FileColumn : int {
  kPath, kDirectory, kFilename, kInode, kUid, kGid, kMode, kDevice, kSize, kBlockSize,
  kAtime, kMtime, kCtime, kBtime, kHardLinks, kSymlink, kType, kColumnCount
};

Schema FileSchema() {
  constexpr uint32_t kInput = kRequired | kIndex;
  return Schema{
      "file",
      "Metadata of files and directories, from stat(); symlinks are followed inside the host "
      "root. Needs a constraint on path or directory: '=' and IN name paths; LIKE ('%' within "
      "one path component, '_' one character, '%%' at the end for every level below) and GLOB "
      "expand patterns; directory lists the entries directly inside it.",
      {
          {"path", ColumnType::kText, "Absolute path of the file, as named or expanded",
           kInput},
          {"directory", ColumnType::kText,
           "Directory holding the file: the constrained directory as written, or the parent "
           "of the path",
           kInput},
          {"filename", ColumnType::kText, "Name of the file within its directory"},
          {"inode", ColumnType::kInteger, "Inode number"},
          {"uid", ColumnType::kInteger, "Owning user ID"},
          {"gid", ColumnType::kInteger, "Owning group ID"},
          {"mode", ColumnType::kText,
           "Permission bits in octal including setuid, setgid and sticky (\"0644\", \"4755\")"},
          {"device", ColumnType::kInteger,
           "Device number a character or block special file stands for; 0 for other files"},
          {"size", ColumnType::kInteger, "Size in bytes"},
          {"block_size", ColumnType::kInteger, "Preferred I/O block size of the file system"},
          {"atime", ColumnType::kInteger, "Last access time, UNIX seconds"},
          {"mtime", ColumnType::kInteger, "Last modification time, UNIX seconds"},
          {"ctime", ColumnType::kInteger, "Last status change time, UNIX seconds"},
          {"btime", ColumnType::kInteger,
           "Creation time, UNIX seconds; NULL, as stat() does not report it"},
          {"hard_links", ColumnType::kInteger, "Number of hard links"},
          {"symlink", ColumnType::kInteger,
           "1 when the path itself is a symbolic link (the other columns then describe its "
           "target), else 0"},
          {"type", ColumnType::kText,
           "regular, directory, character, block, fifo, socket, or symlink for a link whose "
           "target cannot be reached"},
      }};
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

class FileTable final : public Table {
 public:
  explicit FileTable(size_t max_paths) : schema_(FileSchema()), max_paths_(max_paths) {}

  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override;

 private:
  const Schema schema_;
  const size_t max_paths_;
};

Result<std::vector<Row>> FileTable::generate(const QueryContext& ctx) const {
  VIGIL_ASSIGN_OR_RETURN(auto candidates,
                         internal::ExpandPathConstraints(ctx, kPath, kDirectory, max_paths_));
  const Host& host = ctx.host();
  std::vector<Row> rows;
  rows.reserve(candidates.size());
  for (internal::PathCandidate& candidate : candidates) {
    VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
    auto link = host.Lstat(candidate.path);
    if (!link.ok()) {  // no row; only a path that exists but cannot be reached is news
      if (link.status().code() != StatusCode::kNotFound) ctx.Warn(link.status().message());
      continue;
    }
    const bool is_link = S_ISLNK(link->st_mode);
    struct stat st = *link;
    if (is_link) {
      auto target = host.Stat(candidate.path);
      if (target.ok()) st = *target;
    }

    Row row(kColumnCount);
    if (ctx.IsUsed(kFilename)) row[kFilename] = BaseName(candidate.path);
    row[kPath] = std::move(candidate.path);
    row[kDirectory] = std::move(candidate.directory);
    row[kInode] = static_cast<int64_t>(st.st_ino);
    row[kUid] = static_cast<int64_t>(st.st_uid);
    row[kGid] = static_cast<int64_t>(st.st_gid);
    if (ctx.IsUsed(kMode)) row[kMode] = ModeText(st.st_mode);
    row[kDevice] = static_cast<int64_t>(st.st_rdev);
    row[kSize] = static_cast<int64_t>(st.st_size);
    row[kBlockSize] = static_cast<int64_t>(st.st_blksize);
    row[kAtime] = static_cast<int64_t>(st.st_atim.tv_sec);
    row[kMtime] = static_cast<int64_t>(st.st_mtim.tv_sec);
    row[kCtime] = static_cast<int64_t>(st.st_ctim.tv_sec);
    row[kHardLinks] = static_cast<int64_t>(st.st_nlink);
    row[kSymlink] = is_link;
    if (ctx.IsUsed(kType)) row[kType] = FileTypeName(FileTypeFromMode(st.st_mode));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

// `max_paths` bounds the expansion of path patterns (tests lower it).
std::unique_ptr<Table> MakeFileTable(size_t max_paths) {
  return std::make_unique<FileTable>(max_paths);
}

std::unique_ptr<Table> MakeFileTable() {
  return MakeFileTable(internal::kDefaultMaxExpandedPaths);
}

}  // namespace vigil::tables
