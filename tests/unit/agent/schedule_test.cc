#include "agent/schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using std::chrono::seconds;

class ScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    schedule_.reset();
    store_.reset();
    store_ = std::move(store::Store::Open(dir_.path() + "/state").value());
    auto s = Schedule::Open(*store_, std::chrono::hours(1));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    schedule_ = std::move(*s);
  }

  const Clock::time_point t0_ = Clock::time_point(seconds(1795626000));
  // check_a's interval is too short for a splay (a tenth of 5 s rounds to 0).
  const std::vector<ScheduledItem> items_ = {{"check_a", seconds(5)},
                                             {"pack_p_ports", seconds(600)}};
  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Schedule> schedule_;
};

TEST_F(ScheduleTest, SplayIsFixedPerNameAndWithinATenthOfTheInterval) {
  ScheduledItem item{"pack_p_ports", seconds(600)};
  EXPECT_EQ(Schedule::Splay(item), Schedule::Splay(item));
  EXPECT_LE(Schedule::Splay(item), seconds(60));
  EXPECT_EQ(Schedule::Splay({"check_a", seconds(5)}), seconds(0));
  // Different names spread out.
  std::set<long long> splays;
  for (int i = 0; i < 20; ++i) {
    splays.insert(Schedule::Splay({"q" + std::to_string(i), seconds(600)}).count());
  }
  EXPECT_GT(splays.size(), 10u);
  // A daily item starts within the first minute too.
  std::set<long long> daily;
  for (int i = 0; i < 20; ++i) {
    const auto splay = Schedule::Splay({"d" + std::to_string(i), seconds(86400)});
    EXPECT_LE(splay, Schedule::kMaxSplay);
    daily.insert(splay.count());
  }
  EXPECT_GT(daily.size(), 10u);
}

TEST_F(ScheduleTest, ItemsRunAfterTheirSplayThenEveryInterval) {
  const auto splay = Schedule::Splay(items_[1]);
  EXPECT_THAT(schedule_->Due(items_, t0_, t0_), ElementsAre("check_a"));
  EXPECT_THAT(schedule_->Due(items_, t0_ + splay, t0_), ElementsAre("check_a", "pack_p_ports"));
  ASSERT_TRUE(schedule_->Begin("check_a").ok());
  ASSERT_TRUE(schedule_->End("check_a", t0_).ok());
  ASSERT_TRUE(schedule_->End("pack_p_ports", t0_).ok());
  EXPECT_THAT(schedule_->Due(items_, t0_ + seconds(4), t0_), IsEmpty());
  EXPECT_THAT(schedule_->Due(items_, t0_ + seconds(5), t0_), ElementsAre("check_a"));
}

TEST_F(ScheduleTest, LastRunsSurviveARestart) {
  ASSERT_TRUE(schedule_->Begin("pack_p_ports").ok());
  ASSERT_TRUE(schedule_->End("pack_p_ports", t0_).ok());
  Reopen();
  // Restarted 5 minutes later: the 10-minute query is not due again yet.
  const auto restart = t0_ + seconds(300);
  EXPECT_THAT(schedule_->Due(items_, restart, restart), ElementsAre("check_a"));
  EXPECT_THAT(schedule_->Due(items_, t0_ + seconds(600), restart),
              ElementsAre("check_a", "pack_p_ports"));
}

TEST_F(ScheduleTest, AnItemRunningWhenTheProcessDiedIsDeniedAndReported) {
  ASSERT_TRUE(schedule_->Begin("pack_p_ports").ok());
  Reopen();  // the process "died" with the mark set
  const auto now = Clock::now();
  auto denials = schedule_->Denials(now);
  ASSERT_EQ(denials.size(), 1u);
  EXPECT_EQ(denials[0].name, "pack_p_ports");
  EXPECT_GT(denials[0].until, now + std::chrono::minutes(59));
  EXPECT_THAT(schedule_->Due(items_, now + std::chrono::hours(2) - std::chrono::hours(1) -
                                         std::chrono::minutes(1),
                             t0_),
              ElementsAre("check_a"));
  // The denial is durable, and ends.
  Reopen();
  EXPECT_THAT(schedule_->Denials(now), ::testing::SizeIs(1));
  EXPECT_THAT(schedule_->Due(items_, now + std::chrono::hours(2), t0_),
              ElementsAre("check_a", "pack_p_ports"));
}

}  // namespace
}  // namespace vigil::agent
