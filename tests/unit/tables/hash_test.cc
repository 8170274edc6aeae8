#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tables/internal/path_pattern.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
// tables/hash.cc
std::unique_ptr<Table> MakeHashTable();
std::unique_ptr<Table> MakeHashTable(size_t max_paths, uint64_t max_file_bytes);
}  // namespace vigil::tables

namespace vigil {
namespace {

using ::vigil::testing::CommandOutput;
using ::vigil::testing::FixtureRoot;
using ::vigil::testing::HaveCommand;
using ::vigil::testing::RowsAsText;
using ::vigil::testing::RunSql;
using ::vigil::testing::TempDir;
using Rows = std::vector<std::string>;

constexpr char kKnownMd5[] = "9e107d9d372bb6826bd81d3542a419d6";
constexpr char kKnownSha1[] = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
constexpr char kKnownSha256[] = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";

Rows Query(std::string_view sql, const std::string& root = FixtureRoot("files")) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

// A host over a real root that counts reads and refuses to read one path.
class CountingHost : public Host {
 public:
  explicit CountingHost(std::string root) : Host(std::move(root)) {}

  Status ReadChunks(std::string_view path, size_t max_bytes,
                    const std::function<Status(std::string_view)>& consume) const override {
    ++reads;
    if (path == refused) return Status::PermissionDenied("open " + std::string(path));
    return Host::ReadChunks(path, max_bytes, consume);
  }

  mutable int reads = 0;
  std::string refused;
};

std::unique_ptr<CountingHost> OpenCountingHost(const std::string& root) {
  auto host = Host::Open(root);
  EXPECT_TRUE(host.ok()) << host.status().ToString();
  return std::make_unique<CountingHost>(host.ok() ? (*host)->root() : root);
}

// Runs `sql` with `table` as the only table.
Result<QueryResult> QueryTable(std::unique_ptr<Table> table, const Host& host,
                               std::string_view sql) {
  TableRegistry registry;
  VIGIL_RETURN_IF_ERROR(registry.Add(std::move(table)));
  VIGIL_ASSIGN_OR_RETURN(auto db, Database::Open(registry, host));
  return db->Query(sql);
}

// The first word of a `*sum` tool's output.
std::string SumOf(const std::string& tool, const std::string& file) {
  std::string out = CommandOutput(tool + " '" + file + "'");
  return out.substr(0, out.find(' '));
}

TEST(HashTableTest, KnownContentHasKnownDigests) {
  EXPECT_EQ(Query("SELECT path, directory, md5, sha1, sha256 FROM hash "
                  "WHERE path = '/data/known.txt'"),
            Rows{"/data/known.txt|/data|" + std::string(kKnownMd5) + "|" + kKnownSha1 + "|" +
                 kKnownSha256});
  EXPECT_EQ(Query("SELECT md5, sha1, sha256 FROM hash WHERE path = '/data/empty.txt'"),
            Rows{"d41d8cd98f00b204e9800998ecf8427e|da39a3ee5e6b4b0d3255bfef95601890afd80709|"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"});
}

TEST(HashTableTest, DigestsAgreeWithTheSumTools) {
  for (const char* tool : {"md5sum", "sha1sum", "sha256sum"}) {
    if (!HaveCommand(tool)) GTEST_SKIP() << tool << " is not installed";
  }
  const std::string root = FixtureRoot("files");
  auto result = RunSql(root, "SELECT path, md5, sha1, sha256 FROM hash WHERE path LIKE '/%%'");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::map<std::string, Row> by_path;
  for (const Row& row : result->rows) by_path[row[0].text()] = row;

  // One run of each tool over every regular file: "<digest>  ./etc/app.conf" per line.
  std::map<std::string, std::vector<std::string>> expected;  // path -> md5, sha1, sha256
  for (const char* tool : {"md5sum", "sha1sum", "sha256sum"}) {
    std::istringstream lines(
        CommandOutput("cd '" + root + "' && find . -type f -print0 | sort -z | xargs -0 " + tool));
    for (std::string line; std::getline(lines, line);) {
      size_t dot = line.find("  ./");
      ASSERT_NE(dot, std::string::npos) << line;
      expected[line.substr(dot + 3)].push_back(line.substr(0, dot));
    }
  }
  size_t checked = 0;
  for (const auto& [path, sums] : expected) {
    ASSERT_TRUE(by_path.contains(path)) << path;
    const Row& row = by_path[path];
    EXPECT_EQ((Rows{row[1].ToString(), row[2].ToString(), row[3].ToString()}), sums) << path;
    ++checked;
  }
  EXPECT_EQ(checked, 9u);
  // The two links to regular files are hashed as their target; other links give no row.
  EXPECT_EQ(by_path.size(), checked + 2);
  for (const char* link : {"/etc/links/absolute", "/etc/links/relative"}) {
    ASSERT_TRUE(by_path.contains(link)) << link;
    EXPECT_EQ(by_path[link][3], by_path["/etc/app.conf"][3]) << link;
  }
}

TEST(HashTableTest, DirectoryHashesRegularFilesOnly) {
  EXPECT_EQ(Query("SELECT path, directory FROM hash WHERE directory = '/etc/links' "
                  "ORDER BY path"),
            (Rows{"/etc/links/absolute|/etc/links", "/etc/links/relative|/etc/links"}));
  EXPECT_EQ(Query("SELECT path FROM hash WHERE path IN ('/etc', '/etc/links/dir', '/missing')"),
            Rows{});
}

TEST(HashTableTest, OnlyUsedDigestsAreComputed) {
  auto host = OpenCountingHost(FixtureRoot("files"));
  auto table = tables::MakeHashTable();
  QueryContext ctx(*host, table->schema());
  ctx.AddConstraint(0, Constraint{ConstraintOp::kEq, {"/data/known.txt"}});
  ctx.SetUsedColumns((uint64_t{1} << 0) | (uint64_t{1} << 3));  // path, sha1
  auto rows = table->generate(ctx);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE((*rows)[0][2].is_null());
  EXPECT_EQ((*rows)[0][3], Value(kKnownSha1));
  EXPECT_TRUE((*rows)[0][4].is_null());
  EXPECT_EQ(host->reads, 1);

  ctx.SetUsedColumns(uint64_t{1} << 0);  // path only: the file is not read at all
  ASSERT_TRUE(table->generate(ctx).ok());
  EXPECT_EQ(host->reads, 1);
}

TEST(HashTableTest, AllDigestsComeFromOneRead) {
  auto host = OpenCountingHost(FixtureRoot("files"));
  auto result = QueryTable(tables::MakeHashTable(), *host,
                           "SELECT md5, sha1, sha256 FROM hash WHERE path = '/data/known.txt'");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            Rows{std::string(kKnownMd5) + "|" + kKnownSha1 + "|" + kKnownSha256});
  EXPECT_EQ(host->reads, 1);

  auto paths = QueryTable(tables::MakeHashTable(), *host,
                          "SELECT path FROM hash WHERE directory = '/data' ORDER BY path");
  ASSERT_TRUE(paths.ok()) << paths.status().ToString();
  EXPECT_EQ(RowsAsText(*paths), (Rows{"/data/empty.txt", "/data/known.txt"}));
  EXPECT_EQ(host->reads, 1);
}

TEST(HashTableTest, UnreadableFileGetsNullDigests) {
  auto host = OpenCountingHost(FixtureRoot("files"));
  host->refused = "/data/known.txt";
  auto result = QueryTable(tables::MakeHashTable(), *host,
                           "SELECT path, md5, sha256 FROM hash WHERE directory = '/data' "
                           "ORDER BY path");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{"/data/empty.txt|d41d8cd98f00b204e9800998ecf8427e|"
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                  "/data/known.txt|NULL|NULL"}));
  EXPECT_EQ(result->warnings, Rows{"hash: open /data/known.txt; its digests are left NULL"});
}

TEST(HashTableTest, FilesOverTheCapGetNullDigests) {
  TempDir dir;
  dir.WriteFile("at_cap", std::string(1024, 'a'));
  dir.WriteFile("over_cap", std::string(1025, 'a'));
  auto host = OpenCountingHost(dir.path());
  auto table = tables::MakeHashTable(tables::internal::kDefaultMaxExpandedPaths, 1024);
  auto result = QueryTable(std::move(table), *host,
                           "SELECT path, sha256 FROM hash WHERE directory = '/' ORDER BY path");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result),
            (Rows{"/at_cap|" + SumOf("sha256sum", dir.path() + "/at_cap"), "/over_cap|NULL"}));
  EXPECT_EQ(host->reads, 1);  // the size alone rules the big one out
  EXPECT_EQ(result->warnings,
            Rows{"hash: /over_cap is larger than 1024 bytes; its digests are left NULL"});
}

