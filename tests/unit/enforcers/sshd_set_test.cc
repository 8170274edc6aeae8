#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "enforcers/applier.h"
#include "enforcers/builtin.h"
#include "enforcers/overlay_host.h"
#include "engine/host.h"
#include "engine/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

packs::Params Args(const std::string& key, const std::string& value) {
  return {{"key", packs::Param::One(key)}, {"value", packs::Param::One(value)}};
}

class SshdSetTest : public ::testing::Test {
 protected:
  Result<Plan> PlanFix(const packs::Params& args) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find("sshd.set")->PlanFix(**host, args);
  }
  // The plan laid over the tree: planning again must find nothing to do.
  void ExpectConverges(const Plan& plan, const packs::Params& args) {
    auto host = Host::Open(dir_.path());
    ASSERT_TRUE(host.ok());
    OverlayHost overlay(**host);
    for (const FileEdit& edit : plan.files) ASSERT_TRUE(overlay.Apply(edit).ok());
    auto again = ActionRegistry::Builtin().Find("sshd.set")->PlanFix(overlay, args);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_TRUE(again->empty());
  }
  void Write(const Plan& plan) {
    for (const FileEdit& edit : plan.files) dir_.WriteFile(edit.path.substr(1), *edit.content);
  }

  TempDir dir_;
};

