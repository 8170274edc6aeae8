// The fleet report on small exact inputs: stale nodes never pass, worst first, the SRs no
// machine check decides, per FR/SL, the trend of daily snapshots (against a recomputation from
// the verdicts), a report of a past time from the store (its verdicts and audit flags as they
// were), and the renderings (JSON and CSV parse back, text, HTML escaped and self-contained).
#include "server/fleet_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <ctime>
#include <map>
#include <stdexcept>
#include <tuple>

#include "engine/packs/verdict_json.h"

#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kT0 = 1795626120;  // 2026-11-25T17:02:00Z

packs::Catalog SmallCatalog() {
  packs::Catalog c;
  c.name = "IEC 62443-3-3";
  c.version = "2013";
  c.frs = {{"FR 1", "IAC", "Identification and authentication control"},
           {"FR 2", "UC", "Use control"}};
  auto sr = [](std::string id, std::string fr, int sl, packs::Coverage coverage,
               std::string note = "") {
    packs::Requirement r;
    r.id = std::move(id);
    r.fr = std::move(fr);
    r.title = "Title of " + r.id;
    r.sl = sl;
    r.coverage = coverage;
    r.note = std::move(note);
    r.frameworks = {{"nist-800-53", {"IA-" + r.id.substr(3)}}};
    return r;
  };
  c.srs = {sr("SR 1.1", "FR 1", 1, packs::Coverage::kMachine),
           sr("SR 1.2", "FR 1", 2, packs::Coverage::kDetectOnly, "a person rotates keys"),
           sr("SR 1.3", "FR 1", 1, packs::Coverage::kOrganisational, "attach the account policy"),
           sr("SR 2.1", "FR 2", 1, packs::Coverage::kMachine),
           sr("SR 2.2", "FR 2", 3, packs::Coverage::kMachine),
           sr("SR 2.3", "FR 2", 1, packs::Coverage::kNotCovered, "needs a physical audit")};
  c.framework_names = {{"nist-800-53", "NIST SP 800-53 Rev. 5"}, {"iso-27001", "ISO/IEC 27001"}};
  return c;
}

VerdictSummary V(std::string check, std::vector<std::string> sr, std::string status,
                 int64_t time = kT0, int sl = 1) {
  return {std::move(check), "pack", std::move(sr), sl, std::move(status), time};
}

FleetNode Node(std::string id, bool online, int64_t last_seen,
               std::vector<VerdictSummary> verdicts) {
  FleetNode n;
  n.host_identifier = id;
  n.hostname = id;
  n.online = online;
  n.last_seen = last_seen;
  n.cycle_ms = 15000;
  n.verdicts = std::move(verdicts);
  return n;
}

class FleetReportTest : public ::testing::Test {
 protected:
  FleetReport Build(std::vector<FleetNode> nodes) {
    FleetReportInput in;
    in.catalog = &catalog_;
    in.nodes = std::move(nodes);
    in.at = kT0;
    in.generated_at = kT0;
    return BuildFleetReport(in);
  }
  static std::vector<std::string> Order(const FleetReport& r) {
    std::vector<std::string> ids;
    for (const FleetNodeResult& n : r.nodes) ids.push_back(n.host_identifier + ":" + n.status);
    return ids;
  }
  static const FleetNodeResult& NodeOf(const FleetReport& r, const std::string& id) {
    for (const FleetNodeResult& n : r.nodes) {
      if (n.host_identifier == id) return n;
    }
    throw std::runtime_error("no node " + id);
  }
  static const FleetSrResult& SrOf(const FleetReport& r, const std::string& id) {
    for (const FleetSrResult& sr : r.srs) {
      if (sr.id == id) return sr;
    }
    throw std::runtime_error("no SR " + id);
  }

  const packs::Catalog catalog_ = SmallCatalog();
};

