// What the embedded hub store derives from the evidence agents send, on the real RocksDB in a
// temporary directory: each node's latest verdict per check (with its rows) now and at a past
// time, the history (a batch stored twice adds nothing), the daily snapshots, audit heads
// flagged when truncated or rewritten and as they stood at a past time, connection intervals,
// all surviving a reopen; a store of the previous layout upgraded on open; and the verdict
// record parsed back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <random>

#include "engine/packs/report.h"
#include "engine/packs/verdict_json.h"
#include "engine/store/store.h"
#include "server/hub_store.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

std::string VerdictItem(const std::string& check, const std::string& status,
                        const std::string& time, const std::string& rows = "[]",
                        const std::string& sr = R"(["SR 1.1","SR 2.1"])") {
  return R"({"kind":"verdict","check":")" + check +
         R"(","pack":"iec62443-access-control","sr":)" + sr + R"(,"sl":2,"status":")" + status +
         R"(","rows":)" + rows + R"(,"rows_total":1,"error":null,"duration_ms":0.4,"time":")" +
         time + R"(","enforcer":"sshd.set","remediation":null})";
}

std::string HeadItem(uint64_t seq, const std::string& hash) {
  return R"({"kind":"audit_head","seq":)" + std::to_string(seq) + R"(,"hash":")" + hash + "\"}";
}

class HubStoreEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    for (const char* host : {"db-1", "web-1"}) {
      NodeRecord node;
      node.host_identifier = host;
      node.hostname = host;
      node.key_hash = std::string("kh-") + host;
      ASSERT_TRUE(store_->PutNode(node).ok());
    }
  }
  void Open() {
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store", [this] { return now_; });
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void Reopen() {
    store_.reset();
    Open();
  }
  void Store(const std::string& host, uint64_t first_seq, const std::vector<std::string>& items) {
    auto ack = store_->StoreEvidence(host, first_seq, items);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  }
  std::map<std::string, std::vector<VerdictSummary>> Latest() {
    std::map<std::string, std::vector<VerdictSummary>> out;
    Status s = store_->LatestVerdicts([&](std::string_view host, const auto& verdicts) {
      out[std::string(host)] = verdicts;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::vector<std::string> History(const std::string& host, int64_t from, int64_t to) {
    std::vector<std::string> out;
    Status s = store_->VerdictHistory(host, from, to, [&](const VerdictHistoryEntry& e) {
      out.push_back(e.host_identifier + " " + e.verdict.check + " " + e.verdict.status + " " +
                    std::to_string(e.verdict.time));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<std::string> LatestAt(int64_t at) {
    std::vector<std::string> out;
    Status s = store_->LatestVerdictsAt(at, [&](std::string_view host, const auto& verdicts) {
      for (const VerdictSummary& v : verdicts) {
        out.push_back(std::string(host) + " " + v.check + " " + v.status + " " +
                      std::to_string(v.time));
      }
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::vector<std::string> Days(const std::string& host, int64_t from, int64_t to) {
    std::vector<std::string> out;
    Status s = store_->VerdictDays(host, from, to, [&](const VerdictDayCounts& c) {
      out.push_back(std::to_string(c.day) + ": " + std::to_string(c.pass) + " " +
                    std::to_string(c.fail) + " " + std::to_string(c.error));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::string HeadAt(const std::string& host, int64_t at) {
    auto head = store_->AuditHeadAt(host, at);
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    if (!head.ok() || !head->has_value()) return "none";
    const AuditHeadRecord& h = **head;
    return std::to_string(h.seq) + " " + h.hash +
           (h.flagged ? " flagged at " + std::to_string(h.flagged_at) : "");
  }

  TempDir dir_;
  int64_t now_ = 1795626120;  // the store's clock (2026-11-25T17:02:00Z)
  std::unique_ptr<HubStore> store_;
};

// 2026-11-25T17:02:00Z
constexpr int64_t kT0 = 1795626120;

TEST_F(HubStoreEvidenceTest, KeepsTheLatestVerdictPerCheckWithItsRows) {
  Store("web-1", 1,
        {VerdictItem("ssh-root", "pass", "2026-11-25T17:02:00Z"),
         VerdictItem("ssh-root", "fail", "2026-11-25T17:03:00Z",
                     R"([{"keyword":"permitrootlogin","value":"yes","line":3}])"),
         VerdictItem("auditd", "error", "2026-11-25T17:03:00Z", "[]", R"(["SR 2.8"])"),
         R"({"kind":"log","name":"x"})"});
  auto latest = Latest();
  ASSERT_EQ(latest.size(), 1u);
  const auto& web = latest["web-1"];
  ASSERT_EQ(web.size(), 2u);
  EXPECT_EQ(web[0], (VerdictSummary{"auditd", "iec62443-access-control", {"SR 2.8"}, 2, "error",
                                    kT0 + 60}));
  EXPECT_EQ(web[1], (VerdictSummary{"ssh-root", "iec62443-access-control", {"SR 1.1", "SR 2.1"},
                                    2, "fail", kT0 + 60}));

  auto item = store_->LatestVerdictJson("web-1", "ssh-root");
  ASSERT_TRUE(item.ok());
  ASSERT_TRUE(item->has_value());
  auto verdict = packs::ParseVerdictJson(**item);
  ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
  EXPECT_EQ(verdict->status, packs::VerdictStatus::kFail);
  EXPECT_THAT(verdict->columns, ElementsAre("keyword", "value", "line"));
  ASSERT_EQ(verdict->rows.size(), 1u);
  EXPECT_EQ(verdict->rows[0][1], Value("yes"));
  EXPECT_EQ(verdict->rows[0][2], Value(3));
  auto none = store_->LatestVerdictJson("db-1", "ssh-root");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(HubStoreEvidenceTest, AnOlderVerdictDoesNotReplaceANewerOne) {
  Store("web-1", 1, {VerdictItem("ssh-root", "fail", "2026-11-25T17:05:00Z")});
  Store("web-1", 2, {VerdictItem("ssh-root", "pass", "2026-11-25T17:04:00Z")});
  EXPECT_EQ(Latest()["web-1"][0].status, "fail");
  EXPECT_THAT(History("web-1", 0, kT0 + 3600),
              ElementsAre("web-1 ssh-root pass " + std::to_string(kT0 + 120),
                          "web-1 ssh-root fail " + std::to_string(kT0 + 180)));
}

TEST_F(HubStoreEvidenceTest, ABatchSentTwiceAddsNoHistory) {
  const std::vector<std::string> batch = {VerdictItem("ssh-root", "fail", "2026-11-25T17:02:00Z"),
                                          VerdictItem("auditd", "pass", "2026-11-25T17:02:00Z")};
  Store("web-1", 1, batch);
  Store("web-1", 1, batch);  // the ack was lost: the agent sends it again
  Store("db-1", 1, {VerdictItem("ssh-root", "pass", "2026-11-25T18:00:00Z")});
  EXPECT_THAT(History("", 0, kT0 + 86400),
              ElementsAre("web-1 auditd pass " + std::to_string(kT0),
                          "web-1 ssh-root fail " + std::to_string(kT0),
                          "db-1 ssh-root pass " + std::to_string(kT0 + 3480)));
  // One node, and a window.
  EXPECT_THAT(History("db-1", 0, kT0 + 86400),
              ElementsAre("db-1 ssh-root pass " + std::to_string(kT0 + 3480)));
  EXPECT_THAT(History("", kT0 + 1, kT0 + 3479), ElementsAre());
}

TEST_F(HubStoreEvidenceTest, AMalformedItemIsKeptButFeedsNothing) {
  Store("web-1", 1,
        {R"({"kind":"verdict","check":"x","status":"maybe"})", "not json",
         R"({"kind":"audit_head","seq":"7"})", VerdictItem("ok", "pass", "2026-11-25T17:02:00Z")});
  auto latest = Latest();
  ASSERT_EQ(latest["web-1"].size(), 1u);
  EXPECT_EQ(latest["web-1"][0].check, "ok");
  auto head = store_->AuditHead("web-1");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->has_value());
  int items = 0;
  ASSERT_TRUE(store_->ReadEvidence("web-1", 0, [&](uint64_t, std::string_view) {
    ++items;
    return true;
  }).ok());
  EXPECT_EQ(items, 4);
}

TEST_F(HubStoreEvidenceTest, AnAuditHeadThatGoesBackIsFlaggedAndStaysFlagged) {
  Store("web-1", 1, {HeadItem(10, "aaa"), HeadItem(12, "bbb")});
  auto head = store_->AuditHead("web-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ(**head, (AuditHeadRecord{12, "bbb", false, ""}));

  Store("web-1", 3, {HeadItem(7, "ccc")});  // truncated
  head = store_->AuditHead("web-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->seq, 7u);
  EXPECT_TRUE((*head)->flagged);
  EXPECT_THAT((*head)->reason, HasSubstr("went back from seq 12 to seq 7"));

  Store("web-1", 4, {HeadItem(8, "ddd")});
  Reopen();
  head = store_->AuditHead("web-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->seq, 8u);
  EXPECT_TRUE((*head)->flagged);
  EXPECT_THAT((*head)->reason, HasSubstr("truncated"));
}

TEST_F(HubStoreEvidenceTest, TheSameSeqWithAnotherHashIsFlaggedAsRewritten) {
  Store("db-1", 1, {HeadItem(5, "aaa")});
  Store("db-1", 2, {HeadItem(5, "aaa")});  // sent again unchanged: fine
  auto head = store_->AuditHead("db-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_FALSE((*head)->flagged);
  Store("db-1", 3, {HeadItem(5, "zzz")});
  head = store_->AuditHead("db-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_TRUE((*head)->flagged);
  EXPECT_THAT((*head)->reason, HasSubstr("seq 5 changed hash from aaa to zzz (rewritten)"));
}

TEST_F(HubStoreEvidenceTest, EverythingSurvivesAReopen) {
  Store("web-1", 1, {VerdictItem("ssh-root", "fail", "2026-11-25T17:02:00Z")});
  ASSERT_TRUE(store_->RecordConnected("web-1", kT0 * 1000).ok());
  Reopen();
  EXPECT_EQ(Latest()["web-1"][0].status, "fail");
  EXPECT_THAT(History("web-1", 0, kT0), ElementsAre("web-1 ssh-root fail " + std::to_string(kT0)));
  auto presence = store_->PresenceAt("web-1", kT0 * 1000 + 5);
  ASSERT_TRUE(presence.ok());
  EXPECT_TRUE(presence->online);
  // And a node's cycle.
  NodeRecord node;
  node.host_identifier = "cycled";
  node.cycle_ms = 60000;
  ASSERT_TRUE(store_->PutNode(node).ok());
  Reopen();
  auto stored = store_->GetNode("cycled");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->cycle_ms, 60000u);
}

TEST_F(HubStoreEvidenceTest, PresenceIsTheLastConnectionEventAtOrBeforeTheTime) {
  ASSERT_TRUE(store_->RecordConnected("web-1", 1000).ok());
  ASSERT_TRUE(store_->RecordDisconnected("web-1", 5000).ok());
  ASSERT_TRUE(store_->RecordConnected("web-1", 9000).ok());
  ASSERT_TRUE(store_->RecordConnected("web-10", 6000).ok());  // a host that sorts after
  auto at = [&](int64_t ms) {
    auto p = store_->PresenceAt("web-1", ms);
    EXPECT_TRUE(p.ok());
    return std::to_string(p->known) + std::to_string(p->online) + " " +
           std::to_string(p->since_ms);
  };
  EXPECT_EQ(at(999), "00 0");
  EXPECT_EQ(at(1000), "11 1000");
  EXPECT_EQ(at(4999), "11 1000");
  EXPECT_EQ(at(7000), "10 5000");
  EXPECT_EQ(at(20000), "11 9000");
  auto other = store_->PresenceAt("db-1", 20000);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->known);
}

TEST_F(HubStoreEvidenceTest, TheLatestVerdictsAtATimeAreTheNewestAtOrBeforeIt) {
  // web-1's "a": pass at T0, fail at T0+600 (arriving last, out of order), pass at T0+1200.
  Store("web-1", 1,
        {VerdictItem("a", "pass", "2026-11-25T17:02:00Z"),
         VerdictItem("ab", "fail", "2026-11-25T17:03:40Z"),
         VerdictItem("a", "pass", "2026-11-25T17:22:00Z"),
         VerdictItem("b", "error", "2026-11-25T17:22:00Z")});
  Store("db-1", 1, {VerdictItem("a", "fail", "2026-11-25T17:07:00Z")});
  Store("web-1", 5, {VerdictItem("a", "fail", "2026-11-25T17:12:00Z")});
  auto t = [](int64_t offset) { return std::to_string(kT0 + offset); };
  EXPECT_THAT(LatestAt(kT0 - 1), ElementsAre());
  EXPECT_THAT(LatestAt(kT0), ElementsAre("web-1 a pass " + t(0)));
  EXPECT_THAT(LatestAt(kT0 + 599), ElementsAre("db-1 a fail " + t(300), "web-1 a pass " + t(0),
                                               "web-1 ab fail " + t(100)));
  EXPECT_THAT(LatestAt(kT0 + 600), ElementsAre("db-1 a fail " + t(300), "web-1 a fail " + t(600),
                                               "web-1 ab fail " + t(100)));
  EXPECT_THAT(LatestAt(kT0 + 1199), ElementsAre("db-1 a fail " + t(300),
                                                "web-1 a fail " + t(600),
                                                "web-1 ab fail " + t(100)));
  EXPECT_THAT(LatestAt(kT0 + 1200),
              ElementsAre("db-1 a fail " + t(300), "web-1 a pass " + t(1200),
                          "web-1 ab fail " + t(100), "web-1 b error " + t(1200)));
  // The newest is what LatestVerdicts() has.
  EXPECT_EQ(Latest()["web-1"][0].status, "pass");
}

TEST_F(HubStoreEvidenceTest, AnAuditHeadAtATimeIsFlaggedOnlyOnceTheFlagWasRaised) {
  now_ = kT0;
  Store("web-1", 1, {HeadItem(10, "aaa")});
  now_ = kT0 + 100;
  Store("web-1", 2, {HeadItem(12, "bbb")});
  now_ = kT0 + 200;
  Store("web-1", 3, {HeadItem(7, "ccc")});  // truncated: flagged now
  now_ = kT0 + 300;
  Store("web-1", 4, {HeadItem(8, "ddd")});
  const std::string flagged = " flagged at " + std::to_string(kT0 + 200);
  EXPECT_EQ(HeadAt("web-1", kT0 - 1), "none");
  EXPECT_EQ(HeadAt("web-1", kT0), "10 aaa");
  EXPECT_EQ(HeadAt("web-1", kT0 + 199), "12 bbb");
  EXPECT_EQ(HeadAt("web-1", kT0 + 200), "7 ccc" + flagged);
  EXPECT_EQ(HeadAt("web-1", kT0 + 299), "7 ccc" + flagged);
  EXPECT_EQ(HeadAt("web-1", kT0 + 5000), "8 ddd" + flagged);
  EXPECT_EQ(HeadAt("db-1", kT0 + 5000), "none");
  Reopen();
  EXPECT_EQ(HeadAt("web-1", kT0 + 150), "12 bbb");
  auto head = store_->AuditHead("web-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ(**head, (AuditHeadRecord{8, "ddd", true,
                                     "audit chain went back from seq 12 to seq 7 (truncated)",
                                     kT0 + 200}));
}

constexpr int64_t kDay = 86400;
constexpr int64_t kDay0 = kT0 / kDay * kDay;  // 2026-11-25T00:00:00Z

std::string Rfc3339(int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string DayCounts(int64_t day, const std::string& counts) {
  return std::to_string(kDay0 + day * kDay) + ": " + counts;
}

TEST_F(HubStoreEvidenceTest, DailySnapshotsAreTheLatestVerdictsAtEachDaysEnd) {
  auto at = [](int64_t day, int64_t hour) { return Rfc3339(kDay0 + day * kDay + hour * 3600); };
  // Day 0: "a" flips pass -> fail -> pass, "b" fails, "n" does not apply. Day 2: "b" passes.
  Store("web-1", 1,
        {VerdictItem("a", "pass", at(0, 10)), VerdictItem("a", "fail", at(0, 12)),
         VerdictItem("b", "fail", at(0, 12)), VerdictItem("n", "not_applicable", at(0, 12))});
  Store("web-1", 5, {VerdictItem("a", "pass", at(0, 14))});
  Store("web-1", 6, {VerdictItem("b", "pass", at(2, 1))});
  EXPECT_THAT(Days("web-1", kDay0, kDay0 + 4 * kDay),
              ElementsAre(DayCounts(0, "1 1 0"), DayCounts(2, "2 0 0")));
  // A window that opens later starts with the snapshot it opens on.
  EXPECT_THAT(Days("web-1", kDay0 + kDay, kDay0 + 4 * kDay),
              ElementsAre(DayCounts(1, "1 1 0"), DayCounts(2, "2 0 0")));
  EXPECT_THAT(Days("web-1", kDay0 + 3 * kDay, kDay0 + 4 * kDay),
              ElementsAre(DayCounts(3, "2 0 0")));
  EXPECT_THAT(Days("web-1", kDay0 - kDay, kDay0 - 1), ElementsAre());
  EXPECT_THAT(Days("db-1", kDay0, kDay0 + 4 * kDay), ElementsAre());
  // A late verdict of day 1 changes day 1 on, up to the next verdict of its check (day 3).
  Store("web-1", 7, {VerdictItem("a", "error", at(3, 5))});
  Store("web-1", 8, {VerdictItem("a", "fail", at(1, 5))});
  EXPECT_THAT(Days("web-1", kDay0, kDay0 + 4 * kDay),
              ElementsAre(DayCounts(0, "1 1 0"), DayCounts(1, "0 2 0"), DayCounts(2, "1 1 0"),
                          DayCounts(3, "1 0 1")));
  // And a late verdict the same day as a later one changes nothing.
  Store("web-1", 9, {VerdictItem("a", "pass", at(3, 4))});
  EXPECT_THAT(Days("web-1", kDay0, kDay0 + 4 * kDay),
              ElementsAre(DayCounts(0, "1 1 0"), DayCounts(1, "0 2 0"), DayCounts(2, "1 1 0"),
                          DayCounts(3, "1 0 1")));
}

// Random batches over eight days, times on the hour so that ties happen, most arriving out of
// order, some sent twice: after each batch, each day's snapshot, expanded from VerdictDays(), is
// what the verdicts sent so far give when recomputed from scratch.
TEST_F(HubStoreEvidenceTest, DailySnapshotsEqualTheNaiveRecomputationOfARandomHistory) {
  struct Sent {
    std::string host, check, status;
    int64_t time;
  };
  std::vector<Sent> sent;  // in arrival order: on a tie, the later one wins
  std::mt19937 rng(62443);
  std::map<std::string, uint64_t> next_seq = {{"db-1", 1}, {"web-1", 1}};
  const char* statuses[] = {"pass", "fail", "error", "not_applicable", "fixed"};
  auto check = [&](const std::string& host) {
    std::vector<std::string> expected, got;
    for (int64_t day = 0; day < 9; ++day) {
      const int64_t end = kDay0 + (day + 1) * kDay - 1;
      std::map<std::string, const Sent*> latest;
      for (const Sent& s : sent) {
        if (s.host != host || s.time > end) continue;
        const Sent*& l = latest[s.check];
        if (l == nullptr || s.time >= l->time) l = &s;
      }
      int counts[3] = {0, 0, 0};
      for (const auto& [name, s] : latest) {
        counts[0] += s->status == "pass" || s->status == "fixed";
        counts[1] += s->status == "fail";
        counts[2] += s->status == "error";
      }
      expected.push_back(DayCounts(day, std::to_string(counts[0]) + " " +
                                            std::to_string(counts[1]) + " " +
                                            std::to_string(counts[2])));
    }
    std::vector<std::string> changes = Days(host, kDay0, kDay0 + 9 * kDay - 1);
    std::string current = "0 0 0";
    size_t c = 0;
    for (int64_t day = 0; day < 9; ++day) {
      const std::string prefix = std::to_string(kDay0 + day * kDay) + ": ";
      if (c < changes.size() && changes[c].starts_with(prefix)) {
        current = changes[c++].substr(prefix.size());
      }
      got.push_back(DayCounts(day, current));
    }
    EXPECT_EQ(c, changes.size()) << "a change outside the window's days";
    EXPECT_EQ(got, expected) << host;
    return got == expected;
  };
  for (int b = 0; b < 80; ++b) {
    const std::string host = rng() % 2 ? "db-1" : "web-1";
    std::vector<std::string> items;
    std::vector<Sent> batch;
    const size_t n = 1 + rng() % 6;
    for (size_t i = 0; i < n; ++i) {
      Sent s{host, "c" + std::to_string(rng() % 4), statuses[rng() % 5],
             kDay0 + static_cast<int64_t>(rng() % (8 * 24)) * 3600};
      items.push_back(VerdictItem(s.check, s.status, Rfc3339(s.time)));
      batch.push_back(s);
    }
    Store(host, next_seq[host], items);
    if (b % 7 == 0) Store(host, next_seq[host], items);  // sent twice: stored once
    next_seq[host] += n;
    sent.insert(sent.end(), batch.begin(), batch.end());
    ASSERT_TRUE(check(host)) << "after batch " << b;
  }
  // The upgrade computes the same snapshots from the history alone.
  store_.reset();
  {
    auto raw = store::Store::Open(dir_.path() + "/store", {.layout = store::Layout::kHub});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    std::vector<std::string> derived;
    ASSERT_TRUE((*raw)->Scan(store::Family::kEvidence, std::string("\0S\0", 3),
                             [&](std::string_view key, std::string_view) {
                               if (!key.starts_with(std::string("\0S\0", 3))) return false;
                               derived.emplace_back(key);
                               return true;
                             }).ok());
    EXPECT_FALSE(derived.empty());
    derived.push_back(std::string("\0M\0version", 10));
    for (const std::string& key : derived) {
      ASSERT_TRUE((*raw)->Delete(store::Family::kEvidence, key).ok());
    }
  }
  Open();
  for (const std::string host : {"db-1", "web-1"}) EXPECT_TRUE(check(host)) << "upgraded";
}

// Keys of the previous layout, written the way the previous hub wrote them.
std::string OldHistoryKey(int64_t time, const std::string& host, const std::string& check) {
  return std::string("\0H\0", 3) + store::EncodeSeq(static_cast<uint64_t>(time)) + host +
         std::string(1, '\0') + check;
}

TEST_F(HubStoreEvidenceTest, AStoreOfThePreviousLayoutIsUpgradedOnOpen) {
  store_.reset();
  {
    auto raw = store::Store::Open(dir_.path() + "/store", {.layout = store::Layout::kHub});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    store::Store& s = **raw;
    const auto E = store::Family::kEvidence;
    ASSERT_TRUE(s.Delete(E, std::string("\0M\0version", 10)).ok());  // as the old hub left it
    ASSERT_TRUE(s.Put(E, OldHistoryKey(kT0 - kDay, "web-1", "a"), "pass\t2\tp\tSR 1.1").ok());
    ASSERT_TRUE(s.Put(E, OldHistoryKey(kT0, "web-1", "a"), "fail\t2\tp\tSR 1.1").ok());
    ASSERT_TRUE(s.Put(E, OldHistoryKey(kT0, "web-1", "b"), "error\t2\tp\tSR 1.1").ok());
    ASSERT_TRUE(s.Put(E, std::string("\0L\0web-1", 8),
                      "a\t" + std::to_string(kT0) + "\tfail\t2\tp\tSR 1.1\nb\t" +
                          std::to_string(kT0) + "\terror\t2\tp\tSR 1.1\n")
                    .ok());
    ASSERT_TRUE(s.Put(E, std::string("\0D\0", 3) + store::EncodeSeq(kT0 / kDay) + "web-1",
                      "0 1 1")
                    .ok());
    ASSERT_TRUE(s.Put(E, std::string("\0A\0web-1", 8),
                      R"({"seq":7,"hash":"h","flagged":true,"reason":"audit chain went back"})")
                    .ok());
  }
  Open();
  EXPECT_THAT(History("web-1", 0, kT0), ElementsAre("web-1 a pass " + std::to_string(kT0 - kDay),
                                                    "web-1 a fail " + std::to_string(kT0),
                                                    "web-1 b error " + std::to_string(kT0)));
  EXPECT_THAT(LatestAt(kT0 - 1), ElementsAre("web-1 a pass " + std::to_string(kT0 - kDay)));
  EXPECT_THAT(Days("web-1", kDay0 - kDay, kT0),
              ElementsAre(DayCounts(-1, "1 0 0"), DayCounts(0, "0 1 1")));
  // When the flag was raised was not kept: it shows at any time.
  EXPECT_EQ(HeadAt("web-1", 0), "7 h flagged at 0");
  EXPECT_EQ(HeadAt("web-1", kT0), "7 h flagged at 0");
  // New evidence goes on from there, and a second open upgrades nothing again.
  Store("web-1", 1, {VerdictItem("b", "pass", "2026-11-25T17:03:00Z")});
  Reopen();
  EXPECT_THAT(Days("web-1", kDay0, kT0 + 60), ElementsAre(DayCounts(0, "1 1 0")));
  EXPECT_EQ(History("web-1", 0, kT0 + 60).size(), 4u);
  store_.reset();
  auto raw = store::Store::Open(dir_.path() + "/store", {.layout = store::Layout::kHub});
  ASSERT_TRUE(raw.ok());
  int old_keys = 0;
  ASSERT_TRUE((*raw)
                  ->Scan(store::Family::kEvidence, "",
                         [&](std::string_view key, std::string_view) {
                           old_keys += key.starts_with(std::string("\0H\0", 3)) ||
                                       key.starts_with(std::string("\0D\0", 3));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(old_keys, 0);
}

TEST(VerdictJsonTest, WhatVerdictJsonWritesParsesBack) {
  packs::Verdict v;
  v.check = "ssh-root";
  v.pack = "p";
  v.sr = {"SR 1.1"};
  v.sl = 3;
  v.status = packs::VerdictStatus::kFixed;
  v.columns = {"file", "line", "ratio", "none"};
  v.rows = {{Value("/etc/ssh/sshd_config"), Value(3), Value(0.5), Value()}};
  v.rows_total = 7;
  v.duration_ms = 1.5;
  v.time = "2026-11-25T17:02:00Z";
  v.enforcer = "sshd.set";
  v.remediation = packs::Remediation{"applied",
                                     {packs::Change{packs::Change::Kind::kFile, "/etc/x", "-a\n+b\n",
                                                    {}, std::nullopt},
                                      packs::Change{packs::Change::Kind::kCommand, "", "",
                                                    {"systemctl", "reload"}, 0}},
                                     "done",
                                     42};
  auto parsed = packs::ParseVerdictJson(packs::VerdictJson(v));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(packs::VerdictJson(*parsed), packs::VerdictJson(v));
}

TEST(VerdictJsonTest, BadVerdictsNameTheMember) {
  auto missing = packs::ParseVerdictJson(R"({"status":"pass"})");
  EXPECT_THAT(missing.status().message(), HasSubstr("\"check\""));
  auto status = packs::ParseVerdictJson(R"({"check":"c","status":"great"})");
  EXPECT_THAT(status.status().message(), HasSubstr("\"status\" is \"great\""));
  auto sl = packs::ParseVerdictJson(R"({"check":"c","status":"pass","sl":9})");
  EXPECT_THAT(sl.status().message(), HasSubstr("\"sl\""));
}

TEST(VerdictJsonTest, Rfc3339Times) {
  EXPECT_EQ(packs::ParseRfc3339("2026-11-25T17:02:00Z"), kT0);
  EXPECT_EQ(packs::ParseRfc3339("2026-11-25T18:02:00.250+01:00"), kT0);
  EXPECT_EQ(packs::ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_FALSE(packs::ParseRfc3339("2026-11-25 17:02").has_value());
  EXPECT_FALSE(packs::ParseRfc3339("2026-13-25T17:02:00Z").has_value());
  EXPECT_FALSE(packs::ParseRfc3339("2026-11-25T17:02:00").has_value());
}

}  // namespace
}  // namespace vigil::server
