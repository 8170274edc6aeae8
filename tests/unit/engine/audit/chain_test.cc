// The audit chain on a real store: appending, reading, and every kind of tampering named.
#include "engine/audit/chain.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engine/digest.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::audit {
namespace {

using store::Family;
using testing::TempDir;

// 2026-11-25T17:02:00Z, the time of PROTOCOL.md's examples.
std::chrono::system_clock::time_point FixedTime() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1795626120));
}

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    chain_.reset();
    store_.reset();
    auto opened = store::Store::Open(dir_.path() + "/state");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    chain_ = std::make_unique<AuditChain>(*store_, FixedTime);
  }

  // Records 1..n: "set key{i} to value{i}" on /etc/ssh/sshd_config.
  std::vector<Record> AppendN(int n) {
    std::vector<Record> records;
    for (int i = 1; i <= n; ++i) {
      auto r = chain_->Append("enforcer", "sshd.set", "/etc/ssh/sshd_config",
                              R"({"key":"key)" + std::to_string(i) + R"(","value":"value)" +
                                  std::to_string(i) + R"("})");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) records.push_back(*r);
    }
    return records;
  }

  std::string StoredValue(uint64_t seq) {
    auto value = store_->Get(Family::kAudit, store::EncodeSeq(seq));
    EXPECT_TRUE(value.ok() && value->has_value()) << "record " << seq;
    return value.ok() ? value->value_or("") : "";
  }
  void PutStored(uint64_t seq, const std::string& value) {
    ASSERT_TRUE(store_->Put(Family::kAudit, store::EncodeSeq(seq), value).ok());
  }
  void DeleteStored(uint64_t seq) {
    ASSERT_TRUE(store_->Delete(Family::kAudit, store::EncodeSeq(seq)).ok());
  }
  // What a careful forger writes: the record with a new seq and prev_hash kept as it was, and
  // a hash that matches the record's own content.
  void PutForged(uint64_t seq, Record record) {
    record.seq = seq;
    record.hash = *ComputeHash(record);
    PutStored(seq, *SerializeRecord(record));
  }

  Verification VerifyOrDie(const std::optional<ChainHead>& expected = std::nullopt) {
    auto v = chain_->Verify(expected);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.value_or(Verification{});
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditChain> chain_;
};

TEST_F(AuditChainTest, AppendNumbersAndLinksRecords) {
  auto first = chain_->Append("enforcer", "sshd.set", "/etc/ssh/sshd_config",
                              R"({ "value": "no", "key": "PermitRootLogin" })");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->seq, 1u);
  EXPECT_EQ(first->time, "2026-11-25T17:02:00Z");
  EXPECT_EQ(first->detail, R"({"key":"PermitRootLogin","value":"no"})");
  EXPECT_EQ(first->prev_hash, kZeroHash);
  EXPECT_EQ(first->hash, Sha256Hex(std::string(kZeroHash) +
                                   R"({"seq":1,"time":"2026-11-25T17:02:00Z","actor":"enforcer",)"
                                   R"("action":"sshd.set","subject":"/etc/ssh/sshd_config",)"
                                   R"("detail":{"key":"PermitRootLogin","value":"no"}})"));
  EXPECT_EQ(StoredValue(1), *SerializeRecord(*first));

  auto second = chain_->Append("hub:admin", "config.publish", "", "{}");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->seq, 2u);
  EXPECT_EQ(second->prev_hash, first->hash);
  EXPECT_EQ(second->hash,
            Sha256Hex(first->hash + R"({"seq":2,"time":"2026-11-25T17:02:00Z",)"
                                    R"("actor":"hub:admin","action":"config.publish",)"
                                    R"("subject":"","detail":{}})"));
  EXPECT_EQ(*chain_->Head(), (ChainHead{2, second->hash}));
}

TEST_F(AuditChainTest, EmptyChain) {
  EXPECT_EQ(*chain_->Head(), (ChainHead{0, std::string(kZeroHash)}));
  Verification v = VerifyOrDie();
  EXPECT_TRUE(v.intact());
  EXPECT_EQ(v.records, 0u);
  EXPECT_EQ(v.head, (ChainHead{0, std::string(kZeroHash)}));
}

TEST_F(AuditChainTest, ReopenContinuesTheChain) {
  std::vector<Record> records = AppendN(3);
  Reopen();
  EXPECT_EQ(*chain_->Head(), (ChainHead{3, records[2].hash}));
  auto fourth = chain_->Append("enforcer", "sysctl.set", "net.ipv4.ip_forward", "{}");
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->seq, 4u);
  EXPECT_EQ(fourth->prev_hash, records[2].hash);
  Verification v = VerifyOrDie();
  EXPECT_TRUE(v.intact()) << v.problem;
  EXPECT_EQ(v.records, 4u);
  EXPECT_EQ(v.head, (ChainHead{4, fourth->hash}));
}

