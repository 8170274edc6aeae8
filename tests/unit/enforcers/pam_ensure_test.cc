#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "enforcers/builtin.h"
#include "enforcers/overlay_host.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::HasSubstr;
using vigil::testing::TempDir;

packs::Params Args(const std::string& file, const std::string& type, const std::string& control,
                   const std::string& module, const std::vector<std::string>& arguments = {}) {
  packs::Params args = {{"file", packs::Param::One(file)},
                        {"type", packs::Param::One(type)},
                        {"control", packs::Param::One(control)},
                        {"module", packs::Param::One(module)}};
  if (!arguments.empty()) args["arguments"] = packs::Param{arguments, true};
  return args;
}

constexpr const char* kPassword =
    "# /etc/pam.d/common-password\n"
    "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n"
    "password\trequisite\t\t\tpam_deny.so\n"
    "password\trequired\t\t\tpam_permit.so\n";

constexpr const char* kAuth =
    "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
    "auth\trequisite\t\t\tpam_deny.so\n"
    "auth\trequired\t\t\tpam_permit.so\n"
    "@include common-extra\n";

class PamEnsureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* module :
         {"pam_unix.so", "pam_deny.so", "pam_permit.so", "pam_pwquality.so", "pam_faillock.so"}) {
      dir_.WriteFile(std::string("usr/lib/x86_64-linux-gnu/security/") + module, "");
    }
    dir_.WriteFile("etc/pam.d/common-password", kPassword);
    dir_.WriteFile("etc/pam.d/common-auth", kAuth);
  }
  Result<Plan> PlanFix(packs::Params args) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    auto plan = ActionRegistry::Builtin().Find("pam.ensure")->PlanFix(**host, args);
    if (plan.ok() && !plan->refused) {
      OverlayHost overlay(**host);
      for (const FileEdit& edit : plan->files) EXPECT_TRUE(overlay.Apply(edit).ok());
      auto again = ActionRegistry::Builtin().Find("pam.ensure")->PlanFix(overlay, args);
      EXPECT_TRUE(again.ok() && again->empty());
    }
    return plan;
  }
  std::string Content(const Result<Plan>& plan) {
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok() || plan->files.size() != 1) {
      ADD_FAILURE() << "expected one file";
      return "";
    }
    return *plan->files[0].content;
  }
  void Write(const Plan& plan) {
    for (const FileEdit& edit : plan.files) dir_.WriteFile(edit.path.substr(1), *edit.content);
  }

  TempDir dir_;
};

TEST_F(PamEnsureTest, NewLineGoesFirstAmongItsTypeByDefault) {
  auto plan = PlanFix(Args("/etc/pam.d/common-password", "password", "requisite",
                           "pam_pwquality.so", {"retry=3", "minlen=12"}));
  EXPECT_EQ(Content(plan),
            "# /etc/pam.d/common-password\n"
            "password\trequisite\tpam_pwquality.so retry=3 minlen=12\n"
            "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n"
            "password\trequisite\t\t\tpam_deny.so\n"
            "password\trequired\t\t\tpam_permit.so\n");
}

TEST_F(PamEnsureTest, ExistingLineGetsTheControlAndArgumentsKeepingItsLayout) {
  dir_.WriteFile("etc/pam.d/common-password",
                 "password\trequisite\t\t\tpam_pwquality.so retry=3 minlen=8\n"
                 "password\toptional\tpam_gnome_keyring.so\n");
  EXPECT_EQ(Content(PlanFix(Args("/etc/pam.d/common-password", "password", "requisite",
                                 "pam_pwquality.so", {"minlen=12", "enforce_for_root"}))),
            "password\trequisite\t\t\tpam_pwquality.so retry=3 minlen=12 enforce_for_root\n"
            "password\toptional\tpam_gnome_keyring.so\n");
  EXPECT_EQ(Content(PlanFix(
                Args("/etc/pam.d/common-password", "password", "required", "pam_pwquality.so"))),
            "password\trequired\t\t\tpam_pwquality.so retry=3 minlen=8\n"
            "password\toptional\tpam_gnome_keyring.so\n");
}

TEST_F(PamEnsureTest, CompliantIsAnEmptyPlan) {
  auto plan = PlanFix(Args("/etc/pam.d/common-password", "password", "[success=1  default=ignore]",
                           "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", {"yescrypt"}));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
}

