#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "enforcers/builtin.h"
#include "enforcers/overlay_host.h"
#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using vigil::testing::TempDir;

// A host that says it is the machine itself (root "/") but reads a tree: shows the live
// commands a plan gets on "/" without reading this machine's files.
class MachineLikeHost final : public Host {
 public:
  explicit MachineLikeHost(const Host& tree) : Host(""), tree_(tree) {}
  Result<std::string> Canonical(std::string_view path) const override {
    return tree_.Canonical(path);
  }
  Result<std::string> ReadFile(std::string_view path, size_t max_bytes) const override {
    return tree_.ReadFile(path, max_bytes);
  }
  Status ReadChunks(std::string_view path, size_t max_bytes,
                    const std::function<Status(std::string_view)>& consume) const override {
    return tree_.ReadChunks(path, max_bytes, consume);
  }
  Result<std::vector<DirEntry>> ListDirectory(std::string_view path) const override {
    return tree_.ListDirectory(path);
  }
  Result<struct stat> Stat(std::string_view path) const override { return tree_.Stat(path); }
  Result<struct stat> Lstat(std::string_view path) const override { return tree_.Lstat(path); }
  Result<std::string> ReadLink(std::string_view path) const override {
    return tree_.ReadLink(path);
  }

 private:
  const Host& tree_;
};

packs::Params Args(const std::string& name, const std::string& value) {
  return {{"name", packs::Param::One(name)}, {"value", packs::Param::One(value)}};
}

class SysctlSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = Host::Open(dir_.path());
    ASSERT_TRUE(host.ok());
    host_ = std::move(*host);
  }
  Result<Plan> PlanFix(const packs::Params& args, const Host* host = nullptr) {
    const Host& on = host != nullptr ? *host : *host_;
    auto plan = ActionRegistry::Builtin().Find("sysctl.set")->PlanFix(on, args);
    if (plan.ok() && !on.is_machine_root()) {
      OverlayHost overlay(on);
      for (const FileEdit& edit : plan->files) EXPECT_TRUE(overlay.Apply(edit).ok());
      auto again = ActionRegistry::Builtin().Find("sysctl.set")->PlanFix(overlay, args);
      EXPECT_TRUE(again.ok() && again->empty());
    }
    return plan;
  }

  TempDir dir_;
  std::unique_ptr<Host> host_;
};