TEST_F(AuditChainTest, BadAppendsChangeNothing) {
  AppendN(1);
  auto expect_refused = [&](Result<Record> r, std::string_view message) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), message);
  };
  expect_refused(chain_->Append("", "a", "s", "{}"), "an audit record needs an actor");
  expect_refused(chain_->Append("x", "", "s", "{}"), "an audit record needs an action");
  expect_refused(chain_->Append("x", "a", "s", "[]"), "audit detail: not a JSON object");
  expect_refused(chain_->Append("x", "a", "s", ""),
                 "audit detail: The document is empty. at offset 0");
  expect_refused(chain_->Append("x", "a", "\xff", "{}"), "audit record subject is not valid UTF-8");
  EXPECT_EQ(chain_->Head()->seq, 1u);
  EXPECT_TRUE(VerifyOrDie().intact());
}

TEST_F(AuditChainTest, ReadAfter) {
  std::vector<Record> records = AppendN(4);
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(chain_
                  ->Read(2,
                         [&](const Record& r) {
                           seqs.push_back(r.seq);
                           EXPECT_EQ(r.hash, records[r.seq - 1].hash);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4}));
  seqs.clear();
  ASSERT_TRUE(chain_
                  ->Read(0,
                         [&](const Record& r) {
                           seqs.push_back(r.seq);
                           return r.seq < 2;
                         })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2}));
}

TEST_F(AuditChainTest, IntactChainVerifies) {
  std::vector<Record> records = AppendN(5);
  Verification v = VerifyOrDie();
  EXPECT_TRUE(v.intact()) << v.problem;
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(v.head, (ChainHead{5, records[4].hash}));
  // An older head is still held by a chain that has grown since.
  EXPECT_TRUE(VerifyOrDie(ChainHead{3, records[2].hash}).intact());
  EXPECT_TRUE(VerifyOrDie(ChainHead{5, records[4].hash}).intact());
  EXPECT_TRUE(VerifyOrDie(ChainHead{}).intact());
}

TEST_F(AuditChainTest, EditedDetailIsNamed) {
  AppendN(5);
  std::string stored = StoredValue(3);
  const std::string from = R"("value":"value3")";
  ASSERT_NE(stored.find(from), std::string::npos) << stored;
  PutStored(3, stored.replace(stored.find(from), from.size(), R"("value":"yes")"));
  Verification v = VerifyOrDie();
  ASSERT_FALSE(v.intact());
  EXPECT_EQ(v.broken_at, 3u);
  EXPECT_EQ(v.breakage, Breakage::kEdited);
  EXPECT_EQ(v.problem, "its hash does not match its content: the record was edited");
  EXPECT_EQ(v.records, 2u);
}

TEST_F(AuditChainTest, EditedTimeIsNamed) {
  AppendN(2);
  std::string stored = StoredValue(1);
  const std::string from = "17:02:00Z";
  PutStored(1, stored.replace(stored.find(from), from.size(), "16:02:00Z"));
  Verification v = VerifyOrDie();
  EXPECT_EQ(v.broken_at, 1u);
  EXPECT_EQ(v.breakage, Breakage::kEdited);
}

TEST_F(AuditChainTest, DeletedMiddleRecordIsNamed) {
  AppendN(5);
  DeleteStored(3);
  Verification v = VerifyOrDie();
  ASSERT_FALSE(v.intact());
  EXPECT_EQ(v.broken_at, 3u);
  EXPECT_EQ(v.breakage, Breakage::kMissing);
  EXPECT_EQ(v.problem,
            "the record is missing (the chain goes from record 2 to record 4): records were "
            "deleted");
}

TEST_F(AuditChainTest, DeletedFirstRecordIsNamed) {
  AppendN(3);
  DeleteStored(1);
  Verification v = VerifyOrDie();
  EXPECT_EQ(v.broken_at, 1u);
  EXPECT_EQ(v.breakage, Breakage::kMissing);
  EXPECT_EQ(v.problem,
            "the record is missing (the chain starts at record 2): records were deleted");
}

TEST_F(AuditChainTest, DeletedAndRenumberedRecordIsNamed) {
  std::vector<Record> records = AppendN(5);
  // Record 3 removed, 4 and 5 moved down with their seq and own hash rewritten.
  PutForged(3, records[3]);
  PutForged(4, records[4]);
  DeleteStored(5);
  Verification v = VerifyOrDie();
  EXPECT_EQ(v.broken_at, 3u);
  EXPECT_EQ(v.breakage, Breakage::kRelinked);
  EXPECT_EQ(v.problem,
            "its prev_hash does not match the hash of record 2: records were deleted, reordered "
            "or replaced");
}

TEST_F(AuditChainTest, SwappedRecordsAreNamed) {
  AppendN(5);
  const std::string second = StoredValue(2);
  const std::string third = StoredValue(3);
  PutStored(2, third);
  PutStored(3, second);
  Verification v = VerifyOrDie();
  ASSERT_FALSE(v.intact());
  EXPECT_EQ(v.broken_at, 2u);
  EXPECT_EQ(v.breakage, Breakage::kMisplaced);
  EXPECT_EQ(v.problem,
            "the record stored under this sequence number says it is record 3: records were "
            "moved or swapped");
}

