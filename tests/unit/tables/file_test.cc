#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
std::unique_ptr<Table> MakeFileTable(size_t max_paths);  // tables/file.cc
}  // namespace vigil::tables

namespace vigil {
namespace {

using ::vigil::testing::CommandOutput;
using ::vigil::testing::FixtureRoot;
using ::vigil::testing::RowsAsText;
using ::vigil::testing::RunSql;
using ::vigil::testing::TempDir;
using Rows = std::vector<std::string>;

// The rows of `sql` over the `files` fixture; fails the test on error.
Rows Query(std::string_view sql, const std::string& root = FixtureRoot("files")) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? RowsAsText(*result) : Rows{};
}

TEST(FileTableTest, PathEqualsDescribesThatFile) {
  EXPECT_EQ(Query("SELECT path, directory, filename, size, type, symlink, hard_links, btime "
                  "FROM file WHERE path = '/etc/app.conf'"),
            Rows{"/etc/app.conf|/etc|app.conf|29|regular|0|1|NULL"});
}

TEST(FileTableTest, SelectStarHasOsqueryColumnsInOrder) {
  auto result = RunSql(FixtureRoot("files"), "SELECT * FROM file WHERE path = '/etc/net.conf'");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->columns,
            (Rows{"path", "directory", "filename", "inode", "uid", "gid", "mode", "device", "size",
                  "block_size", "atime", "mtime", "ctime", "btime", "hard_links", "symlink",
                  "type"}));
  ASSERT_EQ(result->rows.size(), 1u);
  EXPECT_EQ(result->rows[0][8], Value(17));  // size
}

TEST(FileTableTest, PathInListsEachExistingPath) {
  EXPECT_EQ(Query("SELECT path, size FROM file WHERE path IN "
                  "('/etc/net.conf', '/etc/app.conf', '/etc/missing') ORDER BY path"),
            (Rows{"/etc/app.conf|29", "/etc/net.conf|17"}));
}

TEST(FileTableTest, MissingPathGivesNoRows) {
  EXPECT_EQ(Query("SELECT path FROM file WHERE path = '/etc/missing'"), Rows{});
  EXPECT_EQ(Query("SELECT path FROM file WHERE path = 'etc/app.conf'"), Rows{});  // relative
}

TEST(FileTableTest, LikePercentMatchesOneLevelOnly) {
  EXPECT_EQ(Query("SELECT path FROM file WHERE path LIKE '/etc/%.conf' ORDER BY path"),
            (Rows{"/etc/app.conf", "/etc/net.conf"}));
  // A wildcard component ignores ASCII case, as LIKE does everywhere in SQL.
  EXPECT_EQ(Query("SELECT path FROM file WHERE path LIKE '/etc/A%.CONF'"), Rows{"/etc/app.conf"});
}

TEST(FileTableTest, DoublePercentRecursesIntoEveryLevel) {
  EXPECT_EQ(Query("SELECT path, type FROM file WHERE path LIKE '/etc/nested/%%' ORDER BY path"),
            (Rows{"/etc/nested/level1|directory", "/etc/nested/level1/level2|directory",
                  "/etc/nested/level1/level2/notes.txt|regular",
                  "/etc/nested/level1/level2/two.conf|regular",
                  "/etc/nested/level1/one.conf|regular"}));
  EXPECT_EQ(Query("SELECT count(*) FROM file WHERE path LIKE '/etc/%%' AND path LIKE '%.conf'"),
            Rows{"4"});
}

TEST(FileTableTest, RecursiveWildcardInTheMiddleIsAnError) {
  auto result = RunSql(FixtureRoot("files"),
                       "SELECT path FROM file WHERE path LIKE '/etc/%%/one.conf'");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("only allowed at the end"), std::string::npos)
      << result.status().message();
}

TEST(FileTableTest, GlobMatchesWithinOneComponent) {
  EXPECT_EQ(Query("SELECT path FROM file WHERE path GLOB '/etc/*.conf' ORDER BY path"),
            (Rows{"/etc/app.conf", "/etc/net.conf"}));
  EXPECT_EQ(Query("SELECT path FROM file WHERE path GLOB '/etc/[pr]*' ORDER BY path"),
            (Rows{"/etc/passwd", "/etc/readme.txt"}));
}

TEST(FileTableTest, DirectoryListsEntriesWithTheirSymlinkState) {
  EXPECT_EQ(Query("SELECT path, directory, filename, symlink, type FROM file "
                  "WHERE directory = '/etc/links' ORDER BY path"),
            (Rows{"/etc/links/absolute|/etc/links|absolute|1|regular",
                  "/etc/links/dangling|/etc/links|dangling|1|symlink",
                  "/etc/links/dir|/etc/links|dir|1|directory",
                  "/etc/links/escape|/etc/links|escape|1|symlink",
                  "/etc/links/relative|/etc/links|relative|1|regular"}));
}

TEST(FileTableTest, SymlinkRowsDescribeTheTargetInsideTheRoot) {
  // Both links lead to the fixture's /etc/app.conf (29 bytes); a dangling link is described by
  // the link itself, whose size is the length of its target text.
  EXPECT_EQ(Query("SELECT path, size, symlink FROM file WHERE path IN ('/etc/links/relative', "
                  "'/etc/links/absolute', '/etc/links/dangling') ORDER BY path"),
            (Rows{"/etc/links/absolute|29|1", "/etc/links/dangling|19|1",
                  "/etc/links/relative|29|1"}));
  EXPECT_EQ(Query("SELECT a.inode = b.inode FROM file a, file b "
                  "WHERE a.path = '/etc/links/absolute' AND b.path = '/etc/app.conf'"),
            Rows{"1"});
}