TEST_F(FleetReportTest, ANodeSilentForThreeCyclesIsStaleNeverPassing) {
  const std::vector<VerdictSummary> passing = {V("a", {"SR 1.1"}, "pass"),
                                               V("b", {"SR 2.1"}, "pass")};
  FleetReport r = Build({
      Node("silent", false, kT0 - 46, passing),   // 46 s > 3 x 15 s
      Node("recent", false, kT0 - 44, passing),   // within 3 cycles
      Node("online", true, kT0 - 3600, passing),  // connected: fresh whatever last_seen says
  });
  EXPECT_THAT(Order(r), ElementsAre("silent:stale", "online:pass", "recent:pass"));
  const FleetNodeResult& silent = NodeOf(r, "silent");
  EXPECT_TRUE(silent.stale);
  // Its machine SRs up to its target (SL 2) are stale; the others keep their coverage status.
  EXPECT_THAT(silent.sr_status, ElementsAre("stale", "stale", "organisational", "stale",
                                            "not_applicable", "not_covered"));
  EXPECT_EQ(SrOf(r, "SR 1.1").status, "stale");
  EXPECT_EQ(SrOf(r, "SR 1.1").nodes.at("pass"), 2);
  EXPECT_EQ(SrOf(r, "SR 1.1").nodes.at("stale"), 1);
  EXPECT_EQ(r.node_counts.at("stale"), 1);
  EXPECT_EQ(r.node_counts.at("pass"), 2);
  EXPECT_EQ(r.node_counts.at("online"), 1);
  // A node with a longer cycle is not stale as soon.
  FleetNode slow = Node("slow", false, kT0 - 100, passing);
  slow.cycle_ms = 60000;
  EXPECT_FALSE(Build({slow}).nodes[0].stale);
}

TEST_F(FleetReportTest, WorstFirstNodesAndSrs) {
  FleetReport r = Build({
      Node("clean", true, kT0, {V("a", {"SR 1.1"}, "pass"), V("b", {"SR 2.1"}, "pass")}),
      Node("one-fail", true, kT0, {V("a", {"SR 1.1"}, "fail"), V("b", {"SR 2.1"}, "pass")}),
      Node("two-fails", true, kT0, {V("a", {"SR 1.1"}, "fail"), V("b", {"SR 2.1"}, "fail")}),
      Node("errored", true, kT0, {V("a", {"SR 1.1"}, "error"), V("b", {"SR 2.1"}, "pass")}),
      Node("fresh-empty", true, kT0, {}),
      Node("gone", false, 0, {}),
  });
  EXPECT_THAT(Order(r), ElementsAre("two-fails:fail", "one-fail:fail", "errored:error",
                                    "gone:stale", "fresh-empty:no_evidence", "clean:pass"));
  EXPECT_THAT(NodeOf(r, "two-fails").failing_checks, ElementsAre("a", "b"));
  // SR 1.1 fails on two nodes, SR 2.1 on one: worst first, then catalogue order.
  std::vector<std::string> srs;
  for (const FleetSrResult& sr : r.srs) srs.push_back(sr.id + ":" + sr.status);
  EXPECT_THAT(srs, ElementsAre("SR 1.1:fail", "SR 2.1:fail", "SR 1.2:stale", "SR 1.3:organisational",
                               "SR 2.2:not_applicable", "SR 2.3:not_covered"));
  EXPECT_EQ(SrOf(r, "SR 1.1").nodes.at("fail"), 2);
  EXPECT_EQ(SrOf(r, "SR 1.1").nodes.at("error"), 1);
  EXPECT_THAT(SrOf(r, "SR 1.1").checks, ElementsAre("a"));
}

