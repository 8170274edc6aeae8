#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using vigil::testing::TempDir;

class ServiceActionsTest : public ::testing::Test {
 protected:
  ServiceActionsTest() {
    dir_.WriteFile("lib/systemd/system/auditd.service",
                   "[Unit]\nDescription=Security Auditing Service\n\n[Service]\nType=forking\n\n"
                   "[Install]\nWantedBy=multi-user.target\n");
    dir_.WriteFile("lib/systemd/system/cups.service",
                   "[Unit]\nDescription=CUPS\n[Install]\nAlso=cups.socket cups.path\n"
                   "WantedBy=printer.target\nWantedBy=multi-user.target\n");
    dir_.WriteFile("lib/systemd/system/cups.socket", "[Install]\nWantedBy=sockets.target\n");
    dir_.WriteFile("lib/systemd/system/cups.path", "[Install]\nWantedBy=multi-user.target\n");
    dir_.WriteFile("lib/systemd/system/ssh.service",
                   "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n");
    dir_.WriteFile("lib/systemd/system/getty@.service",
                   "[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n");
    dir_.WriteFile("lib/systemd/system/systemd-journald.service", "[Unit]\nDescription=Journal\n");
    dir_.WriteFile("lib/systemd/system/nftables.service",
                   "[Install]\nWantedBy=sysinit.target\nRequiredBy=network-pre.target\n"
                   "Alias=firewall.service\n");
  }

  Result<Plan> PlanFix(std::string_view action, const std::string& unit) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find(action)->PlanFix(**host,
                                                           {{"unit", packs::Param::One(unit)}});
  }
  // path -> symlink target, or "remove".
  static std::map<std::string, std::string> Files(const Plan& plan) {
    std::map<std::string, std::string> out;
    for (const FileEdit& e : plan.files) {
      out[e.path] = e.remove ? "remove" : e.symlink_to.value_or("content");
    }
    return out;
  }
  static std::vector<std::vector<std::string>> Commands(const Plan& plan) {
    std::vector<std::vector<std::string>> out;
    for (const PlannedCommand& c : plan.commands) {
      EXPECT_EQ(c.when, PlannedCommand::When::kApply);
      out.push_back(c.argv);
    }
    return out;
  }

  TempDir dir_;
};

TEST_F(ServiceActionsTest, EnableMakesTheInstallLinksThenReloadsAndStarts) {
  auto plan = PlanFix("service.enable", "nftables.service");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Files(*plan),
            (std::map<std::string, std::string>{
                {"/etc/systemd/system/sysinit.target.wants/nftables.service",
                 "/lib/systemd/system/nftables.service"},
                {"/etc/systemd/system/network-pre.target.requires/nftables.service",
                 "/lib/systemd/system/nftables.service"},
                {"/etc/systemd/system/firewall.service", "/lib/systemd/system/nftables.service"}}));
  EXPECT_THAT(Commands(*plan), ElementsAre(ElementsAre("systemctl", "daemon-reload"),
                                           ElementsAre("systemctl", "start", "nftables.service")));
  EXPECT_FALSE(plan->refused);
}

TEST_F(ServiceActionsTest, EnabledUnitIsCompliantAndAWrongLinkIsReplaced) {
  dir_.Symlink("/lib/systemd/system/auditd.service",
               "etc/systemd/system/multi-user.target.wants/auditd.service");
  auto plan = PlanFix("service.enable", "auditd");  // ".service" is implied
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());

  dir_.Symlink("/usr/lib/systemd/system/gone.service",
               "etc/systemd/system/sysinit.target.wants/nftables.service");
  plan = PlanFix("service.enable", "nftables.service");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Files(*plan).at("/etc/systemd/system/sysinit.target.wants/nftables.service"),
            "/lib/systemd/system/nftables.service");
}

TEST_F(ServiceActionsTest, EnableRemovesAMaskAndEnablesTheAlsoUnits) {
  dir_.Symlink("/dev/null", "etc/systemd/system/cups.service");
  auto plan = PlanFix("service.enable", "cups.service");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Files(*plan), (std::map<std::string, std::string>{
                              {"/etc/systemd/system/cups.service", "remove"},
                              {"/etc/systemd/system/printer.target.wants/cups.service",
                               "/lib/systemd/system/cups.service"},
                              {"/etc/systemd/system/multi-user.target.wants/cups.service",
                               "/lib/systemd/system/cups.service"},
                              {"/etc/systemd/system/sockets.target.wants/cups.socket",
                               "/lib/systemd/system/cups.socket"},
                              {"/etc/systemd/system/multi-user.target.wants/cups.path",
                               "/lib/systemd/system/cups.path"}}));
  EXPECT_THAT(plan->notes, ElementsAre(HasSubstr("cups.service was masked")));
}

