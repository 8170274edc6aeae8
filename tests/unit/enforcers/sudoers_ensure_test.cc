#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "engine/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using vigil::testing::TempDir;

class SudoersEnsureTest : public ::testing::Test {
 protected:
  Result<Plan> PlanFix(const packs::Params& args) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find("sudoers.ensure")->PlanFix(**host, args);
  }
  // Applies the plan's content to the tree, as the applier would.
  void Write(const Plan& plan) {
    for (const FileEdit& edit : plan.files) dir_.WriteFile(edit.path.substr(1), *edit.content);
  }

  TempDir dir_;
};

constexpr const char* kSudoers =
    "# /etc/sudoers\n"
    "Defaults\tenv_reset\n"
    "root\tALL=(ALL:ALL) ALL\n"
    "%sudo\tALL=(ALL:ALL) NOPASSWD: ALL\n"
    "\n"
    "# ops: NOPASSWD for backups\n"
    "Cmnd_Alias BACKUP = /usr/bin/rsync, \\\n"
    "    /usr/bin/tar\n"
    "ops ALL = NOPASSWD: BACKUP\n"
    "#1001 ALL=(ALL) NOPASSWD: ALL\n"
    "@includedir /etc/sudoers.d";  // no final newline

TEST_F(SudoersEnsureTest, AddsALineToANewFileWithMode0440AndVisudo) {
  auto plan = PlanFix({{"line", packs::Param::One("Defaults use_pty")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/sudoers.d/50-vigil");
  EXPECT_EQ(*plan->files[0].content, "# Written by vigil (sudoers.ensure).\nDefaults use_pty\n");
  EXPECT_EQ(plan->files[0].mode_if_new, 0440u);
  ASSERT_EQ(plan->commands.size(), 1u);
  EXPECT_EQ(plan->commands[0].when, PlannedCommand::When::kValidate);
  EXPECT_THAT(plan->commands[0].argv,
              ElementsAre("visudo", "-c", "-f", "{{file:/etc/sudoers.d/50-vigil}}"));

  // Applied once, the second plan is empty.
  Write(*plan);
  plan = PlanFix({{"line", packs::Param::One("  Defaults   use_pty ")}});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST_F(SudoersEnsureTest, CommentsOutMatchingEntriesAndKeepsTheRestByteForByte) {
  dir_.WriteFile("etc/sudoers", kSudoers);
  auto plan = PlanFix(
      {{"file", packs::Param::One("/etc/sudoers")}, {"remove", packs::Param::One("NOPASSWD")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content,
            "# /etc/sudoers\n"
            "Defaults\tenv_reset\n"
            "root\tALL=(ALL:ALL) ALL\n"
            "# vigil: %sudo\tALL=(ALL:ALL) NOPASSWD: ALL\n"
            "\n"
            "# ops: NOPASSWD for backups\n"
            "Cmnd_Alias BACKUP = /usr/bin/rsync, \\\n"
            "    /usr/bin/tar\n"
            "# vigil: ops ALL = NOPASSWD: BACKUP\n"
            "# vigil: #1001 ALL=(ALL) NOPASSWD: ALL\n"
            "@includedir /etc/sudoers.d");
  Write(*plan);
  plan = PlanFix(
      {{"file", packs::Param::One("/etc/sudoers")}, {"remove", packs::Param::One("NOPASSWD")}});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST_F(SudoersEnsureTest, AContinuedEntryIsMatchedWholeAndCommentedOutWhole) {
  dir_.WriteFile("etc/sudoers", kSudoers);
  auto plan = PlanFix({{"file", packs::Param::One("/etc/sudoers")},
                       {"remove", packs::Param::One("rsync, +/usr/bin/tar")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_THAT(*plan->files[0].content, HasSubstr("# vigil: Cmnd_Alias BACKUP = /usr/bin/rsync, \\\n"
                                                 "# vigil:     /usr/bin/tar\n"));
}

TEST_F(SudoersEnsureTest, RemovesAndAddsInOnePlanAndAppendsAfterAMissingNewline) {
  dir_.WriteFile("etc/sudoers", kSudoers);
  auto plan = PlanFix({{"file", packs::Param::One("/etc/sudoers")},
                       {"line", packs::Param::One("%sudo ALL=(ALL:ALL) ALL")},
                       {"remove", packs::Param::One("^%sudo.*NOPASSWD")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  const std::string& content = *plan->files[0].content;
  EXPECT_THAT(content, HasSubstr("# vigil: %sudo\tALL=(ALL:ALL) NOPASSWD: ALL\n"));
  EXPECT_THAT(content, HasSubstr("\nops ALL = NOPASSWD: BACKUP\n"));
  EXPECT_TRUE(content.ends_with("@includedir /etc/sudoers.d\n%sudo ALL=(ALL:ALL) ALL\n"))
      << content;
}

// The IEC 62443 packs write their patterns with \s and \b, as their SQL's regex_match does.
TEST_F(SudoersEnsureTest, PatternsWithPerlClassesAsThePacksWriteThem) {
  dir_.WriteFile("etc/sudoers.d/ops",
                 "Defaults\tenv_reset,pwfeedback\n"
                 "%sudo ALL=(ALL:ALL) NOPASSWD: ALL  # ops\n"
                 "alice ALL=(ALL) NOPASSWD: /usr/bin/apt\n");
  auto plan = PlanFix({{"file", packs::Param::One("/etc/sudoers.d/ops")},
                       {"remove", packs::Param::One("^[^#]*NOPASSWD:\\s*ALL\\s*(#.*)?$")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content,
            "Defaults\tenv_reset,pwfeedback\n"
            "# vigil: %sudo ALL=(ALL:ALL) NOPASSWD: ALL  # ops\n"
            "alice ALL=(ALL) NOPASSWD: /usr/bin/apt\n");
  Write(*plan);
  plan = PlanFix({{"file", packs::Param::One("/etc/sudoers.d/ops")},
                  {"remove", packs::Param::One("^\\s*Defaults\\b[^#]*[\\s,]pwfeedback\\b")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_TRUE(plan->files[0].content->starts_with("# vigil: Defaults\tenv_reset,pwfeedback\n"));
}

TEST_F(SudoersEnsureTest, NothingToRemoveInAMissingFileIsCompliant) {
  auto plan = PlanFix({{"remove", packs::Param::One("NOPASSWD")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
}

TEST_F(SudoersEnsureTest, BadValuesAreInvalidArgumentsNamingThem) {
  struct Case {
    packs::Params args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "sudoers.ensure: give line, remove or both"},
      {{{"remove", packs::Param::One("([")}},
       "sudoers.ensure: remove '([' is not a regular expression"},
      {{{"line", packs::Param::One("alice ALL=(ALL) ALL\nbob ALL=(ALL) ALL")}},
       "sudoers.ensure: line 'alice ALL=(ALL) ALL\nbob ALL=(ALL) ALL' holds a line break"},
      {{{"line", packs::Param::One("%sudo ALL=(ALL) NOPASSWD: ALL")},
        {"remove", packs::Param::One("NOPASSWD")}},
       "sudoers.ensure: remove 'NOPASSWD' matches line '%sudo ALL=(ALL) NOPASSWD: ALL' itself"},
      {{{"line", packs::Param::One("# a comment")}},
       "sudoers.ensure: line '# a comment' is a comment, not a sudoers entry"},
      {{{"line", packs::Param::One("Defaults use_pty")},
        {"file", packs::Param::One("/etc/sudoers.d/vigil.conf")}},
       "sudoers.ensure: file '/etc/sudoers.d/vigil.conf' would be skipped by sudo"},
      {{{"line", packs::Param::One("Defaults use_pty")},
        {"file", packs::Param::One("/etc/sudoers.d/../sudoers")}},
       "sudoers.ensure: file '/etc/sudoers.d/../sudoers' holds '..'"},
  };
  for (const Case& c : cases) {
    auto plan = PlanFix(c.args);
    ASSERT_FALSE(plan.ok()) << c.message;
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(plan.status().message(), HasSubstr(c.message));
  }
}

// The plan's validator, run on the planned file: visudo accepts the result and rejects an
// entry sudo could not parse.
TEST_F(SudoersEnsureTest, VisudoAcceptsTheResultAndRejectsABrokenLine) {
  if (!vigil::testing::HaveCommand("visudo")) {
    GTEST_SKIP() << "visudo (package sudo) is not installed; scripts/setup should install sudo";
  }
  auto check = [&](const std::string& line) -> int {
    TempDir tree;
    auto host = Host::Open(tree.path());
    EXPECT_TRUE(host.ok());
    auto plan = ActionRegistry::Builtin()
                    .Find("sudoers.ensure")
                    ->PlanFix(**host, {{"line", packs::Param::One(line)}});
    EXPECT_TRUE(plan.ok());
    if (!plan.ok() || plan->files.empty()) return -1;
    tree.WriteFile("etc/sudoers.d/50-vigil", *plan->files[0].content);
    std::vector<std::string> argv = plan->commands[0].argv;
    argv.back() = (*host)->RealPath("/etc/sudoers.d/50-vigil").value();
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->exit_code : -1;
  };
  EXPECT_EQ(check("%sudo ALL=(ALL:ALL) ALL"), 0);
  EXPECT_NE(check("alice ALL=(ALL NOPASSWD: ALL"), 0);
}

}  // namespace
}  // namespace vigil::enforcers
