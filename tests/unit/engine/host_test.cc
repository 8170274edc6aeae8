#include "engine/host.h"

#include <gtest/gtest.h>

#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using testing::TempDir;

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.WriteFile("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    dir_.WriteFile("etc/ssh/sshd_config", "PermitRootLogin no\n");
    dir_.Symlink("/etc/ssh", "etc/ssh-absolute");       // absolute: must stay in the root
    dir_.Symlink("../etc/passwd", "var/passwd-rel");    // relative
    dir_.Symlink("/../../../../etc/passwd", "var/escape");  // tries to climb out
    dir_.Symlink("loop-b", "var/loop-a");
    dir_.Symlink("loop-a", "var/loop-b");
    auto host = Host::Open(dir_.path());
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = std::move(host).value();
  }

  TempDir dir_;
  std::unique_ptr<Host> host_;
};

TEST_F(HostTest, ReadsFilesUnderTheRoot) {
  auto content = host_->ReadFile("/etc/passwd");
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  EXPECT_EQ(*content, "root:x:0:0:root:/root:/bin/bash\n");
}

TEST_F(HostTest, DotDotCannotClimbAboveTheRoot) {
  auto canonical = host_->Canonical("/../../../etc/passwd");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, "/etc/passwd");
  auto content = host_->ReadFile("/../../../etc/passwd");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "root:x:0:0:root:/root:/bin/bash\n");  // the fixture's, not the machine's
  EXPECT_FALSE(host_->ReadFile("/../../../etc/shadow").ok());
}

TEST_F(HostTest, AbsoluteSymlinksResolveInsideTheRoot) {
  auto canonical = host_->Canonical("/etc/ssh-absolute/sshd_config");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, "/etc/ssh/sshd_config");
  auto real = host_->RealPath("/etc/ssh-absolute/sshd_config");
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(*real, host_->root() + "/etc/ssh/sshd_config");
}

TEST_F(HostTest, SymlinksClimbingOutStayInside) {
  EXPECT_EQ(*host_->Canonical("/var/passwd-rel"), "/etc/passwd");
  EXPECT_EQ(*host_->Canonical("/var/escape"), "/etc/passwd");
  auto content = host_->ReadFile("/var/escape");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "root:x:0:0:root:/root:/bin/bash\n");
}

TEST_F(HostTest, SymlinkLoopsAreAnError) {
  auto r = host_->Canonical("/var/loop-a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too many levels"), std::string::npos);
}

TEST_F(HostTest, LstatSeesTheLinkAndStatItsTarget) {
  auto l = host_->Lstat("/var/passwd-rel");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(S_ISLNK(l->st_mode));
  auto s = host_->Stat("/var/passwd-rel");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(S_ISREG(s->st_mode));
  EXPECT_EQ(*host_->ReadLink("/var/passwd-rel"), "../etc/passwd");
}

TEST_F(HostTest, MissingFilesAreNotFound) {
  auto r = host_->ReadFile("/etc/nothing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/etc/nothing"), std::string::npos);
}

TEST_F(HostTest, RelativePathsAreRefused) {
  auto r = host_->ReadFile("etc/passwd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HostTest, ReadFileHonoursItsLimit) {
  auto r = host_->ReadFile("/etc/passwd", 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST_F(HostTest, ListsAndGlobs) {
  dir_.WriteFile("etc/sysctl.d/10-a.conf", "");
  dir_.WriteFile("etc/sysctl.d/20-b.conf", "");
  dir_.WriteFile("etc/sysctl.d/README", "");
  auto entries = host_->ListDirectory("/etc/sysctl.d");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "10-a.conf");
  EXPECT_EQ((*entries)[0].type, FileType::kRegular);
  auto matches = host_->Glob("/etc/sysctl.d/*.conf");
  ASSERT_TRUE(matches.ok());
  EXPECT_EQ(*matches, (std::vector<std::string>{"/etc/sysctl.d/10-a.conf",
                                                 "/etc/sysctl.d/20-b.conf"}));
  auto through_link = host_->Glob("/etc/ssh-absolute/*");
  ASSERT_TRUE(through_link.ok());
  EXPECT_EQ(*through_link, (std::vector<std::string>{"/etc/ssh-absolute/sshd_config"}));
}

TEST(HostOpenTest, RootMustBeAnExistingDirectory) {
  EXPECT_EQ(Host::Open("/nonexistent/vigil-root").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Host::Open("/etc/hostname").status().code(), StatusCode::kInvalidArgument);
  auto machine = Host::Open("/");
  ASSERT_TRUE(machine.ok());
  EXPECT_TRUE((*machine)->is_machine_root());
}

TEST(PathTest, JoinParentBase) {
  EXPECT_EQ(JoinPath("/etc", "passwd"), "/etc/passwd");
  EXPECT_EQ(JoinPath("/", "etc"), "/etc");
  EXPECT_EQ(ParentPath("/etc/ssh/sshd_config"), "/etc/ssh");
  EXPECT_EQ(ParentPath("/etc"), "/");
  EXPECT_EQ(BaseName("/etc/ssh/sshd_config"), "sshd_config");
}

}  // namespace
}  // namespace vigil