TEST_F(FleetReportTest, PerFrPerSlAndTargets) {
  FleetNode high = Node("high", true, kT0,
                        {V("a", {"SR 1.1"}, "pass"), V("c", {"SR 2.2"}, "fail", kT0, 3)});
  FleetReport r = Build({high, Node("low", true, kT0, {V("a", {"SR 1.1"}, "pass"),
                                                       V("b", {"SR 2.1"}, "pass")})});
  // A check from SL 3 that applied raises the node's target to 3.
  EXPECT_EQ(NodeOf(r, "high").target_sl, 3);
  EXPECT_EQ(NodeOf(r, "low").target_sl, 2);
  ASSERT_EQ(r.frs.size(), 2u);
  EXPECT_EQ(r.frs[0].id, "FR 1");
  // FR 1: SR 1.1 passes on both; SR 1.2 (detect only, SL 2) has no check on either node.
  EXPECT_EQ(r.frs[0].node_pass, 2);
  EXPECT_EQ(r.frs[0].node_total, 2);
  // FR 2: SR 2.1 passes on low and is n/a on high (no check); SR 2.2 fails on high.
  EXPECT_EQ(r.frs[1].node_pass, 1);
  EXPECT_EQ(r.frs[1].node_total, 2);
  ASSERT_EQ(r.sls.size(), 4u);
  EXPECT_EQ(r.sls[0].nodes_meeting, 2);  // SL 1: SR 1.1, SR 2.1 pass or n/a on both
  EXPECT_EQ(r.sls[1].nodes_meeting, 2);
  EXPECT_EQ(r.sls[2].nodes_meeting, 0);  // SL 3: high fails SR 2.2; low's target is 2
  EXPECT_EQ(r.sls[2].srs.at("fail"), 1);
}

TEST_F(FleetReportTest, TheSrsNoMachineCheckDecidesAreListedWithWhy) {
  FleetReport r = Build({Node("n", true, kT0, {V("a", {"SR 1.1"}, "pass")})});
  std::vector<std::string> listed;
  for (const UncoveredSr& u : r.uncovered) listed.push_back(u.id + " " + u.coverage + ": " + u.note);
  EXPECT_THAT(listed, ElementsAre("SR 1.2 detect_only: a person rotates keys",
                                  "SR 1.3 organisational: attach the account policy",
                                  "SR 2.3 not_covered: needs a physical audit"));
}

TEST_F(FleetReportTest, TrendIsEachDaysSnapshotOfTheLatestVerdicts) {
  testing::TempDir dir;
  auto store = OpenEmbeddedHubStore(dir.path() + "/store");
  ASSERT_TRUE(store.ok());
  auto item = [](const std::string& check, const std::string& status, const std::string& time) {
    return R"({"kind":"verdict","check":")" + check + R"(","sr":["SR 1.1"],"status":")" + status +
           R"(","time":")" + time + "\"}";
  };
  for (const char* host : {"a", "b"}) {
    NodeRecord node;
    node.host_identifier = node.hostname = host;
    ASSERT_TRUE((*store)->PutNode(node).ok());
  }
  // Day one: a fails c1 and passes c2, b passes c1. Day two: a's c1 was repaired, b's c1
  // errors; a's c2 was not sent again that day, and still counts as passing.
  ASSERT_TRUE((*store)
                  ->StoreEvidence("a", 1,
                                  {item("c1", "fail", "2026-11-25T17:02:00Z"),
                                   item("c2", "pass", "2026-11-25T17:02:10Z")})
                  .ok());
  ASSERT_TRUE((*store)->StoreEvidence("b", 1, {item("c1", "pass", "2026-11-25T17:02:20Z")}).ok());
  ASSERT_TRUE((*store)->StoreEvidence("a", 3, {item("c1", "fixed", "2026-11-26T17:02:00Z")}).ok());
  ASSERT_TRUE((*store)->StoreEvidence("b", 2, {item("c1", "error", "2026-11-26T17:02:05Z")}).ok());

  FleetReportLoad load;
  load.now = kT0 + 86400 + 100;
  load.online = {"a", "b"};
  auto in = LoadFleetReportInput(**store, catalog_, load);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  ASSERT_EQ(in->trend.size(), 2u);
  EXPECT_EQ(in->trend[0], (TrendPoint{"2026-11-25", 2, 1, 0, 2.0 / 3}));
  EXPECT_EQ(in->trend[1], (TrendPoint{"2026-11-26", 2, 0, 1, 2.0 / 3}));
  // A window that starts on day two.
  load.trend_days = 1;
  in = LoadFleetReportInput(**store, catalog_, load);
  ASSERT_TRUE(in.ok());
  ASSERT_EQ(in->trend.size(), 1u);
  EXPECT_EQ(in->trend[0], (TrendPoint{"2026-11-26", 2, 0, 1, 2.0 / 3}));
}

