// The `hash` table: MD5, SHA-1 and SHA-256 of the regular files a statement names.
//
// Only the digests whose columns the statement uses are computed, all in one pass over the
// file. A symlink is followed inside the host root and its target hashed. Files larger than
// kMaxHashedFileBytes, and files that cannot be read, get NULL digests instead of failing the
// whole statement: one unreadable file must not hide the others.
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/digest.h"
#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/path_pattern.h"

namespace vigil::tables {
namespace {

inline constexpr uint64_t kMaxHashedFileBytes = uint64_t{50} << 20;  // 50 MiB

// Column positions, in the order of the list in HashSchema().
enum HashColumn : int { kPath, kDirectory, kMd5, kSha1, kSha256, kColumnCount };

Schema HashSchema() {
  constexpr uint32_t kInput = kRequired | kIndex;
  return Schema{
      "hash",
      "Digests of regular files (symlinks followed inside the host root). Needs a constraint "
      "on path or directory, expanded as in the file table; other file types give no row.",
      {
          {"path", ColumnType::kText, "Absolute path of the file, as named or expanded",
           kInput},
          {"directory", ColumnType::kText,
           "Directory holding the file: the constrained directory as written, or the parent "
           "of the path",
           kInput},
          {"md5", ColumnType::kText,
           "MD5 of the content, lowercase hex; NULL when the file is larger than 50 MiB or "
           "cannot be read"},
          {"sha1", ColumnType::kText,
           "SHA-1 of the content, lowercase hex; NULL when the file is larger than 50 MiB or "
           "cannot be read"},
          {"sha256", ColumnType::kText,
           "SHA-256 of the content, lowercase hex; NULL when the file is larger than 50 MiB or "
           "cannot be read"},
      }};
}

struct DigestColumn {
  int column;
  Digest::Algorithm algorithm;
};

constexpr DigestColumn kDigestColumns[] = {
    {kMd5, Digest::Algorithm::kMd5},
    {kSha1, Digest::Algorithm::kSha1},
    {kSha256, Digest::Algorithm::kSha256},
};

class HashTable final : public Table {
 public:
  HashTable(size_t max_paths, uint64_t max_file_bytes)
      : schema_(HashSchema()), max_paths_(max_paths), max_file_bytes_(max_file_bytes) {}

  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override;

 private:
  // Fills the used digest columns of `row`. Returns NotFound when the file vanished, and a
  // deadline error; other failures leave the digests NULL with a warning.
  Status HashInto(const QueryContext& ctx, const std::string& path, uint64_t size,
                  Row& row) const;

  const Schema schema_;
  const size_t max_paths_;
  const uint64_t max_file_bytes_;
};

Status HashTable::HashInto(const QueryContext& ctx, const std::string& path, uint64_t size,
                           Row& row) const {
  std::vector<std::pair<int, std::unique_ptr<Digest>>> digests;
  for (const DigestColumn& d : kDigestColumns) {
    if (!ctx.IsUsed(d.column)) continue;
    digests.emplace_back(d.column, std::make_unique<Digest>(d.algorithm));
  }
  if (digests.empty()) return Status::Ok();
  if (size > max_file_bytes_) {
    ctx.Warn(path + " is larger than " + std::to_string(max_file_bytes_) +
             " bytes; its digests are left NULL");
    return Status::Ok();
  }

  // The cap is passed on too, so a file that grows while it is read still stops there.
  Status read = ctx.host().ReadChunks(path, max_file_bytes_, [&](std::string_view chunk) {
    for (auto& [column, digest] : digests) digest->Update(chunk);
    return ctx.CheckDeadline();
  });
  if (read.code() == StatusCode::kDeadlineExceeded || read.code() == StatusCode::kNotFound) {
    return read;
  }
  if (!read.ok()) {
    ctx.Warn(read.message() + "; its digests are left NULL");
    return Status::Ok();
  }
  for (auto& [column, digest] : digests) row[column] = digest->HexFinal();
  return Status::Ok();
}

Result<std::vector<Row>> HashTable::generate(const QueryContext& ctx) const {
  VIGIL_ASSIGN_OR_RETURN(auto candidates,
                         internal::ExpandPathConstraints(ctx, kPath, kDirectory, max_paths_));
  std::vector<Row> rows;
  for (internal::PathCandidate& candidate : candidates) {
    VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
    auto st = ctx.host().Stat(candidate.path);
    if (!st.ok() || !S_ISREG(st->st_mode)) continue;

    Row row(kColumnCount);
    Status hashed = HashInto(ctx, candidate.path, static_cast<uint64_t>(st->st_size), row);
    if (hashed.code() == StatusCode::kNotFound) continue;  // removed since the stat
    VIGIL_RETURN_IF_ERROR(hashed);
    row[kPath] = std::move(candidate.path);
    row[kDirectory] = std::move(candidate.directory);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

// `max_paths` bounds the expansion of path patterns, `max_file_bytes` the files hashed (tests
// lower both).
std::unique_ptr<Table> MakeHashTable(size_t max_paths, uint64_t max_file_bytes) {
  return std::make_unique<HashTable>(max_paths, max_file_bytes);
}

std::unique_ptr<Table> MakeHashTable() {
  return MakeHashTable(internal::kDefaultMaxExpandedPaths, kMaxHashedFileBytes);
}

}  // namespace vigil::tables
