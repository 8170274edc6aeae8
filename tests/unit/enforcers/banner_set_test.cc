#include <gtest/gtest.h>

#include <string>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using vigil::testing::TempDir;

Result<Plan> PlanFix(const TempDir& dir, const std::string& path, const std::string& text) {
  auto host = Host::Open(dir.path());
  EXPECT_TRUE(host.ok());
  return ActionRegistry::Builtin()
      .Find("banner.set")
      ->PlanFix(**host, {{"path", packs::Param::One(path)}, {"text", packs::Param::One(text)}});
}

TEST(BannerSet, WritesTheTextWithAFinalNewlineThenIsCompliant) {
  TempDir dir;
  dir.WriteFile("etc/issue.net", "Debian GNU/Linux 12\n");
  const std::string text = "Authorized use only.\nActivity is monitored.";
  auto plan = PlanFix(dir, "/etc/issue.net", text);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/issue.net");
  EXPECT_EQ(*plan->files[0].content, text + "\n");
  dir.WriteFile("etc/issue.net", text + "\n");
  auto again = PlanFix(dir, "/etc/issue.net", text);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(BannerSet, CreatesAMissingBanner) {
  TempDir dir;
  auto plan = PlanFix(dir, "/etc/issue", "Authorized use only.\n");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content, "Authorized use only.\n");
  EXPECT_EQ(plan->files[0].mode_if_new, 0644u);
}

TEST(BannerSet, BadValuesAreErrors) {
  TempDir dir;
  EXPECT_EQ(PlanFix(dir, "/etc/issue", " \n").status(),
            Status::InvalidArgument("banner.set: text '  ' is empty"));
  EXPECT_EQ(PlanFix(dir, "issue", "x").status(),
            Status::InvalidArgument("banner.set: path 'issue' is not an absolute path"));
}

}  // namespace
}  // namespace vigil::enforcers