TEST(HashTableTest, DefaultCapIsFiftyMebibytes) {
  TempDir dir;
  dir.WriteFile("exact", "");
  dir.WriteFile("over", "");
  // Sparse files: no disk space, real sizes.
  std::filesystem::resize_file(dir.path() + "/exact", uint64_t{50} << 20);
  std::filesystem::resize_file(dir.path() + "/over", (uint64_t{50} << 20) + 1);
  EXPECT_EQ(Query("SELECT path, sha256 FROM hash WHERE directory = '/' ORDER BY path",
                  dir.path()),
            (Rows{"/exact|" + SumOf("sha256sum", dir.path() + "/exact"), "/over|NULL"}));
}

TEST(HashTableTest, PathEscapeAttemptHashesTheRootsFile) {
  const std::string root = FixtureRoot("files");
  EXPECT_EQ(Query("SELECT sha256 FROM hash WHERE path = '/../../etc/passwd'"),
            Rows{SumOf("sha256sum", root + "/etc/passwd")});
  EXPECT_EQ(Query("SELECT sha256 FROM hash WHERE path = '/etc/links/escape'"), Rows{});
  EXPECT_EQ(Query("SELECT sha256 FROM hash WHERE path = '/../../../etc/shadow'"), Rows{});
}

TEST(HashTableTest, MachineEtcPasswdMatchesSha256sum) {
  if (!HaveCommand("sha256sum")) GTEST_SKIP() << "sha256sum is not installed";
  ASSERT_EQ(::access("/etc/passwd", R_OK), 0);
  EXPECT_EQ(Query("SELECT sha256 FROM hash WHERE path = '/etc/passwd'", "/"),
            Rows{SumOf("sha256sum", "/etc/passwd")});
}

}  // namespace
}  // namespace vigil
