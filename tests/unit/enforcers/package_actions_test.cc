#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using vigil::testing::TempDir;

packs::Param List(std::vector<std::string> items) { return packs::Param{std::move(items), true}; }

constexpr const char* kStatus =
    "Package: openssh-server\n"
    "Status: install ok installed\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Version: 1:9.2p1-2+deb12u3\n"
    "Pre-Depends: init-system-helpers (>= 1.54~)\n"
    "Depends: libpam-modules (>= 0.72-9), openssh-client (= 1:9.2p1-2+deb12u3),\n"
    " openssh-sftp-server, procps, ucf, runit-helper (>= 2.14.0~), libc6 (>= 2.36)\n"
    "Description: secure shell (SSH) server\n"
    " multi-line description\n"
    "\n"
    "Package: openssh-client\n"
    "Status: install ok installed\n"
    "Priority: standard\n"
    "Architecture: amd64\n"
    "Version: 1:9.2p1-2+deb12u3\n"
    "\n"
    "Package: telnet\n"
    "Status: install ok installed\n"
    "Priority: optional\n"
    "Architecture: all\n"
    "Version: 0.17+2.4-2\n"
    "\n"
    "Package: bash\n"
    "Essential: yes\n"
    "Status: install ok installed\n"
    "Priority: required\n"
    "Architecture: amd64\n"
    "Version: 5.2.15-2+b7\n"
    "\n"
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Version: 2.36-9+deb12u7\n"
    "\n"
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Priority: required\n"
    "Architecture: i386\n"
    "Version: 2.36-9+deb12u7\n"
    "\n"
    "Package: nis\n"
    "Status: deinstall ok config-files\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Version: 4.17\n"
    "\n"
    "Package: aide\n"
    "Status: hold ok installed\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Version: 0.18.3-1\n"
    "\n"
    "Package: rsh-client\n"
    "Status: install ok half-configured\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Version: 0.17-24\n";

constexpr const char* kList =
    "Package: aide\n"
    "Version: 0.18.3-1+deb12u1\n"
    "Architecture: amd64\n"
    "\n"
    "Package: aide\n"
    "Version: 0.18.3-1~bpo11\n"
    "Architecture: amd64\n"
    "\n"
    "Package: telnet\n"
    "Version: 0.17+2.4-2\n"
    "Architecture: all\n"
    "\n"
    "Package: openssh-client\n"
    "Version: 1:9.2p1-2+deb12u4\n"
    "Architecture: arm64\n";