TEST_F(AuditChainTest, SwappedAndRenumberedRecordsAreNamed) {
  std::vector<Record> records = AppendN(5);
  PutForged(2, records[2]);
  PutForged(3, records[1]);
  Verification v = VerifyOrDie();
  EXPECT_EQ(v.broken_at, 2u);
  EXPECT_EQ(v.breakage, Breakage::kRelinked);
  EXPECT_EQ(v.problem,
            "its prev_hash does not match the hash of record 1: records were deleted, reordered "
            "or replaced");
}

TEST_F(AuditChainTest, ReplacedFirstRecordIsNamed) {
  std::vector<Record> records = AppendN(2);
  Record forged = records[0];
  forged.prev_hash = records[1].hash;
  PutForged(1, forged);
  Verification v = VerifyOrDie();
  EXPECT_EQ(v.broken_at, 1u);
  EXPECT_EQ(v.breakage, Breakage::kRelinked);
  EXPECT_EQ(v.problem,
            "its prev_hash is not the zero hash that starts a chain: the record was replaced");
}

TEST_F(AuditChainTest, TruncatedTailIsNamedAgainstTheOldHead) {
  std::vector<Record> records = AppendN(5);
  const ChainHead old_head = *chain_->Head();
  DeleteStored(5);
  DeleteStored(4);
  // On its own the shorter chain is consistent; only the head kept elsewhere shows the loss.
  Verification alone = VerifyOrDie();
  EXPECT_TRUE(alone.intact());
  EXPECT_EQ(alone.records, 3u);

  Verification v = VerifyOrDie(old_head);
  ASSERT_FALSE(v.intact());
  EXPECT_EQ(v.broken_at, 4u);
  EXPECT_EQ(v.breakage, Breakage::kTruncated);
  EXPECT_EQ(v.problem,
            "the record is missing (the chain ends at record 3, the expected head is record 5): "
            "records were removed from the end");
  EXPECT_EQ(v.records, 3u);
  EXPECT_EQ(v.head, (ChainHead{3, records[2].hash}));
}

TEST_F(AuditChainTest, TruncatedAndRegrownChainIsNamed) {
  AppendN(5);
  const ChainHead old_head = *chain_->Head();
  DeleteStored(5);
  DeleteStored(4);
  auto regrown = AppendN(2);  // records 4 and 5 again, with other content
  ASSERT_EQ(regrown.size(), 2u);
  ASSERT_EQ(regrown[1].seq, 5u);
  ASSERT_TRUE(VerifyOrDie().intact());
  Verification v = VerifyOrDie(old_head);
  EXPECT_EQ(v.broken_at, 5u);
  EXPECT_EQ(v.breakage, Breakage::kRewritten);
  EXPECT_EQ(v.problem, "its hash " + regrown[1].hash + " is not the expected head hash " +
                           old_head.hash + ": the chain was rewritten");
}

TEST_F(AuditChainTest, UnreadableRecordIsNamed) {
  AppendN(3);
  PutStored(2, "garbage");
  Verification v = VerifyOrDie();
  EXPECT_EQ(v.broken_at, 2u);
  EXPECT_EQ(v.breakage, Breakage::kUnreadable);
  EXPECT_EQ(v.problem, "the stored record is unreadable: not JSON: Invalid value. at offset 0");
}

TEST_F(AuditChainTest, StrayKeyIsNamed) {
  AppendN(2);
  // "stray" sorts after the records' keys, which begin with zero bytes.
  ASSERT_TRUE(store_->Put(Family::kAudit, "stray", "x").ok());
  Verification v = VerifyOrDie();
  ASSERT_FALSE(v.intact());
  EXPECT_EQ(v.broken_at, 3u);
  EXPECT_EQ(v.breakage, Breakage::kUnreadable);
  EXPECT_EQ(v.problem,
            "a value is stored under a key that is not a record's sequence number "
            "(7374726179)");
}

TEST_F(AuditChainTest, AppendAfterAnUnreadableHeadFails) {
  AppendN(3);
  PutStored(3, "{}");
  auto r = chain_->Append("enforcer", "sshd.set", "x", "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message(),
            "cannot append to the audit chain: audit record 3 is unreadable: field \"seq\" is "
            "missing");
  EXPECT_EQ(*store_->Count(Family::kAudit), 3u);
}

TEST_F(AuditChainTest, ConcurrentAppendsTakeDistinctSeqs) {
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = chain_->Append("thread" + std::to_string(t), "test.append", "", "{}");
        if (r.ok()) seqs[t].push_back(r->seq);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& s : seqs) all.insert(s.begin(), s.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  Verification v = VerifyOrDie();
  EXPECT_TRUE(v.intact()) << v.problem;
  EXPECT_EQ(v.records, static_cast<uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace vigil::audit