TEST(FileTableTest, PathEscapeAttemptStaysInsideTheRoot) {
  // The fixture's passwd is 41 bytes; whatever the machine's is, it must not be read.
  EXPECT_EQ(Query("SELECT path, directory, size FROM file WHERE path = '/../../etc/passwd'"),
            Rows{"/../../etc/passwd|/../../etc|41"});
  EXPECT_EQ(Query("SELECT path FROM file WHERE path = '/../../../etc/shadow'"), Rows{});
  // A link climbing out of the root lands on the root's /etc/hostname, which does not exist.
  EXPECT_EQ(Query("SELECT type FROM file WHERE path = '/etc/links/escape'"), Rows{"symlink"});
}

TEST(FileTableTest, ModeIsFourDigitOctalWithSpecialBits) {
  TempDir dir;
  const std::vector<std::pair<std::string, mode_t>> files = {
      {"plain", 0644}, {"secret", 0600}, {"setuid", 04755}, {"sticky", 01777}, {"none", 0}};
  for (const auto& [name, mode] : files) {
    dir.WriteFile(name, "x");
    ASSERT_EQ(::chmod((dir.path() + "/" + name).c_str(), mode), 0);
  }
  const std::string owner = "|" + std::to_string(::geteuid()) + "|" + std::to_string(::getegid());
  EXPECT_EQ(Query("SELECT filename, mode, uid, gid FROM file WHERE directory = '/' "
                  "ORDER BY filename",
                  dir.path()),
            (Rows{"none|0000" + owner, "plain|0644" + owner, "secret|0600" + owner,
                  "setuid|4755" + owner, "sticky|1777" + owner}));
}

TEST(FileTableTest, ExpansionBoundIsAnErrorNamingPatternAndLimit) {
  auto host = Host::Open(FixtureRoot("files"));
  ASSERT_TRUE(host.ok());
  TableRegistry registry;
  ASSERT_TRUE(registry.Add(tables::MakeFileTable(5)).ok());
  auto db = Database::Open(registry, **host);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto result = (*db)->Query("SELECT path FROM file WHERE path LIKE '/etc/%%'");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(result.status().message().find("path LIKE '/etc/%%'"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("more than 5 paths"), std::string::npos)
      << result.status().message();
  auto small = (*db)->Query("SELECT path FROM file WHERE path LIKE '/etc/%.conf'");
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->rows.size(), 2u);
}

// A host that cannot reach one path, as a non-root agent cannot reach /root/x.
class RefusingHost : public Host {
 public:
  RefusingHost(std::string root, std::string refused)
      : Host(std::move(root)), refused_(std::move(refused)) {}
  Result<struct stat> Lstat(std::string_view path) const override {
    if (path == refused_) return Status::PermissionDenied("lstat " + refused_ + ": denied");
    return Host::Lstat(path);
  }

 private:
  const std::string refused_;
};

TEST(FileTableTest, UnreachablePathIsAWarningNotAnError) {
  auto opened = Host::Open(FixtureRoot("files"));
  ASSERT_TRUE(opened.ok());
  RefusingHost host((*opened)->root(), "/etc/net.conf");
  TableRegistry registry;
  ASSERT_TRUE(registry.Add(tables::MakeFileTable(1000)).ok());
  auto db = Database::Open(registry, host);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto result = (*db)->Query("SELECT path FROM file WHERE path LIKE '/etc/%.conf'");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{"/etc/app.conf"});
  EXPECT_EQ(result->warnings, Rows{"file: lstat /etc/net.conf: denied"});
}

TEST(FileTableTest, NeedsAPathOrDirectoryConstraint) {
  auto result = RunSql(FixtureRoot("files"), "SELECT * FROM file");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("path"), std::string::npos)
      << result.status().message();
}

TEST(FileTableTest, MachineEtcPasswdMatchesStat) {
  ASSERT_EQ(::access("/etc/passwd", R_OK), 0) << "this machine has no /etc/passwd";
  std::string expected = CommandOutput("stat -c '%s|%a|%i|%u|%g|%h|%Y' /etc/passwd");
  ASSERT_FALSE(expected.empty());
  expected.pop_back();  // newline
  // stat prints the mode as plain octal ("644"); the table pads it to four digits.
  size_t bar1 = expected.find('|');
  size_t bar2 = expected.find('|', bar1 + 1);
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04lo",
                std::strtoul(expected.substr(bar1 + 1, bar2 - bar1 - 1).c_str(), nullptr, 8));
  expected = expected.substr(0, bar1 + 1) + mode + expected.substr(bar2);
  EXPECT_EQ(Query("SELECT size, mode, inode, uid, gid, hard_links, mtime FROM file "
                  "WHERE path = '/etc/passwd'",
                  "/"),
            Rows{expected});
}

TEST(FileTableTest, MachineRootSymlinkIsFollowed) {
  TempDir dir;
  dir.WriteFile("target", "twelve bytes");
  dir.Symlink(dir.path() + "/target", "link");
  EXPECT_EQ(Query("SELECT size, symlink, type FROM file WHERE path = '" + dir.path() + "/link'",
                  "/"),
            Rows{"12|1|regular"});
}

}  // namespace
}  // namespace vigil