TEST_F(SshdSetTest, EditsTheFirstGlobalLineInTheIncludedFileSshdReadsFirst) {
  dir_.WriteFile("etc/ssh/sshd_config",
                 "Include /etc/ssh/sshd_config.d/*.conf\n"
                 "PermitRootLogin no\n");
  dir_.WriteFile("etc/ssh/sshd_config.d/10-site.conf", "# site\nPermitRootLogin yes\n");
  auto plan = PlanFix(Args("PermitRootLogin", "no"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/ssh/sshd_config.d/10-site.conf");
  EXPECT_EQ(*plan->files[0].content, "# site\nPermitRootLogin no\n");
  ASSERT_EQ(plan->commands.size(), 2u);
  EXPECT_EQ(plan->commands[0].when, PlannedCommand::When::kValidate);
  // No host key in the tree: nothing to pass with -h.
  EXPECT_THAT(plan->commands[0].argv,
              ElementsAre("sshd", "-t", "-f", "{{file:/etc/ssh/sshd_config}}"));
  EXPECT_EQ(plan->commands[1].when, PlannedCommand::When::kApply);
  EXPECT_THAT(plan->commands[1].argv,
              ElementsAre("systemctl", "try-reload-or-restart", "ssh.service"));
  ExpectConverges(*plan, Args("PermitRootLogin", "no"));
}

TEST_F(SshdSetTest, CompliantIsAnEmptyPlan) {
  dir_.WriteFile("etc/ssh/sshd_config", "PermitRootLogin no\nPermitRootLogin yes\n");
  auto plan = PlanFix(Args("permitrootlogin", "no"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
  EXPECT_THAT(plan->commands, IsEmpty());
}

TEST_F(SshdSetTest, KeepsIndentationAndEqualsFormAndEveryOtherByte) {
  const std::string rest = "# c\r\n\n\tClientAliveInterval 300\nX11Forwarding yes";  // no final \n
  dir_.WriteFile("etc/ssh/sshd_config", "  maxauthtries = 6 # was six\n" + rest);
  auto plan = PlanFix(Args("MaxAuthTries", "3"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content, "  maxauthtries = 3\n" + rest);
}

TEST_F(SshdSetTest, InsertsBeforeTheFirstMatchBlockWhenSetNowhere) {
  dir_.WriteFile("etc/ssh/sshd_config",
                 "Port 22\n"
                 "\n"
                 "Match User historian\n"
                 "\tX11Forwarding yes\n");
  auto plan = PlanFix(Args("X11Forwarding", "no"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content,
            "Port 22\n"
            "\n"
            "X11Forwarding no\n"
            "Match User historian\n"
            "\tX11Forwarding yes\n");
  // The Match block's own value is reported, not changed.
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_THAT(plan->notes[0], HasSubstr("/etc/ssh/sshd_config:4: the Match User historian block"));
  ExpectConverges(*plan, Args("X11Forwarding", "no"));
}

TEST_F(SshdSetTest, AppendsWhenThereIsNoMatchBlockAndNoFinalNewline) {
  dir_.WriteFile("etc/ssh/sshd_config", "Port 22");
  auto plan = PlanFix(Args("Banner", "/etc/issue.net"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content, "Port 22\nBanner /etc/issue.net\n");

  // A line sshd would reject is named in the notes (its validator will fail).
  dir_.WriteFile("etc/ssh/sshd_config", "Port 22\nPermitRootLogn no\n");
  auto noted = PlanFix(Args("Banner", "/etc/issue.net"));
  ASSERT_TRUE(noted.ok()) << noted.status().ToString();
  EXPECT_THAT(noted->notes,
              ElementsAre(HasSubstr("sshd_config:2: unknown keyword 'PermitRootLogn'")));
}

// The debian12 fixture: 10-hardening.conf is read first, 20-vendor.conf next, then sshd_config.
TEST_F(SshdSetTest, FixtureTreeListKeywordKeepsOneLineAndCommentsOutTheOthers) {
  dir_.MakeDir("etc");
  std::filesystem::copy(FixtureRoot("debian12") + "/etc/ssh", dir_.path() + "/etc/ssh",
                        std::filesystem::copy_options::recursive);
  std::filesystem::copy(FixtureRoot("debian12") + "/etc/group", dir_.path() + "/etc/group");
  auto plan = PlanFix(Args("AllowGroups", "ssh"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 2u);
  EXPECT_EQ(plan->files[0].path, "/etc/ssh/sshd_config.d/10-hardening.conf");
  EXPECT_THAT(*plan->files[0].content, HasSubstr("\nMaxAuthTries 3\nKexAlgorithms"));
  EXPECT_THAT(*plan->files[0].content, HasSubstr("\nAllowGroups ssh\n"));
  EXPECT_EQ(plan->files[1].path, "/etc/ssh/sshd_config.d/20-vendor.conf");
  EXPECT_THAT(*plan->files[1].content, HasSubstr("\n# vigil: AllowGroups sudo\nLogLevel=INFO\n"));
  ExpectConverges(*plan, Args("AllowGroups", "ssh"));

  // MaxAuthTries is taken from 10-hardening.conf; sshd_config and 20-vendor.conf stay.
  auto tries = PlanFix(Args("MaxAuthTries", "4"));
  ASSERT_TRUE(tries.ok()) << tries.status().ToString();
  ASSERT_EQ(tries->files.size(), 1u);
  EXPECT_EQ(tries->files[0].path, "/etc/ssh/sshd_config.d/10-hardening.conf");
  EXPECT_THAT(*tries->files[0].content, HasSubstr("\nMaxAuthTries 4\n"));
}

TEST_F(SshdSetTest, RefusesTurningOffTheLastWayToLogIn) {
  dir_.WriteFile("etc/ssh/sshd_config",
                 "PubkeyAuthentication no\nKbdInteractiveAuthentication no\n");
  auto plan = PlanFix(Args("PasswordAuthentication", "no"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->refused.has_value());
  EXPECT_THAT(*plan->refused, HasSubstr("last authentication method"));
  EXPECT_THAT(plan->files, IsEmpty());
}

TEST_F(SshdSetTest, RefusesPasswordOffUntilSomeAuthorizedKeyExists) {
  dir_.WriteFile("etc/ssh/sshd_config", "KbdInteractiveAuthentication no\n");
  dir_.WriteFile("root/.ssh/authorized_keys", "# no key yet\n");
  auto refused = PlanFix(Args("PasswordAuthentication", "no"));
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  ASSERT_TRUE(refused->refused.has_value());
  EXPECT_THAT(*refused->refused, HasSubstr("no authorized_keys file holds a key"));

  dir_.WriteFile("home/ops/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops\n");
  auto plan = PlanFix(Args("PasswordAuthentication", "no"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->refused.has_value());
  ASSERT_EQ(plan->files.size(), 1u);
}

TEST_F(SshdSetTest, RefusesAccessListsThatLetNobodyIn) {
  dir_.WriteFile("etc/ssh/sshd_config", "Port 22\n");
  dir_.WriteFile("etc/passwd",
                 "root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/bash\n");
  dir_.WriteFile("etc/group", "root:x:0:\nssh:x:110:ops\n");
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"DenyUsers", "*"},
                                                        {"AllowUsers", "nobody-here"},
                                                        {"AllowGroups", "no-group"},
                                                        {"MaxAuthTries", "0"}}) {
    auto plan = PlanFix(Args(key, value));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_TRUE(plan->refused.has_value()) << key;
  }
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"AllowUsers", "ops@10.0.0.0/8"}, {"AllowGroups", "ssh"}, {"AllowUsers", "adm*"}}) {
    auto plan = PlanFix(Args(key, value));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_FALSE(plan->refused.has_value()) << key << " " << value;
  }
}

TEST_F(SshdSetTest, RefusesWithoutAnSshdConfig) {
  auto plan = PlanFix(Args("PermitRootLogin", "no"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->refused.has_value());
  EXPECT_THAT(*plan->refused, HasSubstr("/etc/ssh/sshd_config does not exist"));
}

TEST_F(SshdSetTest, BadValuesAreInvalidArgumentsNamingThem) {
  dir_.WriteFile("etc/ssh/sshd_config", "Port 22\n");
  auto unknown = PlanFix(Args("PermitRootLogn", "no"));
  EXPECT_EQ(unknown.status(),
            Status::InvalidArgument("sshd.set: key 'PermitRootLogn' is not an sshd keyword"));
  auto newline = PlanFix(Args("PermitRootLogin", "no\nPermitRootLogin yes"));
  EXPECT_EQ(newline.status(),
            Status::InvalidArgument("sshd.set: value 'no PermitRootLogin yes' must be one line"));
  auto quote = PlanFix(Args("Banner", "\"/etc/issue"));
  EXPECT_EQ(quote.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(quote.status().message(), HasSubstr("unbalanced quote"));
  auto match = PlanFix(Args("Match", "User x"));
  EXPECT_EQ(match.status(), Status::InvalidArgument("sshd.set: key 'Match' is not a setting"));
  auto ignored = PlanFix(Args("UsePrivilegeSeparation", "yes"));
  EXPECT_EQ(ignored.status().code(), StatusCode::kInvalidArgument);
}

// Three violating rows of one check, composed by the applier into one edit of the file; the
// sshd_config table then reads the values the check asked for.
TEST_F(SshdSetTest, RowsOfACheckComposeIntoOneEditThatTheTableReadsBack) {
  dir_.WriteFile("etc/ssh/sshd_config",
                 "PermitRootLogin yes\n"
                 "X11Forwarding yes\n"
                 "Match Address 10.0.0.0/8\n"
                 "\tX11Forwarding yes\n");
  packs::Enforcement enforce{"sshd.set",
                             {{"key", packs::Param::One("{{row.keyword}}")},
                              {"value", packs::Param::One("{{row.expected}}")}}};
  packs::Verdict verdict;
  verdict.status = packs::VerdictStatus::kFail;
  verdict.columns = {"keyword", "expected"};
  verdict.rows = {{"PermitRootLogin", "no"}, {"X11Forwarding", "no"}, {"MaxAuthTries", "3"}};
  verdict.rows_total = verdict.rows.size();
  auto host = Host::Open(dir_.path());
  ASSERT_TRUE(host.ok());
  auto plan = PlanRepair(**host, *ActionRegistry::Builtin().Find("sshd.set"), enforce, verdict, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(*plan->files[0].content,
            "PermitRootLogin no\n"
            "X11Forwarding no\n"
            "MaxAuthTries 3\n"
            "Match Address 10.0.0.0/8\n"
            "\tX11Forwarding yes\n");
  EXPECT_EQ(plan->commands.size(), 2u);  // one validator, one reload
  Write(*plan);
  auto rows = RunSql(dir_.path(),
                     "SELECT keyword, value FROM sshd_config WHERE match = '' AND keyword IN "
                     "('permitrootlogin', 'x11forwarding', 'maxauthtries') ORDER BY keyword");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(RowsAsText(*rows),
            (std::vector<std::string>{"maxauthtries|3", "permitrootlogin|no", "x11forwarding|no"}));
}

// ---- The validator, run as the applier runs it ------------------------------------------

bool CanRunSshd() { return HaveCommand("sshd") && HaveCommand("ssh-keygen") && geteuid() == 0; }

// Runs the plan's validator with {{file:...}} made real paths of the tree.
int RunValidator(const Host& host, const Plan& plan) {
  for (const PlannedCommand& command : plan.commands) {
    if (command.when != PlannedCommand::When::kValidate) continue;
    std::vector<std::string> argv;
    for (const std::string& arg : command.argv) {
      if (arg.starts_with("{{file:") && arg.ends_with("}}")) {
        auto real = host.RealPath(arg.substr(7, arg.size() - 9));
        EXPECT_TRUE(real.ok());
        argv.push_back(*real);
      } else {
        argv.push_back(arg);
      }
    }
    auto result = RunCommand(argv);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? result->exit_code : -1;
  }
  ADD_FAILURE() << "no validator";
  return -1;
}

TEST_F(SshdSetTest, SshdAcceptsTheEditedTreeWithItsOwnHostKeyAndRejectsABadValue) {
  if (!CanRunSshd()) GTEST_SKIP() << "needs root, sshd and ssh-keygen";
  ::mkdir("/run/sshd", 0755);  // sshd -t checks for its privilege separation directory
  dir_.MakeDir("etc/ssh");
  const std::string key = dir_.path() + "/etc/ssh/vigil_test_host_key";
  ASSERT_EQ(RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key})->exit_code, 0);
  dir_.WriteFile("etc/ssh/sshd_config",
                 "HostKey /etc/ssh/vigil_test_host_key\nPermitRootLogin yes\nUsePAM yes\n");
  auto host = Host::Open(dir_.path());
  ASSERT_TRUE(host.ok());

  auto plan = PlanFix(Args("PermitRootLogin", "prohibit-password"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_THAT(plan->commands[0].argv,
              ElementsAre("sshd", "-t", "-f", "{{file:/etc/ssh/sshd_config}}", "-h",
                          "{{file:/etc/ssh/vigil_test_host_key}}"));
  Write(*plan);
  EXPECT_EQ(RunValidator(**host, *plan), 0);

  auto bad = PlanFix(Args("PermitRootLogin", "sometimes"));
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  Write(*bad);
  EXPECT_NE(RunValidator(**host, *bad), 0);
}

}  // namespace
}  // namespace vigil::enforcers
