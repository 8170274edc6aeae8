#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::IsEmpty;
using vigil::testing::TempDir;

class FileModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.WriteFile("etc/passwd",
                   "root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/sh\n");
    dir_.WriteFile("etc/group", "root:x:0:\nshadow:x:42:\nops:x:1000:\n");
    dir_.WriteFile("etc/shadow", "root:*:19000:0:99999:7:::\n");
  }
  void Chmod(const std::string& relative, mode_t mode) {
    ASSERT_EQ(::chmod((dir_.path() + "/" + relative).c_str(), mode), 0);
  }
  Result<Plan> PlanFix(const std::string& path, const std::string& mode,
                       const packs::Params& extra = {}) {
    packs::Params args = extra;
    args["path"] = packs::Param::One(path);
    args["mode"] = packs::Param::One(mode);
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find("file.mode")->PlanFix(**host, args);
  }

  TempDir dir_;
};

TEST_F(FileModeTest, RemovesOnlyTheBitsBeyondTheMode) {
  Chmod("etc/shadow", 0664);
  auto plan = PlanFix("/etc/shadow", "0640");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/shadow");
  EXPECT_EQ(plan->files[0].mode, std::optional<mode_t>(0640));
  EXPECT_FALSE(plan->files[0].content.has_value());
  EXPECT_FALSE(plan->files[0].owner.has_value());

  // 0604 keeps the other-read bit only where it already was: 0664 & 0604 = 0604.
  auto odd = PlanFix("/etc/shadow", "604");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->files[0].mode, std::optional<mode_t>(0604));
}

TEST_F(FileModeTest, AStricterFileIsLeftAlone) {
  Chmod("etc/shadow", 0600);
  auto plan = PlanFix("/etc/shadow", "0640");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
}

TEST_F(FileModeTest, OwnerAndGroupAreSetByNameWhenTheyDiffer) {
  Chmod("etc/shadow", 0640);
  const bool owned_by_root = ::geteuid() == 0;
  auto plan =
      PlanFix("/etc/shadow", "0640",
              {{"owner", packs::Param::One("root")}, {"group", packs::Param::One("shadow")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_FALSE(plan->files[0].mode.has_value());
  // The temp file belongs to whoever runs the test: root's needs no owner change.
  EXPECT_EQ(plan->files[0].owner.has_value(), !owned_by_root);
  EXPECT_EQ(plan->files[0].group, std::optional<std::string>("shadow"));
}

TEST_F(FileModeTest, FollowsASymlinkToTheFile) {
  dir_.WriteFile("etc/real.conf", "x\n");
  Chmod("etc/real.conf", 0666);
  dir_.Symlink("real.conf", "etc/link.conf");
  auto plan = PlanFix("/etc/link.conf", "0644");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/real.conf");
  EXPECT_EQ(plan->files[0].mode, std::optional<mode_t>(0644));
}

TEST_F(FileModeTest, BadValuesAreErrorsNamingThem) {
  EXPECT_EQ(PlanFix("/etc/shadow", "99x").status(),
            Status::InvalidArgument("file.mode: mode '99x' is not an octal mode such as 0640"));
  EXPECT_EQ(PlanFix("/etc/shadow", "17777").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanFix("etc/shadow", "0640").status(),
            Status::InvalidArgument("file.mode: path 'etc/shadow' is not an absolute path"));
  EXPECT_EQ(PlanFix("/etc/shadow", "0640", {{"owner", packs::Param::One("nobody9")}}).status(),
            Status::InvalidArgument("file.mode: owner 'nobody9' is not a user in /etc/passwd"));
  EXPECT_EQ(PlanFix("/etc/shadow", "0640", {{"group", packs::Param::One("wheel")}}).status(),
            Status::InvalidArgument("file.mode: group 'wheel' is not a group in /etc/group"));
  EXPECT_EQ(PlanFix("/etc/missing", "0640").status(),
            Status::NotFound("file.mode: path '/etc/missing' does not exist"));
}

}  // namespace
}  // namespace vigil::enforcers
