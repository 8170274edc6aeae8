#include "agent/outbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(OutboxOptions options = {}) {
    box_.reset();
    store_.reset();
    store_ = std::move(store::Store::Open(dir_.path() + "/state").value());
    auto box = Outbox::Open(*store_, options);
    ASSERT_TRUE(box.ok()) << box.status().ToString();
    box_ = std::move(*box);
  }
  std::vector<uint64_t> Seqs(uint64_t after = 0) {
    std::vector<uint64_t> out;
    auto items = box_->Peek(after, 1000, 1u << 30);  // kept: the loop must not outlive it
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    for (const OutboxItem& item : items.value()) out.push_back(item.seq);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Outbox> box_;
};

TEST_F(OutboxTest, ItemsStayInOrderUntilAcknowledged) {
  EXPECT_EQ(*box_->Append(ItemKind::kLog, R"({"kind":"log"})"), 1u);
  EXPECT_EQ(*box_->Append(ItemKind::kVerdict, R"({"kind":"verdict"})"), 2u);
  EXPECT_EQ(*box_->Append(ItemKind::kAuditHead, R"({"kind":"audit_head"})"), 3u);
  auto items = box_->Peek(0, 10, 1u << 20);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[1].kind, ItemKind::kVerdict);
  EXPECT_EQ((*items)[1].json, R"({"kind":"verdict"})");
  EXPECT_THAT(Seqs(1), ElementsAre(2, 3));

  ASSERT_TRUE(box_->Ack(2).ok());
  EXPECT_THAT(Seqs(), ElementsAre(3));
  EXPECT_EQ(box_->stats().depth, 1u);
  ASSERT_TRUE(box_->Ack(99).ok());
  EXPECT_THAT(Seqs(), IsEmpty());
  EXPECT_EQ(box_->stats().bytes, 0u);
}

TEST_F(OutboxTest, PeekStopsAtTheByteBudgetButGivesAtLeastOne) {
  for (int i = 0; i < 5; ++i) box_->Append(ItemKind::kLog, std::string(100, 'x')).value();
  EXPECT_EQ(box_->Peek(0, 10, 250)->size(), 2u);
  EXPECT_EQ(box_->Peek(0, 10, 10)->size(), 1u);
  EXPECT_EQ(box_->Peek(0, 3, 1u << 20)->size(), 3u);
}

TEST_F(OutboxTest, NumbersAndItemsSurviveARestart) {
  box_->Append(ItemKind::kVerdict, "{}").value();
  box_->Append(ItemKind::kLog, "{}").value();
  ASSERT_TRUE(box_->Ack(1).ok());
  Reopen();
  EXPECT_THAT(Seqs(), ElementsAre(2));
  EXPECT_EQ(box_->stats().depth, 1u);
  EXPECT_EQ(*box_->Append(ItemKind::kLog, "{}"), 3u);
  // Even with everything acknowledged, a number is never given twice.
  ASSERT_TRUE(box_->Ack(3).ok());
  Reopen();
  EXPECT_EQ(*box_->Append(ItemKind::kLog, "{}"), 4u);
}

TEST_F(OutboxTest, TheBoundDropsOldestLogsNeverEvidence) {
  Reopen({.max_bytes = 1000});
  const std::string big(300, 'r');
  box_->Append(ItemKind::kLog, big).value();        // 1
  box_->Append(ItemKind::kVerdict, big).value();    // 2
  box_->Append(ItemKind::kLog, big).value();        // 3
  box_->Append(ItemKind::kAuditHead, big).value();  // 4: over the bound, log 1 goes
  EXPECT_THAT(Seqs(), ElementsAre(2, 3, 4));
  EXPECT_EQ(box_->stats().dropped, 1u);
  box_->Append(ItemKind::kVerdict, big).value();  // 5: log 3 goes
  EXPECT_THAT(Seqs(), ElementsAre(2, 4, 5));
  box_->Append(ItemKind::kVerdict, big).value();  // 6: no log left: evidence stays, over bound
  EXPECT_THAT(Seqs(), ElementsAre(2, 4, 5, 6));
  EXPECT_EQ(box_->stats().dropped, 2u);
  EXPECT_GT(box_->stats().bytes, 1000u);
  Reopen({.max_bytes = 1000});
  EXPECT_EQ(box_->stats().dropped, 2u);
  EXPECT_EQ(box_->stats().depth, 4u);
}

TEST_F(OutboxTest, ABatchGetsConsecutiveNumbersAndObeysTheBound) {
  Reopen({.max_bytes = 1000});
  const std::string big(300, 'r');
  box_->Append(ItemKind::kVerdict, big).value();  // 1
  // Three logs at once: together with the verdict they pass the bound, so the oldest log of
  // the batch itself goes.
  EXPECT_EQ(*box_->AppendAll(ItemKind::kLog, {big, big, big}), 2u);
  EXPECT_THAT(Seqs(), ElementsAre(1, 3, 4));
  EXPECT_EQ(box_->stats().dropped, 1u);
  EXPECT_EQ(box_->stats().depth, 3u);
  EXPECT_EQ(box_->stats().next_seq, 5u);
  EXPECT_EQ(*box_->AppendAll(ItemKind::kVerdict, {}), 5u);  // nothing stored, nothing used
  EXPECT_EQ(*box_->Append(ItemKind::kVerdict, "{}"), 5u);
  Reopen({.max_bytes = 1000});
  EXPECT_THAT(Seqs(), ElementsAre(1, 3, 4, 5));
  EXPECT_EQ(box_->stats().dropped, 1u);
}

TEST_F(OutboxTest, AnUnreadableItemIsCorruptionNamingIt) {
  box_->Append(ItemKind::kLog, "{}").value();
  ASSERT_TRUE(store_->Put(store::Family::kOutbox, store::EncodeSeq(7), "?garbage").ok());
  auto reopened = Outbox::Open(*store_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(reopened.status().message(), ::testing::HasSubstr("outbox item 7"));
}

}  // namespace
}  // namespace vigil::agent
