#include "agent/agent_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/outbox.h"
#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

// VmRSS of this process in bytes, as the kernel reports it.
uint64_t KernelRss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream in(line.substr(6));
      uint64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

TEST(MeasureProcessTest, AgreesWithTheKernel) {
  ProcessUsage before = MeasureProcess();
  uint64_t kernel = KernelRss();
  ASSERT_GT(kernel, 0u);
  EXPECT_GT(before.rss_bytes, kernel / 2);
  EXPECT_LT(before.rss_bytes, kernel * 2);
  volatile uint64_t spin = 0;
  for (int i = 0; i < 50'000'000; ++i) spin = spin + i;
  ProcessUsage after = MeasureProcess();
  EXPECT_GT(after.cpu_user_ms + after.cpu_system_ms, before.cpu_user_ms + before.cpu_system_ms);
}

TEST(AgentTableTest, ServesTheCountersAndTheOutbox) {
  testing::TempDir dir;
  auto store = store::Store::Open(dir.path() + "/state");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto outbox = Outbox::Open(**store);
  ASSERT_TRUE(outbox.ok());
  (*outbox)->Append(ItemKind::kVerdict, "{}").value();
  (*outbox)->Append(ItemKind::kLog, "{}").value();
  AgentStatus status(dir.path() + "/state", outbox->get());
  status.Update([](AgentCounters& c) {
    c.cycles = 7;
    c.last_cycle_ms = 12.5;
    c.checks_failing = 3;
    c.config_version = 4;
    c.enforce = "auto";
  });
  TableRegistry registry;
  ASSERT_TRUE(registry.Add(MakeAgentTable(status)).ok());
  auto host = Host::Open(dir.path());
  ASSERT_TRUE(host.ok());
  auto db = Database::Open(registry, **host);
  ASSERT_TRUE(db.ok());
  auto r = (*db)->Query(
      "SELECT pid > 0, cycles, last_cycle_ms, checks_failing, outbox_depth, outbox_next_seq, "
      "config_version, enforce, rss_bytes > 0, state_dir FROM vigil_agent");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  const Row& row = r->rows[0];
  EXPECT_EQ(row[0], Value(1));
  EXPECT_EQ(row[1], Value(7));
  EXPECT_EQ(row[2], Value(12.5));
  EXPECT_EQ(row[3], Value(3));
  EXPECT_EQ(row[4], Value(2));
  EXPECT_EQ(row[5], Value(3));
  EXPECT_EQ(row[6], Value(4));
  EXPECT_EQ(row[7], Value("auto"));
  EXPECT_EQ(row[8], Value(1));
  EXPECT_EQ(row[9], Value(dir.path() + "/state"));
}

}  // namespace
}  // namespace vigil::agent