TEST_F(SysctlSetTest, FixesTheConflictingLineAndTheTreesProcFile) {
  dir_.WriteFile("etc/sysctl.d/10-network.conf", "# routing\nnet.ipv4.ip_forward = 1\n");
  dir_.WriteFile("etc/sysctl.conf", "#net.ipv4.ip_forward=1\n-net/ipv4/ip_forward=1\n");
  dir_.Symlink("../sysctl.conf", "etc/sysctl.d/99-sysctl.conf");
  dir_.WriteFile("proc/sys/net/ipv4/ip_forward", "1\n");
  auto plan = PlanFix(Args("net.ipv4.ip_forward", "0"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 3u);
  EXPECT_EQ(plan->files[0].path, "/etc/sysctl.d/10-network.conf");
  EXPECT_EQ(*plan->files[0].content, "# routing\nnet.ipv4.ip_forward = 0\n");
  // Reached through the 99-sysctl.conf link, edited once, at its real place.
  EXPECT_EQ(plan->files[1].path, "/etc/sysctl.conf");
  EXPECT_EQ(*plan->files[1].content, "#net.ipv4.ip_forward=1\n-net/ipv4/ip_forward=0\n");
  EXPECT_EQ(plan->files[2].path, "/proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(*plan->files[2].content, "0\n");
  EXPECT_THAT(plan->commands, IsEmpty());  // not the machine itself
}

TEST_F(SysctlSetTest, PersistsInItsOwnFileWhenNoFileSetsIt) {
  dir_.WriteFile("etc/sysctl.d/10-network.conf", "net.ipv4.ip_forward = 0\n");
  auto plan = PlanFix(Args("kernel/kptr_restrict", "2"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->files.size(), 1u);
  EXPECT_EQ(plan->files[0].path, "/etc/sysctl.d/99-vigil.conf");
  EXPECT_EQ(*plan->files[0].content, "kernel.kptr_restrict = 2\n");

  dir_.WriteFile("etc/sysctl.d/50-site.conf", "# site");  // no final newline
  packs::Params args = Args("kernel.dmesg_restrict", "1");
  args["file"] = packs::Param::One("/etc/sysctl.d/50-site.conf");
  auto own = PlanFix(args);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  ASSERT_EQ(own->files.size(), 1u);
  EXPECT_EQ(*own->files[0].content, "# site\nkernel.dmesg_restrict = 1\n");
}

TEST_F(SysctlSetTest, CompliantIsAnEmptyPlanWhateverTheBlanks) {
  dir_.WriteFile("etc/sysctl.d/60-tcp.conf", "net.ipv4.tcp_rmem=4096   87380 6291456\n");
  dir_.WriteFile("proc/sys/net/ipv4/tcp_rmem", "4096\t87380\t6291456\n");
  auto plan = PlanFix(Args("net.ipv4.tcp_rmem", "4096 87380 6291456"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
}

TEST_F(SysctlSetTest, OnTheMachineItselfTheLiveValueIsSetWithSysctl) {
  dir_.WriteFile("etc/sysctl.d/99-vigil.conf", "kernel.randomize_va_space = 2\n");
  dir_.WriteFile("proc/sys/kernel/randomize_va_space", "0\n");
  MachineLikeHost machine(*host_);
  auto plan = PlanFix(Args("kernel.randomize_va_space", "2"), &machine);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_THAT(plan->files, IsEmpty());
  ASSERT_EQ(plan->commands.size(), 1u);
  EXPECT_EQ(plan->commands[0].when, PlannedCommand::When::kApply);
  EXPECT_THAT(plan->commands[0].argv, ElementsAre("sysctl", "-w", "kernel.randomize_va_space=2"));

  dir_.WriteFile("proc/sys/kernel/randomize_va_space", "2\n");
  auto done = PlanFix(Args("kernel.randomize_va_space", "2"), &machine);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->empty());
}

TEST(SysctlSetFixture, Debian12EveryConflictingLineIsFixedAndTheMaskedFileSkipped) {
  auto host = Host::Open(vigil::testing::FixtureRoot("debian12"));
  ASSERT_TRUE(host.ok());
  auto plan = ActionRegistry::Builtin()
                  .Find("sysctl.set")
                  ->PlanFix(**host, Args("net/ipv4/ip_forward", "0"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_GE(plan->files.size(), 2u);
  EXPECT_EQ(plan->files[0].path, "/etc/sysctl.d/10-network.conf");
  EXPECT_EQ(*plan->files[0].content,
            "# Network settings for the historian\n"
            "net.ipv4.ip_forward = 0\n"
            "kernel.kptr_restrict = 2\n"
            "net/ipv4/tcp_syncookies = 1\n"
            "net.ipv4.conf.all.rp_filter = 1\n");
  EXPECT_EQ(plan->files[1].path, "/etc/sysctl.d/99-hardening.conf");
  EXPECT_EQ(*plan->files[1].content,
            "kernel.randomize_va_space=2\n"
            "net.ipv6.conf.all.disable_ipv6 = 1\n"
            "   net.ipv4.ip_forward   =   0\n");
  // /etc/sysctl.conf already says 0; 70-masked.conf links to /dev/null.
  for (size_t i = 2; i < plan->files.size(); ++i) {
    EXPECT_TRUE(plan->files[i].path.starts_with("/proc/sys/")) << plan->files[i].path;
  }
}

TEST_F(SysctlSetTest, BadValuesAreInvalidArgumentsNamingThem) {
  EXPECT_EQ(PlanFix(Args("kernel..x", "1")).status(),
            Status::InvalidArgument("sysctl.set: name 'kernel..x' is not a sysctl name"));
  EXPECT_EQ(PlanFix(Args("kernel", "1")).status(),
            Status::InvalidArgument("sysctl.set: name 'kernel' is not a sysctl name"));
  EXPECT_EQ(PlanFix(Args("kernel.x y", "1")).status(),
            Status::InvalidArgument("sysctl.set: name 'kernel.x y' is not a sysctl name"));
  EXPECT_EQ(PlanFix(Args("kernel.x", "1\nkernel.y=2")).status(),
            Status::InvalidArgument("sysctl.set: value '1 kernel.y=2' must be one line"));
  packs::Params args = Args("kernel.x", "1");
  args["file"] = packs::Param::One("sysctl.d/x.conf");
  EXPECT_EQ(PlanFix(args).status(),
            Status::InvalidArgument("sysctl.set: file 'sysctl.d/x.conf' is not an absolute path"));
}

}  // namespace
}  // namespace vigil::enforcers
