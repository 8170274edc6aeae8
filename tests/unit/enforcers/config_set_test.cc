#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "enforcers/builtin.h"
#include "enforcers/overlay_host.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using vigil::testing::TempDir;

class ConfigSetTest : public ::testing::Test {
 protected:
  // `extra`: separator and section, when given.
  Result<Plan> PlanFix(const std::string& path, const std::string& key, const std::string& value,
                       const packs::Params& extra = {}) {
    packs::Params args = extra;
    args["path"] = packs::Param::One(path);
    args["key"] = packs::Param::One(key);
    args["value"] = packs::Param::One(value);
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    auto plan = ActionRegistry::Builtin().Find("config.set")->PlanFix(**host, args);
    if (plan.ok()) {
      // Laid over the tree, the plan leaves nothing to do.
      OverlayHost overlay(**host);
      for (const FileEdit& edit : plan->files) EXPECT_TRUE(overlay.Apply(edit).ok());
      auto again = ActionRegistry::Builtin().Find("config.set")->PlanFix(overlay, args);
      EXPECT_TRUE(again.ok() && again->empty()) << key;
    }
    return plan;
  }
  // The single file the plan writes.
  std::string Content(const Result<Plan>& plan) {
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok() || plan->files.size() != 1) {
      ADD_FAILURE() << "expected one file";
      return "";
    }
    return *plan->files[0].content;
  }

  TempDir dir_;
};

TEST_F(ConfigSetTest, NewKeyGoesAfterItsCommentedOutExample) {
  dir_.WriteFile("etc/security/pwquality.conf",
                 "# Minimum acceptable size for the new password\n"
                 "# minlen = 8\n"
                 "#\n"
                 "# dcredit = 0\n");
  EXPECT_EQ(Content(PlanFix("/etc/security/pwquality.conf", "minlen", "12")),
            "# Minimum acceptable size for the new password\n"
            "# minlen = 8\n"
            "minlen = 12\n"
            "#\n"
            "# dcredit = 0\n");
}

TEST_F(ConfigSetTest, ExistingLinesKeepTheirSeparatorAndEveryOneGetsTheValue) {
  dir_.WriteFile("etc/login.defs",
                 "MAIL_DIR        /var/mail\n"
                 "PASS_MAX_DAYS\t99999\n"
                 "PASS_MIN_DAYS\t0\n"
                 "PASS_MAX_DAYS 60\n");
  EXPECT_EQ(Content(PlanFix("/etc/login.defs", "PASS_MAX_DAYS", "90")),
            "MAIL_DIR        /var/mail\n"
            "PASS_MAX_DAYS\t90\n"
            "PASS_MIN_DAYS\t0\n"
            "PASS_MAX_DAYS 90\n");
}

TEST_F(ConfigSetTest, NewLineTakesTheSeparatorOfTheFileOrTheGivenOne) {
  dir_.WriteFile("etc/default/useradd", "SHELL=/bin/sh\n");
  EXPECT_EQ(Content(PlanFix("/etc/default/useradd", "INACTIVE", "30")),
            "SHELL=/bin/sh\nINACTIVE=30\n");
  dir_.WriteFile("etc/login.defs", "MAIL_DIR        /var/mail");  // no final newline
  EXPECT_EQ(
      Content(PlanFix("/etc/login.defs", "UMASK", "027", {{"separator", packs::Param::One(" ")}})),
      "MAIL_DIR        /var/mail\nUMASK 027\n");
}

TEST_F(ConfigSetTest, CompliantIsAnEmptyPlan) {
  dir_.WriteFile("etc/security/faillock.conf", "deny = 5\n# deny = 3\n");
  auto plan = PlanFix("/etc/security/faillock.conf", "deny", "5");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
}

TEST_F(ConfigSetTest, SectionScopesTheKey) {
  dir_.WriteFile("etc/systemd/journald.conf",
                 "#  This file is part of systemd.\n"
                 "[Journal]\n"
                 "#Storage=auto\n"
                 "#Compress=yes\n"
                 "\n"
                 "[Other]\n"
                 "Storage=volatile\n");
  EXPECT_EQ(Content(PlanFix("/etc/systemd/journald.conf", "Storage", "persistent",
                            {{"section", packs::Param::One("Journal")},
                             {"separator", packs::Param::One("=")}})),
            "#  This file is part of systemd.\n"
            "[Journal]\n"
            "#Storage=auto\n"
            "Storage=persistent\n"
            "#Compress=yes\n"
            "\n"
            "[Other]\n"
            "Storage=volatile\n");
  // Without an example, the line goes at the end of the section, before the blank line.
  EXPECT_EQ(Content(PlanFix("/etc/systemd/journald.conf", "ForwardToSyslog", "yes",
                            {{"section", packs::Param::One("Journal")}})),
            "#  This file is part of systemd.\n"
            "[Journal]\n"
            "#Storage=auto\n"
            "#Compress=yes\n"
            "ForwardToSyslog=yes\n"
            "\n"
            "[Other]\n"
            "Storage=volatile\n");
}

TEST_F(ConfigSetTest, MissingSectionAndMissingFileAreCreated) {
  dir_.WriteFile("etc/systemd/journald.conf", "[Other]\nX=1\n");
  EXPECT_EQ(Content(PlanFix("/etc/systemd/journald.conf", "Storage", "persistent",
                            {{"section", packs::Param::One("Journal")}})),
            "[Other]\nX=1\n\n[Journal]\nStorage=persistent\n");
  auto created = PlanFix("/etc/chrony/conf.d/vigil.conf", "maxdistance", "3",
                         {{"separator", packs::Param::One(" ")}});
  EXPECT_EQ(Content(created), "maxdistance 3\n");
  EXPECT_EQ(created->files[0].path, "/etc/chrony/conf.d/vigil.conf");
}

TEST_F(ConfigSetTest, BadValuesAreInvalidArgumentsNamingThem) {
  EXPECT_EQ(PlanFix("etc/login.defs", "UMASK", "027").status(),
            Status::InvalidArgument("config.set: path 'etc/login.defs' is not an absolute path"));
  EXPECT_EQ(
      PlanFix("/etc/login.defs", "PASS MAX", "1").status(),
      Status::InvalidArgument("config.set: key 'PASS MAX' must not contain blanks, '=' or '#'"));
  EXPECT_EQ(PlanFix("/etc/login.defs", "UMASK", "027\nUMASK 000").status(),
            Status::InvalidArgument("config.set: value '027 UMASK 000' must be one line"));
  EXPECT_EQ(
      PlanFix("/etc/login.defs", "UMASK", "027", {{"separator", packs::Param::One("->")}}).status(),
      Status::InvalidArgument("config.set: separator '->' may hold only blanks, '=' or ':'"));
  EXPECT_EQ(PlanFix("/etc/x.conf", "k", "v", {{"section", packs::Param::One("a]b")}}).status(),
            Status::InvalidArgument("config.set: section 'a]b' must not contain '[' or ']'"));
}

}  // namespace
}  // namespace vigil::enforcers