// A scripted fleet over five days, stored batch by batch; the trend of a report at each day's
// end and in the middle of a day equals the same snapshots recomputed from the script.
class FleetTrendTest : public FleetReportTest {
 protected:
  struct Sent {
    std::string host, check, status;
    int64_t time;
  };
  static constexpr int64_t kDay0 = kT0 / 86400 * 86400;  // 2026-11-25T00:00:00Z

  void SetUp() override {
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    for (const char* host : {"flip", "steady", "late"}) {
      NodeRecord node;
      node.host_identifier = node.hostname = host;
      ASSERT_TRUE(store_->PutNode(node).ok());
    }
  }
  static std::string Time(int64_t day, int64_t hour, int64_t minute = 0) {
    const std::time_t t = static_cast<std::time_t>(kDay0 + day * 86400 + hour * 3600 + minute * 60);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
  }
  // Stores a batch (as a node sends it: seq numbers go on) and remembers what it holds.
  void Send(const std::string& host,
            std::vector<std::tuple<std::string, std::string, std::string>> verdicts,
            bool twice = false) {
    std::vector<std::string> items;
    for (const auto& [check, status, time] : verdicts) {
      items.push_back(R"({"kind":"verdict","check":")" + check + R"(","sr":["SR 1.1"],"status":")" +
                      status + R"(","time":")" + time + "\"}");
      sent_.push_back({host, check, status, *packs::ParseRfc3339(time)});
    }
    uint64_t& seq = seq_[host];
    if (seq == 0) seq = 1;
    for (int i = 0; i < (twice ? 2 : 1); ++i) {
      auto ack = store_->StoreEvidence(host, seq, items);
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      EXPECT_EQ(ack->stored, i == 0 ? items.size() : 0u);
    }
    seq += items.size();
  }
  // Each day's snapshot at its end (the last day: at `at`), from the script alone.
  std::vector<TrendPoint> Naive(int64_t at, int days) const {
    std::vector<TrendPoint> points;
    const int64_t last = at / 86400;
    for (int64_t day = last - days + 1; day <= last; ++day) {
      const int64_t end = std::min((day + 1) * 86400 - 1, at);
      std::map<std::pair<std::string, std::string>, const Sent*> latest;
      for (const Sent& s : sent_) {  // in the order they arrived: the later wins a tie
        if (s.time > end) continue;
        const Sent*& l = latest[{s.host, s.check}];
        if (l == nullptr || s.time >= l->time) l = &s;
      }
      TrendPoint p;
      for (const auto& [key, s] : latest) {
        p.pass += s->status == "pass" || s->status == "fixed";
        p.fail += s->status == "fail";
        p.error += s->status == "error";
      }
      const int total = p.pass + p.fail + p.error;
      if (total == 0) continue;
      char day_text[16];
      const std::time_t t = static_cast<std::time_t>(day * 86400);
      std::tm utc{};
      gmtime_r(&t, &utc);
      std::strftime(day_text, sizeof(day_text), "%Y-%m-%d", &utc);
      p.day = day_text;
      p.pass_rate = static_cast<double>(p.pass) / total;
      points.push_back(p);
    }
    return points;
  }
  std::vector<TrendPoint> Trend(int64_t at, int64_t now, int days) {
    FleetReportLoad load;
    load.now = now;
    if (at < now) load.at = at;
    load.trend_days = days;
    auto in = LoadFleetReportInput(*store_, catalog_, load);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    return in.ok() ? in->trend : std::vector<TrendPoint>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<HubStore> store_;
  std::vector<Sent> sent_;
  std::map<std::string, uint64_t> seq_;
};

