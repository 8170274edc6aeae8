// What the embedded hub store derives from the evidence agents send, on the real RocksDB in a
// temporary directory: each node's latest verdict per check (with its rows), the history (a
// batch stored twice adds nothing), audit heads flagged when truncated or rewritten, connection
// intervals, all surviving a reopen; and the verdict record parsed back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/packs/report.h"
#include "engine/packs/verdict_json.h"
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
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
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

  TempDir dir_;
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
