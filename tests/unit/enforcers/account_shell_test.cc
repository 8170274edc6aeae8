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

class AccountShellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.WriteFile("etc/passwd",
                   "root:x:0:0:root:/root:/bin/bash\n"
                   "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                   "www-data:x:33:33:www-data:/var/www:/bin/sh\n"
                   "trailing:x:1002:1002::/home/t:/bin/bash");
    dir_.WriteFile("usr/sbin/nologin", "");
  }
  Result<Plan> PlanFix(const packs::Params& args) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find("account.shell")->PlanFix(**host, args);
  }

  TempDir dir_;
};

TEST_F(AccountShellTest, SetsNologinByDefaultKeepingTheOtherLines) {
  auto plan = PlanFix({{"user", packs::Param::One("www-data")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/passwd");
  EXPECT_EQ(*plan->files[0].content,
            "root:x:0:0:root:/root:/bin/bash\n"
            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
            "trailing:x:1002:1002::/home/t:/bin/bash");
  EXPECT_THAT(plan->notes, IsEmpty());
}

TEST_F(AccountShellTest, GivenShellAndCompliance) {
  auto plan = PlanFix(
      {{"user", packs::Param::One("trailing")}, {"shell", packs::Param::One("/bin/false")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_THAT(*plan->files[0].content, HasSubstr("trailing:x:1002:1002::/home/t:/bin/false"));
  EXPECT_THAT(plan->notes, ElementsAre("/bin/false does not exist on this host"));
  auto done = PlanFix({{"user", packs::Param::One("daemon")}});
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->empty());
}

TEST_F(AccountShellTest, RefusesRoot) {
  auto plan = PlanFix({{"user", packs::Param::One("root")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->refused.has_value());
  EXPECT_TRUE(plan->files.empty());
}

TEST_F(AccountShellTest, BadValuesAreErrors) {
  EXPECT_EQ(
      PlanFix({{"user", packs::Param::One("www-data")}, {"shell", packs::Param::One("nologin")}})
          .status(),
      Status::InvalidArgument("account.shell: shell 'nologin' is not an absolute path"));
  EXPECT_EQ(PlanFix({{"user", packs::Param::One("ghost")}}).status(),
            Status::NotFound("account.shell: user 'ghost' is not in /etc/passwd"));
}

}  // namespace
}  // namespace vigil::enforcers