TEST_F(FleetTrendTest, TheTrendEqualsTheSnapshotsRecomputedFromTheVerdicts) {
  // Day 0: flip passes, then fails and passes again, partly in one batch; steady fails c2.
  Send("flip", {{"c1", "pass", Time(0, 8)}, {"c2", "pass", Time(0, 8)}});
  Send("flip", {{"c1", "fail", Time(0, 9)}, {"c1", "pass", Time(0, 11)}});
  Send("steady", {{"c1", "pass", Time(0, 10)}, {"c2", "fail", Time(0, 10)},
                  {"na", "not_applicable", Time(0, 10)}},
       /*twice=*/true);  // the ack was lost: stored once, counted once
  // Day 1: flip fails c2 (its c1 is not sent again); steady errors on c1.
  Send("flip", {{"c2", "fail", Time(1, 9)}});
  Send("steady", {{"c1", "error", Time(1, 9)}}, /*twice=*/true);
  // Day 2: nothing. Day 3: late sends its first verdicts; flip repairs c2 in the morning and
  // breaks it again at night; a verdict of steady from day 2 arrives late (its clock or its
  // queue), and one of day 3 before a later one of the same day.
  Send("late", {{"c1", "fixed", Time(3, 6)}, {"c9", "error", Time(3, 6)}});
  Send("flip", {{"c2", "pass", Time(3, 7)}});
  Send("flip", {{"c2", "fail", Time(3, 22)}});
  Send("steady", {{"c2", "pass", Time(3, 12)}});
  Send("steady", {{"c2", "error", Time(2, 12)}, {"c1", "pass", Time(3, 8)}});
  // Day 4: flip flips c1 three times in one batch, at the same minute at the end.
  Send("flip", {{"c1", "fail", Time(4, 1)}, {"c1", "pass", Time(4, 2)}, {"c1", "fail", Time(4, 3)},
                {"c1", "pass", Time(4, 3)}});

  const int64_t end = kDay0 + 5 * 86400 - 1;
  const std::vector<TrendPoint> trend = Trend(end, end + 3600, 7);
  EXPECT_EQ(trend, Naive(end, 7));
  ASSERT_EQ(trend.size(), 5u);
  // Spot checks of the recomputation itself: day 0 end: flip c1 pass, c2 pass; steady c1 pass,
  // c2 fail. Day 2: flip c1 pass, c2 fail; steady c1 error, c2 error (the late verdict).
  EXPECT_EQ(trend[0], (TrendPoint{"2026-11-25", 3, 1, 0, 0.75}));
  EXPECT_EQ(trend[2], (TrendPoint{"2026-11-27", 1, 1, 2, 0.25}));
  // Reports of each day's end, of the middle of days, and of now with a shorter window.
  for (int64_t at : {kDay0 + 86400 - 1, kDay0 + 86400 + 9 * 3600, kDay0 + 3 * 86400 + 6 * 3600,
                     kDay0 + 3 * 86400 + 12 * 3600, kDay0 + 4 * 86400 + 2 * 3600 + 30 * 60}) {
    EXPECT_EQ(Trend(at, end + 3600, 30), Naive(at, 30)) << "at " << at;
  }
  EXPECT_EQ(Trend(end + 3600, end + 3600, 2), Naive(end + 3600, 2));
  // And after a reopen.
  store_.reset();
  SetUp();
  EXPECT_EQ(Trend(end, end + 3600, 7), Naive(end, 7));
}

TEST_F(FleetReportTest, ReportTimesParseOrNameTheBadValue) {
  EXPECT_EQ(*ParseReportTime("2026-11-25T17:02:00Z", "at"), kT0);
  EXPECT_EQ(*ParseReportTime("1795626120", "at"), kT0);
  auto bad = ParseReportTime("yesterday", "at");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("at \"yesterday\" is not a time"));
}

