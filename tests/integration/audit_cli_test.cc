// `vigil audit show` and `vigil audit verify` on chains the test writes through the library.
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <tuple>

#include "engine/audit/chain.h"
#include "engine/store/store.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using audit::AuditChain;
using audit::Record;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

ProcessResult Vigil(std::vector<std::string> args) {
  args.insert(args.begin(), VIGIL_BIN);
  return RunProcess(args);
}

class AuditCliTest : public ::testing::Test {
 protected:
  // Three records in DIR/state, written and closed before the command runs.
  void SetUp() override {
    state_ = dir_.path() + "/state";
    auto store = store::Store::Open(state_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    AuditChain chain(**store, [] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1795626120));
    });
    for (auto [action, subject, detail] : {std::tuple{"sshd.set", "/etc/ssh/sshd_config",
                                                      R"({"value":"no","key":"PermitRootLogin"})"},
                                           {"sysctl.set", "net.ipv4.ip_forward", R"({"value":0})"},
                                           {"file.write", "/etc/motd\twith a tab", "{}"}}) {
      auto r = chain.Append("enforcer", action, subject, detail);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      records_.push_back(*r);
    }
  }

  void Tamper(const std::function<void(store::Store&)>& change) {
    auto store = store::Store::Open(state_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    change(**store);
  }

  TempDir dir_;
  std::string state_;
  std::vector<Record> records_;
};

TEST_F(AuditCliTest, VerifyIntactChain) {
  ProcessResult r = Vigil({"audit", "verify", "--state-dir", state_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "audit chain intact: 3 records, head 3 " + records_[2].hash + "\n");
  EXPECT_EQ(r.err, "");

  ProcessResult expected =
      Vigil({"audit", "verify", "--state-dir=" + state_, "--expect-head", "2:" + records_[1].hash});
  EXPECT_EQ(expected.exit_code, 0) << expected.err;
}

TEST_F(AuditCliTest, ShowPrintsOneLinePerRecord) {
  ProcessResult r = Vigil({"audit", "show", "--state-dir", state_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "1\t2026-11-25T17:02:00Z\tenforcer\tsshd.set\t/etc/ssh/sshd_config\t"
            "{\"key\":\"PermitRootLogin\",\"value\":\"no\"}\n"
            "2\t2026-11-25T17:02:00Z\tenforcer\tsysctl.set\tnet.ipv4.ip_forward\t"
            "{\"value\":0}\n"
            "3\t2026-11-25T17:02:00Z\tenforcer\tfile.write\t/etc/motd\\twith a tab\t{}\n");

  ProcessResult after = Vigil({"audit", "show", "--state-dir", state_, "--after", "2"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out,
            "3\t2026-11-25T17:02:00Z\tenforcer\tfile.write\t/etc/motd\\twith a tab\t{}\n");

  ProcessResult json = Vigil({"audit", "show", "--state-dir", state_, "--json", "--after", "1"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, *audit::SerializeRecord(records_[1]) + "\n" +
                          *audit::SerializeRecord(records_[2]) + "\n");
}

TEST_F(AuditCliTest, VerifyNamesAnEditedRecord) {
  Tamper([](store::Store& store) {
    std::string stored = **store.Get(store::Family::kAudit, store::EncodeSeq(2));
    stored.replace(stored.find("\"value\":0"), 9, "\"value\":1");
    ASSERT_TRUE(store.Put(store::Family::kAudit, store::EncodeSeq(2), stored).ok());
  });
  ProcessResult r = Vigil({"audit", "verify", "--state-dir", state_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "audit chain broken at record 2: its hash does not match its content: the record "
            "was edited\n");
}

TEST_F(AuditCliTest, VerifyNamesADeletedRecord) {
  Tamper([](store::Store& store) {
    ASSERT_TRUE(store.Delete(store::Family::kAudit, store::EncodeSeq(2)).ok());
  });
  ProcessResult r = Vigil({"audit", "verify", "--state-dir", state_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "audit chain broken at record 2: the record is missing (the chain goes from record 1 "
            "to record 3): records were deleted\n");
}

TEST_F(AuditCliTest, VerifyAgainstAnOldHeadNamesTruncation) {
  const std::string head = "3:" + records_[2].hash;
  Tamper([](store::Store& store) {
    ASSERT_TRUE(store.Delete(store::Family::kAudit, store::EncodeSeq(3)).ok());
  });
  EXPECT_EQ(Vigil({"audit", "verify", "--state-dir", state_}).exit_code, 0);
  ProcessResult r = Vigil({"audit", "verify", "--state-dir", state_, "--expect-head", head});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "audit chain broken at record 3: the record is missing (the chain ends at record 2, "
            "the expected head is record 3): records were removed from the end\n");
}

TEST_F(AuditCliTest, ShowReportsAnUnreadableRecord) {
  Tamper([](store::Store& store) {
    ASSERT_TRUE(store.Put(store::Family::kAudit, store::EncodeSeq(2), "garbage").ok());
  });
  ProcessResult r = Vigil({"audit", "show", "--state-dir", state_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "1\t2026-11-25T17:02:00Z\tenforcer\tsshd.set\t/etc/ssh/sshd_config\t"
            "{\"key\":\"PermitRootLogin\",\"value\":\"no\"}\n");
  EXPECT_EQ(r.err,
            "vigil audit show: audit record 2 is unreadable: not JSON: Invalid value. at offset "
            "0 (run vigil audit verify)\n");
}

TEST_F(AuditCliTest, StoreHeldByAnotherProcess) {
  auto held = store::Store::Open(state_);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ProcessResult r = Vigil({"audit", "verify", "--state-dir", state_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "vigil audit verify: state directory " + state_ +
                       " is in use by another vigil process (pid " + std::to_string(::getpid()) +
                       ")\n");
}

TEST_F(AuditCliTest, MissingStateDirIsNotCreated) {
  const std::string missing = dir_.path() + "/nothing";
  ProcessResult r = Vigil({"audit", "verify", "--state-dir", missing});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "vigil audit verify: state directory " + missing + " does not exist\n");
  EXPECT_NE(::access(missing.c_str(), F_OK), 0);
  ProcessResult show = Vigil({"audit", "show", "--state-dir", missing});
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_NE(::access(missing.c_str(), F_OK), 0);
}

TEST_F(AuditCliTest, UsageErrors) {
  EXPECT_EQ(Vigil({"audit"}).exit_code, 2);
  ProcessResult unknown = Vigil({"audit", "erase"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err.rfind("vigil audit: unknown subcommand 'erase'\n", 0), 0u) << unknown.err;
  ProcessResult after = Vigil({"audit", "show", "--state-dir", state_, "--after", "x"});
  EXPECT_EQ(after.exit_code, 2);
  EXPECT_EQ(after.err, "vigil audit show: --after must be a non-negative integer, not 'x'\n");
  ProcessResult head = Vigil({"audit", "verify", "--state-dir", state_, "--expect-head", "3"});
  EXPECT_EQ(head.exit_code, 2);
  EXPECT_EQ(head.err,
            "vigil audit verify: --expect-head must be SEQ:HASH (a record number and its 64 hex "
            "digit hash), not '3'\n");
  ProcessResult help = Vigil({"audit", "verify", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--state-dir DIR"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("/var/lib/vigil"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace vigil
