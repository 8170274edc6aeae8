#include <gtest/gtest.h>

#include <string>

#include "enforcers/builtin.h"
#include "enforcers/overlay_host.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using vigil::testing::TempDir;

packs::Params Args(const std::string& domain, const std::string& type, const std::string& item,
                   const std::string& value) {
  return {{"domain", packs::Param::One(domain)},
          {"type", packs::Param::One(type)},
          {"item", packs::Param::One(item)},
          {"value", packs::Param::One(value)}};
}

Result<Plan> PlanFix(const TempDir& dir, const packs::Params& args) {
  auto host = Host::Open(dir.path());
  EXPECT_TRUE(host.ok());
  auto plan = ActionRegistry::Builtin().Find("limits.set")->PlanFix(**host, args);
  if (plan.ok()) {
    OverlayHost overlay(**host);
    for (const FileEdit& edit : plan->files) EXPECT_TRUE(overlay.Apply(edit).ok());
    auto again = ActionRegistry::Builtin().Find("limits.set")->PlanFix(overlay, args);
    EXPECT_TRUE(again.ok() && again->empty());
  }
  return plan;
}

TEST(LimitsSet, AddsALineToItsOwnFileWhenNoneSetsIt) {
  TempDir dir;
  dir.WriteFile("etc/security/limits.conf", "#*               soft    core            0\n");
  auto plan = PlanFix(dir, Args("*", "hard", "core", "0"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/security/limits.d/90-vigil.conf");
  EXPECT_EQ(*plan->files[0].content, "* hard core 0\n");
}

TEST(LimitsSet, FixesEveryLineOfTheSameDomainTypeAndItemKeepingItsLayout) {
  TempDir dir;
  dir.WriteFile("etc/security/limits.conf",
                "*\t\thard\tcore\t\tunlimited  # dumps\n@ops soft nproc 10\n");
  dir.WriteFile("etc/security/limits.d/99-late.conf", "*  hard  core  100\n");
  auto plan = PlanFix(dir, Args("*", "hard", "core", "0"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 2u);
  EXPECT_EQ(*plan->files[0].content, "*\t\thard\tcore\t\t0  # dumps\n@ops soft nproc 10\n");
  EXPECT_EQ(plan->files[1].path, "/etc/security/limits.d/99-late.conf");
  EXPECT_EQ(*plan->files[1].content, "*  hard  core  0\n");

  auto done = PlanFix(dir, Args("@ops", "soft", "nproc", "10"));
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->empty());
}

TEST(LimitsSet, BadValuesAreErrors) {
  TempDir dir;
  EXPECT_EQ(PlanFix(dir, Args("*", "both", "core", "0")).status(),
            Status::InvalidArgument("limits.set: type 'both' is not soft, hard or -"));
  EXPECT_EQ(PlanFix(dir, Args("*", "hard", "cores", "0")).status(),
            Status::InvalidArgument("limits.set: item 'cores' is not a pam_limits item"));
  EXPECT_EQ(
      PlanFix(dir, Args("a b", "hard", "core", "0")).status(),
      Status::InvalidArgument("limits.set: domain 'a b' must not contain blanks, '=' or '#'"));
  EXPECT_EQ(PlanFix(dir, Args("*", "hard", "core", "0 1")).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::enforcers
