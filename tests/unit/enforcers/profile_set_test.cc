#include <gtest/gtest.h>

#include <string>

#include "enforcers/builtin.h"
#include "enforcers/overlay_host.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using vigil::testing::TempDir;

Result<Plan> PlanFix(const TempDir& dir, packs::Params args) {
  auto host = Host::Open(dir.path());
  EXPECT_TRUE(host.ok());
  auto plan = ActionRegistry::Builtin().Find("profile.set")->PlanFix(**host, args);
  if (plan.ok()) {
    OverlayHost overlay(**host);
    for (const FileEdit& edit : plan->files) EXPECT_TRUE(overlay.Apply(edit).ok());
    auto again = ActionRegistry::Builtin().Find("profile.set")->PlanFix(overlay, args);
    EXPECT_TRUE(again.ok() && again->empty());
  }
  return plan;
}

packs::Params Args(const std::string& name, const std::string& value) {
  return {{"name", packs::Param::One(name)}, {"value", packs::Param::One(value)}};
}

TEST(ProfileSet, WritesAReadOnlyExportedVariableInItsOwnFile) {
  TempDir dir;
  auto plan = PlanFix(dir, Args("TMOUT", "900"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/profile.d/90-vigil-tmout.sh");
  EXPECT_EQ(*plan->files[0].content, "TMOUT=900\nreadonly TMOUT\nexport TMOUT\n");
}

TEST(ProfileSet, ReplacesTheVariablesLinesAndKeepsTheRest) {
  TempDir dir;
  dir.WriteFile("etc/profile.d/site.sh",
                "# site\nexport TMOUT=300\nUMASK_NOTE=1\necho TMOUT\nreadonly TMOUT\n");
  packs::Params args = Args("TMOUT", "600");
  args["file"] = packs::Param::One("/etc/profile.d/site.sh");
  args["readonly"] = packs::Param::One("false");
  auto plan = PlanFix(dir, args);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content, "# site\nUMASK_NOTE=1\necho TMOUT\nTMOUT=600\nexport TMOUT\n");
}

TEST(ProfileSet, QuotesValuesTheShellWouldSplit) {
  TempDir dir;
  auto plan = PlanFix(dir, Args("GREETING", "it's here"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(*plan->files[0].content,
            "GREETING='it'\\''s here'\nreadonly GREETING\nexport GREETING\n");
}

TEST(ProfileSet, BadValuesAreErrors) {
  TempDir dir;
  EXPECT_EQ(PlanFix(dir, Args("1TMOUT", "1")).status(),
            Status::InvalidArgument("profile.set: name '1TMOUT' is not a shell variable name"));
  packs::Params args = Args("TMOUT", "900");
  args["readonly"] = packs::Param::One("yes");
  EXPECT_EQ(PlanFix(dir, args).status(),
            Status::InvalidArgument("profile.set: readonly 'yes' is not true or false"));
  EXPECT_EQ(PlanFix(dir, Args("TMOUT", "9\n00")).status(),
            Status::InvalidArgument("profile.set: value '9 00' must be one line"));
}

}  // namespace
}  // namespace vigil::enforcers