TEST_F(FleetReportTest, AtAPastTimeTheStoreGivesTheFleetAsItWas) {
  testing::TempDir dir;
  auto store = OpenEmbeddedHubStore(dir.path() + "/store");
  ASSERT_TRUE(store.ok());
  NodeRecord node;
  node.host_identifier = "web-1";
  node.hostname = "web-1";
  node.enrolled_at = kT0 - 100;
  ASSERT_TRUE((*store)->PutNode(node).ok());
  node.host_identifier = node.hostname = "late";
  node.enrolled_at = kT0 + 1000;  // enrolled after the report's time
  ASSERT_TRUE((*store)->PutNode(node).ok());
  auto verdict = [](const std::string& status, const std::string& time) {
    return R"({"kind":"verdict","check":"a","pack":"p","sr":["SR 1.1"],"sl":1,"status":")" +
           status + R"(","rows":[],"rows_total":0,"time":")" + time + "\"}";
  };
  ASSERT_TRUE((*store)->RecordConnected("web-1", (kT0 - 50) * 1000).ok());
  ASSERT_TRUE((*store)
                  ->StoreEvidence("web-1", 1,
                                  {verdict("fail", "2026-11-25T17:01:50Z"),
                                   verdict("pass", "2026-11-25T17:10:00Z")})
                  .ok());
  ASSERT_TRUE((*store)->RecordDisconnected("web-1", (kT0 + 700) * 1000).ok());

  FleetReportLoad load;
  load.now = kT0 + 7200;
  load.at = kT0;  // connected then, and a's verdict was fail
  auto then = LoadFleetReportInput(**store, catalog_, load);
  ASSERT_TRUE(then.ok()) << then.status().ToString();
  FleetReport r = BuildFleetReport(*then);
  EXPECT_TRUE(r.historical);
  EXPECT_EQ(r.time, "2026-11-25T17:02:00Z");
  EXPECT_THAT(Order(r), ElementsAre("web-1:fail"));

  load.at = std::nullopt;  // now: disconnected 6500 s ago, so stale, with a's last verdict pass
  auto now = LoadFleetReportInput(**store, catalog_, load);
  ASSERT_TRUE(now.ok());
  r = BuildFleetReport(*now);
  EXPECT_THAT(Order(r), ElementsAre("late:stale", "web-1:stale"));
  EXPECT_EQ(NodeOf(r, "web-1").check_counts.at("pass"), 1);
  ASSERT_EQ(r.trend.size(), 1u);
  EXPECT_EQ(r.trend[0].pass, 1);

  load.online = {"web-1"};  // connected now
  now = LoadFleetReportInput(**store, catalog_, load);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(NodeOf(BuildFleetReport(*now), "web-1").status, "pass");
}

TEST_F(FleetReportTest, AnAuditFlagShowsInAReportOfATimeOnlyOnceRaised) {
  testing::TempDir dir;
  int64_t now = kT0;  // the hub's clock when it stores the heads
  auto store = OpenEmbeddedHubStore(dir.path() + "/store", [&] { return now; });
  ASSERT_TRUE(store.ok());
  NodeRecord node;
  node.host_identifier = node.hostname = "web-1";
  ASSERT_TRUE((*store)->PutNode(node).ok());
  auto head = [](int seq, const std::string& hash) {
    return R"({"kind":"audit_head","seq":)" + std::to_string(seq) + R"(,"hash":")" + hash + "\"}";
  };
  ASSERT_TRUE((*store)->StoreEvidence("web-1", 1, {head(12, "aaa")}).ok());
  now = kT0 + 3600;  // T2: the chain went back
  ASSERT_TRUE((*store)->StoreEvidence("web-1", 2, {head(7, "bbb")}).ok());

  auto report = [&](std::optional<int64_t> at) {
    FleetReportLoad load;
    load.now = kT0 + 7200;
    load.at = at;
    auto in = LoadFleetReportInput(**store, catalog_, load);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    return BuildFleetReport(*in);
  };
  FleetReport before = report(kT0 + 1800);  // T1 < T2
  EXPECT_FALSE(NodeOf(before, "web-1").audit_flagged);
  EXPECT_EQ(NodeOf(before, "web-1").audit_seq, 12u);
  EXPECT_EQ(before.node_counts.at("flagged"), 0);
  FleetReport after = report(kT0 + 5400);  // T3 > T2
  EXPECT_TRUE(NodeOf(after, "web-1").audit_flagged);
  EXPECT_EQ(NodeOf(after, "web-1").audit_seq, 7u);
  EXPECT_THAT(NodeOf(after, "web-1").audit_reason, HasSubstr("from seq 12 to seq 7"));
  EXPECT_EQ(after.node_counts.at("flagged"), 1);
  FleetReport at_t2 = report(kT0 + 3600);
  EXPECT_TRUE(NodeOf(at_t2, "web-1").audit_flagged);
  EXPECT_TRUE(NodeOf(report(std::nullopt), "web-1").audit_flagged);
  EXPECT_EQ(NodeOf(report(kT0 - 1), "web-1").audit_seq, 0u);  // no head yet
}

