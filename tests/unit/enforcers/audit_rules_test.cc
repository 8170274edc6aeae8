#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using vigil::testing::TempDir;

packs::Param List(std::vector<std::string> items) { return packs::Param{std::move(items), true}; }

class AuditRulesTest : public ::testing::Test {
 protected:
  Result<Plan> PlanFix(const packs::Params& args) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find("audit.rules")->PlanFix(**host, args);
  }
  Result<Plan> PlanRules(std::vector<std::string> rules) {
    return PlanFix({{"rules", List(std::move(rules))}});
  }
  void Write(const Plan& plan) {
    for (const FileEdit& edit : plan.files) dir_.WriteFile(edit.path.substr(1), *edit.content);
  }

  TempDir dir_;
};

TEST_F(AuditRulesTest, WritesANewRulesFileWithTheLockLastAndLoadsIt) {
  dir_.MakeDir("etc/audit/rules.d");
  auto plan = PlanRules({"-e 2", "-w /etc/passwd  -p wa -k identity",
                         "-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/audit/rules.d/50-vigil.rules");
  EXPECT_EQ(*plan->files[0].content,
            "# Written by vigil (audit.rules).\n"
            "-w /etc/passwd -p wa -k identity\n"
            "-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change\n"
            "-e 2\n");
  EXPECT_EQ(plan->files[0].mode_if_new, 0640u);
  ASSERT_EQ(plan->commands.size(), 1u);
  EXPECT_EQ(plan->commands[0].when, PlannedCommand::When::kApply);
  EXPECT_THAT(plan->commands[0].argv, ElementsAre("augenrules", "--load"));

  Write(*plan);
  plan = PlanRules({"-e 2", "-w /etc/passwd -p wa -k identity"});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST_F(AuditRulesTest, InsertsBeforeTheFilesLockAndKeepsTheRest) {
  dir_.WriteFile("etc/audit/rules.d/50-vigil.rules",
                 "## site rules\n-D\n-b 320\n\n-w /etc/group -p wa -k identity\n-e 2\n# end\n");
  auto plan = PlanRules({"-w /etc/shadow -p wa -k identity", "-b 8192"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content,
            "## site rules\n-D\n-b 8192\n\n-w /etc/group -p wa -k identity\n"
            "-w /etc/shadow -p wa -k identity\n-e 2\n# end\n");
}

TEST_F(AuditRulesTest, AnEarlierLockIsRetiredAndTheNewOneEndsTheFile) {
  dir_.WriteFile("etc/audit/rules.d/50-vigil.rules", "-e 1\n-w /etc/group -p wa\n");
  auto plan = PlanRules({"-e 2"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content, "# vigil: -e 1\n-w /etc/group -p wa\n-e 2\n");

  // An -e that already ends the file takes the new value in place.
  dir_.WriteFile("etc/audit/rules.d/50-vigil.rules", "-w /etc/group -p wa\n-e 1\n# done\n");
  plan = PlanRules({"-e 2", "-w /etc/sudoers -p wa -k scope"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(*plan->files[0].content,
            "-w /etc/group -p wa\n-w /etc/sudoers -p wa -k scope\n-e 2\n# done\n");
}

TEST_F(AuditRulesTest, ARuleInAnotherRulesFileCountsAsPresent) {
  dir_.WriteFile("etc/audit/rules.d/10-base.rules",
                 "-w   /etc/passwd -p wa -k identity\n# -w /etc/shadow -p wa -k identity\n");
  auto plan = PlanRules({"-w /etc/passwd -p wa -k identity"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());

  // A commented-out rule does not count.
  plan = PlanRules({"-w /etc/shadow -p wa -k identity"});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/audit/rules.d/50-vigil.rules");
}

TEST_F(AuditRulesTest, AFileOutsideRulesDIsLoadedWithAuditctl) {
  dir_.WriteFile("etc/audit/audit.rules", "-D\n");
  auto plan = PlanFix({{"rules", List({"-w /etc/passwd -p wa"})},
                       {"file", packs::Param::One("/etc/audit/audit.rules")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(*plan->files[0].content, "-D\n-w /etc/passwd -p wa\n");
  ASSERT_EQ(plan->commands.size(), 1u);
  EXPECT_THAT(plan->commands[0].argv, ElementsAre("auditctl", "-R", "/etc/audit/audit.rules"));
}

TEST_F(AuditRulesTest, RulesAuditctlWouldRejectAreInvalidArguments) {
  struct Case {
    std::string rule;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"-w etc/passwd -p wa", "watches 'etc/passwd', not an absolute path"},
      {"-w /etc/passwd -p rwz", "has permissions 'rwz' (a combination of r, w, x and a)"},
      {"-w /etc/passwd -S open", "has option '-S', which -w rules do not take"},
      {"-a always,sometimes -S open", "has 'always,sometimes' where ACTION,LIST"},
      {"-a exit,always -S open@", "has syscall list 'open@'"},
      {"-a always,exit -F arch", "has field 'arch' (FIELD OP VALUE, e.g. auid>=1000)"},
      {"-a always,exit -F auid>=", "has field 'auid>=' without an operator and a value"},
      {"-a always,exit -k", "-k needs a value"},
      {"-e 3", "-e takes one value: 0, 1 or 2"},
      {"-b lots", "-b takes one number"},
      {"--bogus", "starts with '--bogus', not an auditctl rule option"},
      {"-w", "-w needs a path"},
  };
  for (const Case& c : cases) {
    auto plan = PlanRules({"-w /etc/group -p wa", c.rule});
    ASSERT_FALSE(plan.ok()) << c.rule;
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(plan.status().message(), HasSubstr("audit.rules: rule '" + c.rule + "' " + c.why));
  }
  auto plan = PlanRules({});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(), "audit.rules: rules is empty");
}

TEST_F(AuditRulesTest, CommonRulesPassTheSyntaxCheck) {
  auto plan = PlanRules({
      "-D",
      "-b 8192",
      "-f 1",
      "--backlog_wait_time 60000",
      "-a always,exit -F arch=b64 -S execve -F auid>=1000 -F auid!=unset -k exec",
      "-a exit,always -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -k priv",
      "-a never,exclude -F msgtype=CWD",
      "-W /etc/hosts",
      "--loginuid-immutable",
      "-e 2",
  });
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_TRUE(plan->files[0].content->ends_with("--loginuid-immutable\n-e 2\n"));
}

}  // namespace
}  // namespace vigil::enforcers
