#include "engine/results/result_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::results {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ResultRow Port(const char* port) { return {{"port", port}, {"protocol", "6"}}; }

LogContext Context() {
  LogContext c;
  c.name = ScheduledName("iec62443-availability", "listening_ports");
  c.host_identifier = "hist-01";
  c.time = std::chrono::system_clock::time_point(std::chrono::seconds(1795626120));
  c.counter = 3;
  return c;
}

TEST(ResultLogTest, RowsBecomeTextWithNullAsEmpty) {
  auto rows = ToResultRows({"port", "address"}, {{Value(22), Value()}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (ResultRow{{"address", ""}, {"port", "22"}}));
}

TEST(ResultLogTest, DiffIsAMultisetDifferenceInArrivalOrder) {
  ResultDiff d = Diff({Port("22"), Port("80"), Port("80")}, {Port("443"), Port("22"), Port("80")});
  EXPECT_THAT(d.added, ElementsAre(Port("443")));
  EXPECT_THAT(d.removed, ElementsAre(Port("80")));
  EXPECT_TRUE(Diff({Port("22")}, {Port("22")}).empty());
  // The first run: everything is added.
  EXPECT_THAT(Diff({}, {Port("22"), Port("22")}).added, ElementsAre(Port("22"), Port("22")));
}

TEST(ResultLogTest, EventLinesMatchOsquerysFormat) {
  ResultDiff d{{Port("22")}, {Port("23")}};
  auto lines = EventLines(Context(), d);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            R"({"name":"pack_iec62443-availability_listening_ports","hostIdentifier":"hist-01",)"
            R"("calendarTime":"Wed Nov 25 17:02:00 2026 UTC","unixTime":1795626120,"epoch":0,)"
            R"("counter":3,"numerics":false,"action":"added","columns":{"port":"22","protocol":"6"}})");
  EXPECT_NE(lines[1].find(R"("action":"removed","columns":{"port":"23")"), std::string::npos);
  EXPECT_THAT(EventLines(Context(), d, /*log_removed=*/false), ::testing::SizeIs(1));
}

TEST(ResultLogTest, SnapshotLineCarriesEveryRow) {
  std::string line = SnapshotLine(Context(), {Port("22"), Port("80")});
  EXPECT_NE(line.find(R"("action":"snapshot","snapshot":[{"port":"22","protocol":"6"},)"
                      R"({"port":"80","protocol":"6"}]})"),
            std::string::npos)
      << line;
}

TEST(ResultLogTest, CalendarTimePadsTheDayLikeAsctime) {
  EXPECT_EQ(CalendarTime(std::chrono::system_clock::time_point(std::chrono::seconds(1794042000))),
            "Sat Nov  7 09:00:00 2026 UTC");
}

TEST(ResultLogTest, StoredRowsRoundTripAndBadOnesAreCorruption) {
  std::vector<ResultRow> rows = {Port("22"), {{"name", "quote \" and \\ and \n"}}};
  auto back = DecodeRows(EncodeRows(rows));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, rows);
  EXPECT_THAT(*DecodeRows("[]"), IsEmpty());
  for (const char* bad : {"", "{}", "[1]", R"([{"a":1}])", "[{"}) {
    auto r = DecodeRows(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace vigil::results
