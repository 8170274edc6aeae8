#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using vigil::testing::TempDir;

class ModprobeBlockTest : public ::testing::Test {
 protected:
  Result<Plan> PlanFix(const std::string& module) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin()
        .Find("modprobe.block")
        ->PlanFix(**host, {{"module", packs::Param::One(module)}});
  }
  void Write(const Plan& plan) {
    for (const FileEdit& edit : plan.files) dir_.WriteFile(edit.path.substr(1), *edit.content);
  }

  TempDir dir_;
};

TEST_F(ModprobeBlockTest, AddsInstallAndBlacklistLinesThenIsCompliant) {
  auto plan = PlanFix("usb-storage");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/modprobe.d/vigil-block.conf");
  EXPECT_EQ(*plan->files[0].content, "install usb-storage /bin/false\nblacklist usb-storage\n");
  EXPECT_THAT(plan->commands, IsEmpty());
  Write(*plan);
  auto again = PlanFix("usb_storage");  // '-' and '_' name the same module
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());

  auto second = PlanFix("cramfs");
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->files.size(), 1u);
  EXPECT_EQ(*second->files[0].content,
            "install usb-storage /bin/false\nblacklist usb-storage\n"
            "install cramfs /bin/false\nblacklist cramfs\n");
}

TEST_F(ModprobeBlockTest, ReplacesAnotherInstallCommandAndNotesALoadedModule) {
  dir_.WriteFile("etc/modprobe.d/vigil-block.conf",
                 "# blocked\nblacklist dccp\ninstall dccp /sbin/modprobe --ignore-install dccp");
  dir_.WriteFile("proc/modules", "dccp 40960 0 - Live 0x0\next4 999 1 - Live 0x0\n");
  auto plan = PlanFix("dccp");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content, "# blocked\nblacklist dccp\ninstall dccp /bin/false");
  EXPECT_THAT(plan->notes, ElementsAre(HasSubstr("dccp is loaded now")));
}

TEST_F(ModprobeBlockTest, BadNameIsAnError) {
  EXPECT_EQ(
      PlanFix("usb storage").status(),
      Status::InvalidArgument("modprobe.block: module 'usb storage' is not a kernel module name"));
  EXPECT_EQ(PlanFix("").status(), Status::InvalidArgument("modprobe.block: module '' is empty"));
}

}  // namespace
}  // namespace vigil::enforcers