class FleetReportRenderTest : public FleetReportTest {
 protected:
  FleetReport Sample() {
    FleetNode evil = Node("<script>alert(1)</script>", true, kT0,
                          {V("x\"&<y>", {"SR 1.1"}, "fail")});
    evil.audit_head = AuditHeadRecord{7, "abc", true, "audit chain went back <truncated>"};
    return Build({evil, Node("db,1", true, kT0, {V("a", {"SR 1.1"}, "pass")})});
  }
};

TEST_F(FleetReportRenderTest, JsonIsTheDocumentedRecord) {
  const std::string json = FleetReportJson(Sample());
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["schema"].GetString(), "vigil.fleet_report/1");
  EXPECT_EQ(doc["summary"]["nodes"]["total"].GetInt(), 2);
  EXPECT_EQ(doc["summary"]["nodes"]["flagged"].GetInt(), 1);
  const auto& first = doc["nodes"][0];
  EXPECT_STREQ(first["identifier"].GetString(), "<script>alert(1)</script>");
  EXPECT_STREQ(first["status"].GetString(), "fail");
  EXPECT_STREQ(first["sr_status"]["SR 1.1"].GetString(), "fail");
  EXPECT_STREQ(first["failing_checks"][0].GetString(), "x\"&<y>");
  EXPECT_TRUE(first["audit"]["flagged"].GetBool());
  EXPECT_STREQ(doc["srs"][0]["id"].GetString(), "SR 1.1");
  EXPECT_EQ(doc["srs"][0]["nodes"]["fail"].GetInt(), 1);
  EXPECT_STREQ(doc["srs"][0]["frameworks"]["nist-800-53"][0].GetString(), "IA-1.1");
  EXPECT_EQ(doc["sls"].Size(), 4u);
  EXPECT_EQ(doc["not_covered"].Size(), 3u);
  EXPECT_STREQ(doc["frameworks"]["iso-27001"].GetString(), "ISO/IEC 27001");
}

TEST_F(FleetReportRenderTest, CsvHasOneRowPerNodeAndSrWithCrosswalkColumns) {
  const std::string csv = FleetReportCsv(Sample());
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < csv.size()) {
    size_t end = csv.find("\r\n", at);
    lines.push_back(csv.substr(at, end - at));
    at = end + 2;
  }
  ASSERT_EQ(lines.size(), 1u + 2 * 6);
  EXPECT_EQ(lines[0],
            "node,hostname,node_status,stale,audit_flagged,sr,fr,title,sl,coverage,sr_status,"
            "failing_checks,ISO/IEC 27001,NIST SP 800-53 Rev. 5");
  EXPECT_EQ(lines[1],
            "<script>alert(1)</script>,<script>alert(1)</script>,fail,false,true,SR 1.1,FR 1,"
            "Title of SR 1.1,1,machine,fail,\"x\"\"&<y>\",,IA-1.1");
  EXPECT_THAT(lines[7], HasSubstr("\"db,1\",\"db,1\",pass,false,false,SR 1.1,"));
}

TEST_F(FleetReportRenderTest, TextNamesTheWorstFirst) {
  const std::string text = FleetReportText(Sample());
  EXPECT_THAT(text, HasSubstr("Nodes: 2 (2 online): 1 fail"));
  EXPECT_THAT(text, HasSubstr("  [FAIL] <script>alert(1)</script>: SRs 0 pass, 1 fail"));
  EXPECT_THAT(text, HasSubstr("AUDIT CHAIN FLAGGED: audit chain went back <truncated>"));
  EXPECT_LT(text.find("[FAIL]"), text.find("[PASS]"));
  EXPECT_THAT(text, HasSubstr("SR 2.3 Title of SR 2.3 [not_covered]: needs a physical audit"));
}

TEST_F(FleetReportRenderTest, HtmlIsSelfContainedAndEscaped) {
  const std::string html = FleetReportHtml(Sample());
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("x&quot;&amp;&lt;y&gt;"));
  EXPECT_THAT(html, HasSubstr("audit chain went back &lt;truncated&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("NIST SP 800-53 Rev. 5"));
}

}  // namespace
}  // namespace vigil::server