TEST_F(PamEnsureTest, FaillockLinesAroundPamUnixKeepEveryJumpOnItsTarget) {
  auto preauth =
      PlanFix(Args("/etc/pam.d/common-auth", "auth", "requisite", "pam_faillock.so", {"preauth"}));
  packs::Params before =
      Args("/etc/pam.d/common-auth", "auth", "requisite", "pam_faillock.so", {"preauth"});
  before["before"] = packs::Param::One("pam_unix.so");
  ASSERT_TRUE(preauth.ok());
  Write(*preauth);
  packs::Params authfail =
      Args("/etc/pam.d/common-auth", "auth", "[default=die]", "pam_faillock.so", {"authfail"});
  authfail["after"] = packs::Param::One("pam_unix.so");
  auto plan = PlanFix(authfail);
  // pam_unix's success jump still lands on pam_permit; the preauth line is another line.
  EXPECT_EQ(Content(plan),
            "auth\trequisite\tpam_faillock.so preauth\n"
            "auth\t[success=2 default=ignore]\tpam_unix.so nullok\n"
            "auth\t[default=die]\tpam_faillock.so authfail\n"
            "auth\trequisite\t\t\tpam_deny.so\n"
            "auth\trequired\t\t\tpam_permit.so\n"
            "@include common-extra\n");
  auto again = PlanFix(before);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_F(PamEnsureTest, RefusesLinesThatWouldFailEveryLogin) {
  auto missing = PlanFix(Args("/etc/pam.d/common-auth", "auth", "required", "pam_tally9.so"));
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  ASSERT_TRUE(missing->refused.has_value());
  EXPECT_THAT(*missing->refused, HasSubstr("pam_tally9.so is not installed"));
  auto deny = PlanFix(Args("/etc/pam.d/common-auth", "auth", "requisite", "pam_deny.so", {"x"}));
  ASSERT_TRUE(deny.ok());
  EXPECT_TRUE(deny->refused.has_value());
  packs::Params anchor = Args("/etc/pam.d/common-auth", "auth", "required", "pam_faillock.so");
  anchor["before"] = packs::Param::One("pam_sss.so");
  auto no_anchor = PlanFix(anchor);
  ASSERT_TRUE(no_anchor.ok());
  ASSERT_TRUE(no_anchor->refused.has_value());
  EXPECT_EQ(*no_anchor->refused,
            "/etc/pam.d/common-auth has no auth line for pam_sss.so to put pam_faillock.so before");
  // A missing module is fine where its failure does not fail the stack.
  auto optional = PlanFix(Args("/etc/pam.d/common-auth", "auth", "optional", "pam_tally9.so"));
  ASSERT_TRUE(optional.ok());
  EXPECT_FALSE(optional->refused.has_value());
}

TEST_F(PamEnsureTest, ContinuedLinesAreReadJoinedAndWrittenBackOnOneLine) {
  dir_.WriteFile("etc/pam.d/common-password",
                 "password\trequisite\tpam_pwquality.so retry=3 minlen=12 \\\n"
                 "\t\tdcredit=-1 ucredit=-1\n"
                 "password\t[success=1 default=ignore]\tpam_unix.so obscure # hashes\n");
  auto same = PlanFix(Args("/etc/pam.d/common-password", "password", "requisite",
                           "pam_pwquality.so", {"ucredit=-1"}));
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_TRUE(same->empty());
  EXPECT_EQ(Content(PlanFix(Args("/etc/pam.d/common-password", "password", "requisite",
                                 "pam_pwquality.so", {"dcredit=-2"}))),
            "password\trequisite\tpam_pwquality.so retry=3 minlen=12 dcredit=-2 ucredit=-1\n"
            "password\t[success=1 default=ignore]\tpam_unix.so obscure # hashes\n");
}

TEST_F(PamEnsureTest, AnExistingBlockingLineIsEditedEvenWithoutItsModuleFile) {
  dir_.WriteFile("etc/pam.d/common-auth", "auth\trequired\tpam_tally9.so deny=5\n");
  EXPECT_EQ(Content(PlanFix(
                Args("/etc/pam.d/common-auth", "auth", "required", "pam_tally9.so", {"deny=3"}))),
            "auth\trequired\tpam_tally9.so deny=3\n");
  // Making an optional line blocking is refused like a new one.
  dir_.WriteFile("etc/pam.d/common-auth", "auth\toptional\tpam_tally9.so deny=5\n");
  auto plan = PlanFix(Args("/etc/pam.d/common-auth", "auth", "requisite", "pam_tally9.so"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->refused.has_value());
}

TEST(PamEnsureFixture, Debian12FaillockLinesAreCompliant) {
  auto host = Host::Open(vigil::testing::FixtureRoot("debian12"));
  ASSERT_TRUE(host.ok());
  const Action* action = ActionRegistry::Builtin().Find("pam.ensure");
  packs::Params authfail =
      Args("/etc/pam.d/common-auth", "auth", "[default=die]", "pam_faillock.so", {"authfail"});
  authfail["after"] = packs::Param::One("pam_unix.so");
  auto plan = action->PlanFix(**host, authfail);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
  auto preauth = action->PlanFix(**host, Args("/etc/pam.d/common-auth", "auth", "required",
                                              "pam_faillock.so", {"preauth", "deny=3"}));
  ASSERT_TRUE(preauth.ok()) << preauth.status().ToString();
  ASSERT_EQ(preauth->files.size(), 1u);
  EXPECT_THAT(*preauth->files[0].content,
              HasSubstr("auth\trequired\t\t\tpam_faillock.so preauth silent deny=3 "
                        "unlock_time=900\n"));
}

TEST_F(PamEnsureTest, BadValuesAreErrorsNamingThem) {
  EXPECT_EQ(PlanFix(Args("/etc/pam.d/common-auth", "authx", "required", "pam_unix.so")).status(),
            Status::InvalidArgument(
                "pam.ensure: type 'authx' is not one of auth, account, password, session"));
  EXPECT_EQ(
      PlanFix(Args("/etc/pam.d/common-auth", "auth", "mandatory", "pam_unix.so")).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      PlanFix(Args("/etc/pam.d/common-auth", "auth", "[default]", "pam_unix.so")).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      PlanFix(Args("/etc/pam.d/common-auth", "auth", "required", "pam_unix.so", {"a b"})).status(),
      Status::InvalidArgument("pam.ensure: arguments 'a b' must not contain blanks"));
  EXPECT_EQ(
      PlanFix(Args("pam.d/common-auth", "auth", "required", "pam_unix.so")).status(),
      Status::InvalidArgument("pam.ensure: file 'pam.d/common-auth' is not an absolute path"));
  EXPECT_EQ(PlanFix(Args("/etc/pam.d/nothing", "auth", "required", "pam_unix.so")).status(),
            Status::NotFound("pam.ensure: file '/etc/pam.d/nothing' does not exist"));
}

}  // namespace
}  // namespace vigil::enforcers
