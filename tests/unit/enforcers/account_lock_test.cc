#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::HasSubstr;
using vigil::testing::TempDir;

class AccountLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.WriteFile("etc/passwd",
                   "root:x:0:0:root:/root:/bin/bash\n"
                   "toor:x:0:0::/root:/bin/sh\n"
                   "guest:x:1001:1001::/home/guest:/bin/bash\n");
    dir_.WriteFile("etc/shadow",
                   "root:$y$j9T$abc:19000:0:99999:7:::\n"
                   "guest:$y$j9T$def:19000:0:99999:7:::\n"
                   "old:!$y$j9T$ghi:19000:0:99999:7:::\n");
  }
  Result<Plan> PlanFix(const std::string& user) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin()
        .Find("account.lock")
        ->PlanFix(**host, {{"user", packs::Param::One(user)}});
  }

  TempDir dir_;
};

TEST_F(AccountLockTest, PutsABangInFrontOfTheHash) {
  auto plan = PlanFix("guest");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/shadow");
  EXPECT_EQ(*plan->files[0].content,
            "root:$y$j9T$abc:19000:0:99999:7:::\n"
            "guest:!$y$j9T$def:19000:0:99999:7:::\n"
            "old:!$y$j9T$ghi:19000:0:99999:7:::\n");
  EXPECT_FALSE(plan->files[0].mode.has_value());  // /etc/shadow keeps its mode
}

TEST_F(AccountLockTest, ALockedAccountIsCompliant) {
  auto plan = PlanFix("old");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
}

TEST_F(AccountLockTest, RefusesRootAndEveryUid0Account) {
  for (const char* user : {"root", "toor"}) {
    auto plan = PlanFix(user);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_TRUE(plan->refused.has_value()) << user;
    EXPECT_THAT(*plan->refused, HasSubstr("uid 0"));
    EXPECT_TRUE(plan->files.empty());
  }
}

TEST_F(AccountLockTest, UnknownOrMalformedUserIsAnError) {
  EXPECT_EQ(PlanFix("nobody9").status(),
            Status::NotFound("account.lock: user 'nobody9' is not in /etc/shadow"));
  EXPECT_EQ(PlanFix("a:b").status(),
            Status::InvalidArgument("account.lock: user 'a:b' is not a user name"));
}

}  // namespace
}  // namespace vigil::enforcers