TEST_F(ServiceActionsTest, EnableOfAnInstanceLinksTheTemplate) {
  auto plan = PlanFix("service.enable", "getty@tty2.service");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Files(*plan), (std::map<std::string, std::string>{
                              {"/etc/systemd/system/getty.target.wants/getty@tty2.service",
                               "/lib/systemd/system/getty@.service"}}));
}

TEST_F(ServiceActionsTest, EnableRefusesAMissingUnitAndLeavesAStaticOneAlone) {
  auto plan = PlanFix("service.enable", "rsyslog.service");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->refused);
  EXPECT_THAT(*plan->refused, HasSubstr("rsyslog.service is not installed"));

  plan = PlanFix("service.enable", "systemd-journald.service");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
  EXPECT_THAT(plan->notes, ElementsAre(HasSubstr("a static unit")));
}

TEST_F(ServiceActionsTest, DisableRemovesEveryLinkOfTheUnitAndItsAlsoUnits) {
  dir_.Symlink("/lib/systemd/system/cups.service",
               "etc/systemd/system/multi-user.target.wants/cups.service");
  dir_.Symlink("/lib/systemd/system/cups.socket",
               "etc/systemd/system/sockets.target.wants/cups.socket");
  // Left by an older [Install] section.
  dir_.Symlink("/lib/systemd/system/cups.service",
               "etc/systemd/system/graphical.target.wants/cups.service");
  dir_.Symlink("/lib/systemd/system/auditd.service",
               "etc/systemd/system/multi-user.target.wants/auditd.service");
  auto plan = PlanFix("service.disable", "cups.service");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Files(*plan),
            (std::map<std::string, std::string>{
                {"/etc/systemd/system/multi-user.target.wants/cups.service", "remove"},
                {"/etc/systemd/system/sockets.target.wants/cups.socket", "remove"},
                {"/etc/systemd/system/graphical.target.wants/cups.service", "remove"}}));
  EXPECT_THAT(Commands(*plan), ElementsAre(ElementsAre("systemctl", "daemon-reload"),
                                           ElementsAre("systemctl", "stop", "cups.service")));

  plan = PlanFix("service.disable", "telnet.socket");  // not installed, no links
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST_F(ServiceActionsTest, MaskLinksToDevNullOnce) {
  auto plan = PlanFix("service.mask", "cups.socket");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Files(*plan),
            (std::map<std::string, std::string>{{"/etc/systemd/system/cups.socket", "/dev/null"}}));
  EXPECT_THAT(Commands(*plan), ElementsAre(ElementsAre("systemctl", "daemon-reload"),
                                           ElementsAre("systemctl", "stop", "cups.socket")));

  dir_.Symlink("/dev/null", "etc/systemd/system/cups.socket");
  plan = PlanFix("service.mask", "cups.socket");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());

  dir_.WriteFile("etc/systemd/system/local.service", "[Service]\nExecStart=/bin/true\n");
  plan = PlanFix("service.mask", "local.service");
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->refused);
  EXPECT_THAT(*plan->refused, HasSubstr("is a unit file written on this node"));
}

TEST_F(ServiceActionsTest, DisableAndMaskRefuseSsh) {
  for (std::string_view action : {"service.disable", "service.mask"}) {
    for (const std::string unit : {"ssh.service", "sshd", "ssh.socket", "sshd@.service"}) {
      auto plan = PlanFix(action, unit);
      if (unit == "sshd@.service") {  // a template is not a unit name
        EXPECT_FALSE(plan.ok());
        continue;
      }
      ASSERT_TRUE(plan.ok()) << plan.status().ToString();
      ASSERT_TRUE(plan->refused) << action << " " << unit;
      EXPECT_THAT(*plan->refused, HasSubstr("would stop SSH logins"));
      EXPECT_THAT(plan->files, IsEmpty());
    }
  }
  // An alias of ssh under another name is refused too.
  dir_.Symlink("/lib/systemd/system/ssh.service", "etc/systemd/system/remote-login.service");
  auto plan = PlanFix("service.disable", "remote-login.service");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->refused);
  plan = PlanFix("service.enable", "ssh.service");
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->refused);
  EXPECT_THAT(Files(*plan),
              UnorderedElementsAre(
                  std::pair<const std::string, std::string>(
                      "/etc/systemd/system/multi-user.target.wants/ssh.service",
                      "/lib/systemd/system/ssh.service"),
                  std::pair<const std::string, std::string>("/etc/systemd/system/sshd.service",
                                                            "/lib/systemd/system/ssh.service")));
}

TEST_F(ServiceActionsTest, BadUnitNamesAreInvalidArguments) {
  for (const std::string unit : {"a b.service", "../x.service", "foo.bogus", "", "-x.service"}) {
    auto plan = PlanFix("service.enable", unit);
    ASSERT_FALSE(plan.ok()) << unit;
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(plan.status().message(), HasSubstr("service.enable: unit '"));
  }
  auto plan = PlanFix("service.mask", "a\nb");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(), "service.mask: unit 'a\nb' holds a line break");
}

}  // namespace
}  // namespace vigil::enforcers