std::vector<std::string> AptGet(std::vector<std::string> args) {
  std::vector<std::string> argv = {
      "env", "DEBIAN_FRONTEND=noninteractive",  "apt-get", "-y",
      "-o",  "Dpkg::Options::=--force-confdef", "-o",      "Dpkg::Options::=--force-confold"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

class PackageActionsTest : public ::testing::Test {
 protected:
  PackageActionsTest() { dir_.WriteFile("var/lib/dpkg/status", kStatus); }

  Result<Plan> PlanFix(std::string_view action, std::vector<std::string> packages) {
    auto host = Host::Open(dir_.path());
    EXPECT_TRUE(host.ok());
    return ActionRegistry::Builtin().Find(action)->PlanFix(
        **host, {{"packages", List(std::move(packages))}});
  }
  // The one apply command of a plan.
  static std::vector<std::string> Command(const Plan& plan) {
    EXPECT_EQ(plan.commands.size(), 1u);
    EXPECT_THAT(plan.files, IsEmpty());
    if (plan.commands.empty()) return {};
    EXPECT_EQ(plan.commands[0].when, PlannedCommand::When::kApply);
    return plan.commands[0].argv;
  }

  TempDir dir_;
};

TEST_F(PackageActionsTest, InstallAsksAptForWhatDpkgDoesNotHaveInstalled) {
  auto plan = PlanFix("package.install", {"auditd", "telnet", "nis", "rsh-client", "libc6:i386"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Command(*plan), AptGet({"install", "auditd", "nis", "rsh-client"}));

  plan = PlanFix("package.install", {"telnet", "openssh-server", "libc6:amd64"});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());

  plan = PlanFix("package.install", {"libc6:arm64"});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Command(*plan), AptGet({"install", "libc6:arm64"}));
}

TEST_F(PackageActionsTest, RemoveAsksAptForWhatIsOnDiskOnly) {
  auto plan = PlanFix("package.remove", {"telnet", "nis", "absent-package", "rsh-client"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Command(*plan), AptGet({"remove", "telnet", "rsh-client"}));

  plan = PlanFix("package.remove", {"nis", "absent-package"});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST_F(PackageActionsTest, RemoveRefusesSshEssentialAndRequiredPackages) {
  struct Case {
    std::vector<std::string> packages;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{"telnet", "openssh-server"}, "removing openssh-server would stop SSH logins"},
      {{"openssh-server:amd64"}, "removing openssh-server would stop SSH logins"},
      {{"bash"}, "removing bash is unsafe: dpkg marks it Essential"},
      {{"libc6:i386"}, "removing libc6:i386 is unsafe: its priority is required"},
      {{"openssh-client"}, "removing openssh-client would take openssh-server with it"},
      {{"procps", "telnet"}, "removing procps would take openssh-server with it"},
  };
  dir_.WriteFile("var/lib/dpkg/status", std::string(kStatus) +
                                            "\nPackage: procps\nStatus: install ok installed\n"
                                            "Priority: important\nArchitecture: amd64\n");
  for (const Case& c : cases) {
    auto plan = PlanFix("package.remove", c.packages);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_TRUE(plan->refused) << c.reason;
    EXPECT_THAT(*plan->refused, HasSubstr(c.reason));
    EXPECT_THAT(plan->commands, IsEmpty());
  }
}

TEST_F(PackageActionsTest, UpgradeOnlyWhatTheListsOfferNewer) {
  dir_.WriteFile(
      "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", kList);
  auto plan = PlanFix("package.upgrade", {"aide", "telnet", "auditd", "openssh-client", "libc6"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Command(*plan), AptGet({"install", "--only-upgrade", "aide"}));
  EXPECT_THAT(plan->notes, ElementsAre("auditd is not installed: nothing to upgrade",
                                       "aide is on hold: apt-get will refuse to change it"));

  plan = PlanFix("package.upgrade", {"telnet", "openssh-client"});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST_F(PackageActionsTest, UpgradeWithoutListsPlansTheUpgradeAndSaysWhy) {
  auto plan = PlanFix("package.upgrade", {"telnet"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Command(*plan), AptGet({"install", "--only-upgrade", "telnet"}));
  EXPECT_THAT(plan->notes, ElementsAre(HasSubstr("no package lists in /var/lib/apt/lists")));
}

TEST_F(PackageActionsTest, WithoutADpkgDatabaseNothingIsInstalled) {
  TempDir empty;
  auto host = Host::Open(empty.path());
  ASSERT_TRUE(host.ok());
  auto plan = ActionRegistry::Builtin()
                  .Find("package.install")
                  ->PlanFix(**host, {{"packages", packs::Param::One("auditd")}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Command(*plan), AptGet({"install", "auditd"}));
  plan = ActionRegistry::Builtin()
             .Find("package.remove")
             ->PlanFix(**host, {{"packages", packs::Param::One("telnet")}});
  ASSERT_TRUE(plan.ok());
  EXPECT_THAT(plan->commands, IsEmpty());
}

TEST_F(PackageActionsTest, BadPackageNamesAreInvalidArguments) {
  for (std::string_view action : {"package.install", "package.remove", "package.upgrade"}) {
    for (const std::string name : {"Telnet", "a", "rm -rf", "-oAPT::x=1", "telnet:", "x/y"}) {
      auto plan = PlanFix(action, {"telnet", name});
      ASSERT_FALSE(plan.ok()) << action << " " << name;
      EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(plan.status().message(), std::string(action) + ": packages item '" + name +
                                             "' is not a Debian package name");
    }
    auto plan = PlanFix(action, {});
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().message(), std::string(action) + ": packages is empty");
  }
}

// The specs the pack validator checks `with` against, as the actions contract names them.
TEST(SystemActionSpecsTest, ParametersFollowTheContract) {
  using Spec = std::vector<std::tuple<std::string, bool, bool>>;  // name, required, list
  const std::vector<std::pair<std::string, Spec>> expected = {
      {"nftables.zone",
       {{"zone_cidrs", true, true},
        {"conduits", false, true},
        {"file", false, false},
        {"ssh_port", false, false}}},
      {"sudoers.ensure",
       {{"file", false, false}, {"line", false, false}, {"remove", false, false}}},
      {"audit.rules", {{"rules", true, true}, {"file", false, false}}},
      {"service.enable", {{"unit", true, false}}},
      {"service.disable", {{"unit", true, false}}},
      {"service.mask", {{"unit", true, false}}},
      {"package.install", {{"packages", true, true}}},
      {"package.remove", {{"packages", true, true}}},
      {"package.upgrade", {{"packages", true, true}}},
  };
  for (const auto& [name, params] : expected) {
    const packs::ActionSpec* spec = ActionRegistry::Builtin().FindAction(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_FALSE(spec->description.empty()) << name;
    Spec actual;
    for (const packs::ParamSpec& p : spec->params) {
      actual.emplace_back(p.name, p.required, p.list);
      EXPECT_FALSE(p.description.empty()) << name << " " << p.name;
    }
    EXPECT_EQ(actual, params) << name;
  }
}

}  // namespace
}  // namespace vigil::enforcers
