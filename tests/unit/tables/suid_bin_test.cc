#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
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

Rows Lines(const std::string& text) {
  Rows lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A program file with the given mode and owner (git keeps neither the setuid bit nor owners,
// so the tree is built here).
void Program(const TempDir& root, const std::string& relative, mode_t mode, uid_t uid = 0,
             gid_t gid = 0) {
  root.WriteFile(relative, "#!/bin/sh\n");
  std::string path = root.path() + "/" + relative;
  ASSERT_EQ(::chown(path.c_str(), uid, gid), 0) << path;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

// A merged-/usr host: /bin and /sbin are links into /usr.
class SuidBinTree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "building the tree needs root (chown)";
    root_.WriteFile("etc/passwd",
                    "root:x:0:0:root:/root:/bin/bash\n"
                    "historian:x:1000:1000::/home/historian:/bin/bash\n");
    root_.WriteFile("etc/group", "root:x:0:\ntty:x:5:\nhistorian:x:1000:\n");
    Program(root_, "usr/bin/su", 04755);
    Program(root_, "usr/bin/wall", 02755, 0, 5);
    Program(root_, "usr/bin/both", 06755);
    Program(root_, "usr/bin/plain", 0755);
    Program(root_, "usr/bin/sub/nested", 04750, 1000, 4242);  // a group /etc/group lacks
    root_.Symlink("su", "usr/bin/su-link");
    Program(root_, "usr/sbin/unix_chkpwd", 02755, 0, 42);
    Program(root_, "usr/lib/openssh/ssh-keysign", 04755);
    Program(root_, "usr/libexec/helper", 04711);
    Program(root_, "usr/local/sbin/tool", 04755);
    root_.Symlink("../../lib", "usr/local/bin/linkdir");  // a link to a directory: not walked
    Program(root_, "tmp/.hidden/evil", 04777, 1000, 1000);
    Program(root_, "opt/vendor/bin/suid", 04755);  // not a searched directory
    root_.MakeDir("usr/lib/setgid-dir");
    std::string dir = root_.path() + "/usr/lib/setgid-dir";
    ASSERT_EQ(::chmod(dir.c_str(), 02775), 0);
    root_.Symlink("usr/bin", "bin");
    root_.Symlink("usr/sbin", "sbin");
  }

  TempDir root_;
};

TEST_F(SuidBinTree, FindsSetuidAndSetgidFilesOnce) {
  auto result = RunSql(root_.path(), "SELECT * FROM suid_bin ORDER BY path");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), (Rows{
                                     "/tmp/.hidden/evil|historian|historian|S|1000|1000|4777",
                                     "/usr/bin/both|root|root|SG|0|0|6755",
                                     "/usr/bin/su|root|root|S|0|0|4755",
                                     "/usr/bin/sub/nested|historian|4242|S|1000|4242|4750",
                                     "/usr/bin/wall|root|tty|G|0|5|2755",
                                     "/usr/lib/openssh/ssh-keysign|root|root|S|0|0|4755",
                                     "/usr/libexec/helper|root|root|S|0|0|4711",
                                     "/usr/local/sbin/tool|root|root|S|0|0|4755",
                                     "/usr/sbin/unix_chkpwd|root|42|G|0|42|2755",
                                 }));
  EXPECT_TRUE(result->warnings.empty());
}

TEST_F(SuidBinTree, PathConstraintsNarrowTheWalk) {
  EXPECT_EQ(
      Query(root_.path(), "SELECT path FROM suid_bin WHERE path LIKE '/USR/BIN/%' ORDER BY path"),
      (Rows{"/usr/bin/both", "/usr/bin/su", "/usr/bin/sub/nested", "/usr/bin/wall"}));
  EXPECT_EQ(
      Query(root_.path(), "SELECT path FROM suid_bin WHERE path GLOB '/usr/l*' ORDER BY path"),
      (Rows{"/usr/lib/openssh/ssh-keysign", "/usr/libexec/helper", "/usr/local/sbin/tool"}));
  EXPECT_EQ(Query(root_.path(),
                  "SELECT permissions FROM suid_bin WHERE path IN ('/usr/bin/wall', "
                  "'/usr/lib/openssh/ssh-keysign', '/bin/su', '/opt/vendor/bin/suid')"),
            (Rows{"G", "S"}));
}

TEST(SuidBinTable, SeparateBinDirectoriesAreWalkedEach) {
  if (::geteuid() != 0) GTEST_SKIP() << "building the tree needs root (chown)";
  TempDir root;
  Program(root, "bin/mount", 04755);
  Program(root, "usr/bin/mount", 04755);
  EXPECT_EQ(Query(root.path(), "SELECT path, username FROM suid_bin ORDER BY path"),
            (Rows{"/bin/mount|0", "/usr/bin/mount|0"}));  // no /etc/passwd: ids as text
}

// This machine's /usr/bin, compared with find(1).
TEST(SuidBinTable, MatchesFindOnThisMachine) {
  Rows expected = Lines(
      CommandOutput("find /usr/bin -type f -perm /6000 -printf '%p|%u|%g|%m\\n' | LC_ALL=C sort"));
  Rows actual = Query("/",
                      "SELECT path, username, groupname, ltrim(mode, '0') FROM suid_bin "
                      "WHERE path LIKE '/usr/bin/%'");
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace vigil::tables
