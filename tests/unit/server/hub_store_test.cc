// The embedded hub store on the real RocksDB in a temporary directory: every record
// round-trips and survives a reopen, the lookups by hash, evidence dedup and acks, campaign
// ids, first-wins answers, the directory's lock and layout, and the audit chain.
#include "server/hub_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engine/store/store.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

NodeRecord Node(const std::string& host, const std::string& key_hash = "") {
  NodeRecord node;
  node.host_identifier = host;
  node.hostname = host + ".plant.example";
  node.os = "Debian GNU/Linux 12 (bookworm)";
  node.vigil_version = "0.6.0";
  node.roles = {"historian", "dmz"};
  node.key_hash = key_hash.empty() ? "kh-" + host : key_hash;
  node.enrolled_at = 1795539720;
  node.last_seen = 1795539730;
  node.config_version = 7;
  node.remote_address = "10.0.0.5:41234";
  node.acked_seq = 0;
  return node;
}

TokenRecord Token(const std::string& id, const std::string& hash, Role role) {
  TokenRecord token;
  token.id = id;
  token.name = "ops " + id;
  token.role = role;
  token.hash = hash;
  token.created_at = 1795539000;
  token.created_by = "local";
  return token;
}

CampaignRecord Campaign(const std::string& id) {
  CampaignRecord c;
  c.id = id;
  c.sql = "SELECT name, \"uid\" FROM users WHERE uid < 1000 -- é\n";
  c.target = "role:historian";
  c.expected = {"db-1", "web-1"};
  c.created_by = "tok_0123456789ab";
  c.created_at = 1795539720123;
  c.deadline = 1795539730123;
  c.wait_until = 1795543320123;
  c.timeout_ms = 5000;
  c.finished = false;
  return c;
}

AnswerRecord Answer(const std::string& campaign, const std::string& host) {
  AnswerRecord a;
  a.campaign_id = campaign;
  a.host_identifier = host;
  a.columns = {"name", "uid"};
  a.rows_json = R"([["root","0"],["daemon","1"]])";
  a.rows = 2;
  a.rows_total = 2;
  a.duration_ms = 1.25;
  a.received_at = 1795539720999;
  return a;
}

class HubStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto store = OpenEmbeddedHubStore(path_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void Reopen() {
    store_.reset();
    Open();
  }

  std::vector<std::pair<uint64_t, std::string>> Evidence(const std::string& host,
                                                         uint64_t after = 0) {
    std::vector<std::pair<uint64_t, std::string>> items;
    Status s = store_->ReadEvidence(host, after, [&](uint64_t seq, std::string_view item) {
      items.emplace_back(seq, item);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return items;
  }

  TempDir dir_;
  const std::string path_ = dir_.path() + "/hub/store";
  std::unique_ptr<HubStore> store_;
};

TEST_F(HubStoreTest, EveryRecordRoundTripsAndSurvivesAReopen) {
  const NodeRecord node = Node("web-1");
  const TokenRecord token = Token("tok_0123456789ab", "th-1", Role::kOperator);
  auto id = store_->NextCampaignId();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  const CampaignRecord campaign = Campaign(*id);
  AnswerRecord ok = Answer(*id, "web-1");
  AnswerRecord failed = Answer(*id, "db-1");
  failed.status = AnswerRecord::Status::kError;
  failed.columns.clear();
  failed.rows_json = "[]";
  failed.rows = failed.rows_total = 0;
  failed.error = "no such table: userz";
  failed.duration_ms = 0.1 + 0.2;  // a double that needs every digit

  ASSERT_TRUE(store_->PutNode(node).ok());
  ASSERT_TRUE(store_->PutToken(token).ok());
  ASSERT_TRUE(store_->PutCampaign(campaign).ok());
  ASSERT_TRUE(*store_->PutAnswer(ok));
  ASSERT_TRUE(*store_->PutAnswer(failed));

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "open" : "reopened");
    EXPECT_EQ(*store_->GetNode("web-1"), node);
    EXPECT_EQ(*store_->GetToken(token.id), token);
    EXPECT_EQ(*store_->GetCampaign(*id), campaign);
    auto answers = store_->Answers(*id);
    ASSERT_TRUE(answers.ok()) << answers.status().ToString();
    EXPECT_THAT(*answers, ElementsAre(failed, ok));  // host_identifier order
    Reopen();
  }
}

TEST_F(HubStoreTest, AbsentRecordsAreNullopt) {
  EXPECT_EQ(*store_->GetNode("nobody"), std::nullopt);
  EXPECT_EQ(*store_->FindNodeByKeyHash("nothing"), std::nullopt);
  EXPECT_EQ(*store_->FindNodeByKeyHash(""), std::nullopt);
  EXPECT_EQ(*store_->GetToken("tok_000000000000"), std::nullopt);
  EXPECT_EQ(*store_->FindTokenByHash("nothing"), std::nullopt);
  EXPECT_EQ(*store_->GetCampaign("q_1"), std::nullopt);
  EXPECT_EQ(*store_->GetCampaign("not-a-campaign"), std::nullopt);
  EXPECT_TRUE(store_->Answers("q_1")->empty());
  EXPECT_TRUE(store_->ListNodes()->empty());
  EXPECT_TRUE(store_->ListTokens()->empty());
  EXPECT_TRUE(store_->ListCampaigns(10)->empty());
}

TEST_F(HubStoreTest, NodesAreListedInIdentifierOrderAndFoundByKeyHash) {
  for (const char* host : {"web-2", "db-1", "web-10", "web-1"}) {
    ASSERT_TRUE(store_->PutNode(Node(host)).ok());
  }
  auto nodes = store_->ListNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  std::vector<std::string> hosts;
  for (const NodeRecord& n : *nodes) hosts.push_back(n.host_identifier);
  EXPECT_THAT(hosts, ElementsAre("db-1", "web-1", "web-10", "web-2"));

  auto found = store_->FindNodeByKeyHash("kh-web-10");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->host_identifier, "web-10");

  // Re-enrolment with a new key: the old key no longer finds the node, the new one does.
  NodeRecord rekeyed = Node("web-10", "kh-new");
  ASSERT_TRUE(store_->PutNode(rekeyed).ok());
  EXPECT_EQ(*store_->FindNodeByKeyHash("kh-web-10"), std::nullopt);
  EXPECT_EQ(*store_->FindNodeByKeyHash("kh-new"), rekeyed);
  Reopen();
  EXPECT_EQ(*store_->FindNodeByKeyHash("kh-web-10"), std::nullopt);
  EXPECT_EQ(*store_->FindNodeByKeyHash("kh-new"), rekeyed);
  EXPECT_EQ(store_->ListNodes()->size(), 4u);
}

TEST_F(HubStoreTest, AKeyHashBelongsToOneNode) {
  ASSERT_TRUE(store_->PutNode(Node("a", "same")).ok());
  Status s = store_->PutNode(Node("b", "same"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(*store_->GetNode("b"), std::nullopt);
  EXPECT_EQ((*store_->FindNodeByKeyHash("same"))->host_identifier, "a");
}

TEST_F(HubStoreTest, BadIdentifiersAreInvalidArgument) {
  EXPECT_EQ(store_->PutNode(Node("")).code(), StatusCode::kInvalidArgument);
  Status nul = store_->PutNode(Node(std::string("a\0b", 3)));
  EXPECT_EQ(nul.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(nul.message(), HasSubstr("host identifier contains a NUL byte"));
  EXPECT_EQ(store_->PutNode(Node(std::string(2000, 'h'))).code(), StatusCode::kInvalidArgument);
  Status campaign = store_->PutCampaign(Campaign("q_x"));
  EXPECT_EQ(campaign.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(campaign.message(), HasSubstr("campaign id \"q_x\""));
  EXPECT_EQ(store_->PutCampaign(Campaign("q_0")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutToken(Token("", "h", Role::kAdmin)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutToken(Token("tok_1", "", Role::kAdmin)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutAnswer(Answer("", "web-1")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(HubStoreTest, TouchNodeUpdatesOnlyLastSeenAndAddress) {
  NodeRecord node = Node("web-1");
  ASSERT_TRUE(store_->PutNode(node).ok());
  ASSERT_TRUE(store_->StoreEvidence("web-1", 1, {"{}", "{}"}).ok());
  ASSERT_TRUE(store_->TouchNode("web-1", 1795540000, "10.0.0.9:5000").ok());
  node.last_seen = 1795540000;
  node.remote_address = "10.0.0.9:5000";
  node.acked_seq = 2;
  EXPECT_EQ(*store_->GetNode("web-1"), node);
  Reopen();  // not synced, but in the write-ahead log
  EXPECT_EQ(*store_->GetNode("web-1"), node);
  Status unknown = store_->TouchNode("nobody", 1, "");
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("nobody"));
}

TEST_F(HubStoreTest, TokensAreFoundByHashAndListedInCreationOrder) {
  // Ids in reverse byte order of creation: the list must follow creation, not ids.
  ASSERT_TRUE(store_->PutToken(Token("tok_c", "hash-c", Role::kAdmin)).ok());
  ASSERT_TRUE(store_->PutToken(Token("tok_b", "hash-b", Role::kViewer)).ok());
  ASSERT_TRUE(store_->PutToken(Token("tok_a", "hash-a", Role::kAnalyst)).ok());
  // Revoking (a rewrite) keeps the token's place.
  TokenRecord revoked = Token("tok_c", "hash-c", Role::kAdmin);
  revoked.revoked = true;
  revoked.revoked_at = 1795539999;
  ASSERT_TRUE(store_->PutToken(revoked).ok());
  Reopen();
  ASSERT_TRUE(store_->PutToken(Token("tok_0", "hash-0", Role::kOperator)).ok());

  auto tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  std::vector<std::string> ids;
  for (const TokenRecord& t : *tokens) ids.push_back(t.id);
  EXPECT_THAT(ids, ElementsAre("tok_c", "tok_b", "tok_a", "tok_0"));
  EXPECT_EQ((*tokens)[0], revoked);

  EXPECT_EQ(*store_->FindTokenByHash("hash-a"), Token("tok_a", "hash-a", Role::kAnalyst));
  EXPECT_EQ(*store_->FindTokenByHash("hash-c"), revoked);
  EXPECT_EQ(*store_->FindTokenByHash("hash-x"), std::nullopt);
  EXPECT_EQ(store_->PutToken(Token("tok_z", "hash-a", Role::kAdmin)).code(),
            StatusCode::kAlreadyExists);
}

TEST_F(HubStoreTest, CampaignIdsIncreaseAcrossReopenAndListNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(*store_->NextCampaignId());
  EXPECT_THAT(ids, ElementsAre("q_1", "q_2", "q_3"));
  Reopen();
  for (int i = 0; i < 9; ++i) ids.push_back(*store_->NextCampaignId());
  EXPECT_EQ(ids[3], "q_4");
  EXPECT_EQ(ids.back(), "q_12");
  // q_2 was allocated but never stored; q_10 and q_12 must sort above q_9 (not as text).
  for (const std::string& id : ids) {
    if (id == "q_2") continue;
    ASSERT_TRUE(store_->PutCampaign(Campaign(id)).ok());
  }
  auto newest = store_->ListCampaigns(4);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  std::vector<std::string> listed;
  for (const CampaignRecord& c : *newest) listed.push_back(c.id);
  EXPECT_THAT(listed, ElementsAre("q_12", "q_11", "q_10", "q_9"));
  EXPECT_EQ(store_->ListCampaigns(100)->size(), 11u);
  EXPECT_TRUE(store_->ListCampaigns(0)->empty());

  // Finishing a campaign rewrites it in place.
  CampaignRecord done = Campaign("q_3");
  done.finished = true;
  ASSERT_TRUE(store_->PutCampaign(done).ok());
  Reopen();
  EXPECT_EQ(*store_->GetCampaign("q_3"), done);
  EXPECT_EQ(*store_->NextCampaignId(), "q_13");
}

TEST_F(HubStoreTest, CampaignIdsAreUniqueUnderConcurrency) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ids.push_back(*store_->NextCampaignId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (auto& ids : per_thread) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 100u);
  EXPECT_TRUE(all.count("q_100"));
}

TEST_F(HubStoreTest, TheFirstAnswerWins) {
  AnswerRecord first = Answer("q_1", "web-1");
  AnswerRecord second = first;
  second.status = AnswerRecord::Status::kError;
  second.error = "late duplicate";
  EXPECT_TRUE(*store_->PutAnswer(first));
  EXPECT_FALSE(*store_->PutAnswer(second));
  Reopen();
  EXPECT_FALSE(*store_->PutAnswer(second));
  EXPECT_THAT(*store_->Answers("q_1"), ElementsAre(first));
  // Campaigns whose ids share a prefix keep their answers apart.
  EXPECT_TRUE(*store_->PutAnswer(Answer("q_11", "web-1")));
  EXPECT_EQ(store_->Answers("q_1")->size(), 1u);
  EXPECT_EQ(store_->Answers("q_11")->size(), 1u);
}

TEST_F(HubStoreTest, EvidenceSentTwiceIsStoredOnceAndGapsAreAccepted) {
  ASSERT_TRUE(store_->PutNode(Node("web-1")).ok());
  auto first = store_->StoreEvidence("web-1", 1, {"{\"i\":1}", "{\"i\":2}", "{\"i\":3}"});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->acked_seq, 3u);
  EXPECT_EQ(first->stored, 3u);

  // The same batch again (the ack was lost): nothing new.
  auto again = store_->StoreEvidence("web-1", 1, {"{\"i\":1}", "{\"i\":2}", "{\"i\":3}"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->acked_seq, 3u);
  EXPECT_EQ(again->stored, 0u);

  // An overlapping batch: only 4 and 5 are new, and the stored 3 is not replaced.
  auto overlap = store_->StoreEvidence("web-1", 3, {"{\"i\":\"other\"}", "{\"i\":4}", "{\"i\":5}"});
  ASSERT_TRUE(overlap.ok());
  EXPECT_EQ(overlap->acked_seq, 5u);
  EXPECT_EQ(overlap->stored, 2u);

  // A gap (the agent's outbox dropped 6..9): accepted, acked_seq moves to the last item.
  auto gap = store_->StoreEvidence("web-1", 10, {"{\"i\":10}"});
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->acked_seq, 10u);
  EXPECT_EQ(gap->stored, 1u);

  // An empty batch reports where the node is.
  auto empty = store_->StoreEvidence("web-1", 11, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->acked_seq, 10u);
  EXPECT_EQ(empty->stored, 0u);

  Reopen();
  EXPECT_EQ((*store_->GetNode("web-1"))->acked_seq, 10u);
  using Item = std::pair<uint64_t, std::string>;
  EXPECT_THAT(Evidence("web-1"),
              ElementsAre(Item{1, "{\"i\":1}"}, Item{2, "{\"i\":2}"}, Item{3, "{\"i\":3}"},
                          Item{4, "{\"i\":4}"}, Item{5, "{\"i\":5}"}, Item{10, "{\"i\":10}"}));
  auto replay = store_->StoreEvidence("web-1", 1, {"x", "x", "x", "x", "x"});
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->stored, 0u);
  EXPECT_EQ(replay->acked_seq, 10u);
}

TEST_F(HubStoreTest, EvidenceOfAnUnknownNodeOrSeqZeroIsRefused) {
  auto unknown = store_->StoreEvidence("nobody", 1, {"{}"});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("node nobody is not enrolled"));
  ASSERT_TRUE(store_->PutNode(Node("web-1")).ok());
  auto zero = store_->StoreEvidence("web-1", 0, {"{}"});
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  auto overflow = store_->StoreEvidence("web-1", UINT64_MAX, {"{}", "{}"});
  EXPECT_EQ(overflow.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*store_->GetNode("web-1"))->acked_seq, 0u);
  EXPECT_TRUE(Evidence("web-1").empty());
}

TEST_F(HubStoreTest, ReadEvidenceIsInSeqOrderPerNodeFromAfter) {
  // "web-1" is a prefix of "web-10": their items must not mix.
  ASSERT_TRUE(store_->PutNode(Node("web-1")).ok());
  ASSERT_TRUE(store_->PutNode(Node("web-10")).ok());
  std::vector<std::string> many;
  for (int i = 1; i <= 300; ++i) many.push_back(std::to_string(i));  // past one byte of seq
  ASSERT_TRUE(store_->StoreEvidence("web-1", 1, many).ok());
  ASSERT_TRUE(store_->StoreEvidence("web-10", 1, {"other"}).ok());

  auto all = Evidence("web-1");
  ASSERT_EQ(all.size(), 300u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].first, i + 1);
    EXPECT_EQ(all[i].second, std::to_string(i + 1));
  }
  auto tail = Evidence("web-1", 297);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail.front().first, 298u);
  EXPECT_TRUE(Evidence("web-1", 300).empty());
  EXPECT_TRUE(Evidence("web-1", UINT64_MAX).empty());
  EXPECT_EQ(Evidence("web-10").size(), 1u);
  EXPECT_TRUE(Evidence("web-100").empty());

  // The visitor stops the walk.
  int visited = 0;
  ASSERT_TRUE(store_
                  ->ReadEvidence("web-1", 0,
                                 [&](uint64_t, std::string_view) { return ++visited < 5; })
                  .ok());
  EXPECT_EQ(visited, 5);
}

TEST_F(HubStoreTest, ConcurrentEvidenceOfOneNodeKeepsEveryItemOnce) {
  ASSERT_TRUE(store_->PutNode(Node("web-1")).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (uint64_t first = 1; first <= 40; first += 4) {
        auto ack = store_->StoreEvidence("web-1", first, {"a", "b", "c", "d"});
        EXPECT_TRUE(ack.ok()) << ack.status().ToString();
        ASSERT_TRUE(store_->TouchNode("web-1", static_cast<int64_t>(first), "x").ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Evidence("web-1").size(), 40u);
  EXPECT_EQ((*store_->GetNode("web-1"))->acked_seq, 40u);
}

TEST_F(HubStoreTest, ASecondOpenIsRefusedWhileTheFirstIsOpen) {
  auto second = OpenEmbeddedHubStore(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr(path_));
  store_.reset();
  EXPECT_TRUE(OpenEmbeddedHubStore(path_).ok());
}

TEST(HubStoreOpenTest, AnAgentStateDirectoryIsRefused) {
  TempDir dir;
  const std::string agent_dir = dir.path() + "/agent";
  {
    auto agent = store::Store::Open(agent_dir);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  }
  auto hub = OpenEmbeddedHubStore(agent_dir);
  ASSERT_FALSE(hub.ok());
  EXPECT_EQ(hub.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(hub.status().message(), HasSubstr(agent_dir));
  EXPECT_THAT(hub.status().message(), HasSubstr("agent's store"));
}

TEST_F(HubStoreTest, TheAuditChainWorksOnTheHubStore) {
  for (int i = 0; i < 3; ++i) {
    auto r = store_->audit().Append("tok_0123456789ab", "query.create", "q_" + std::to_string(i),
                                    R"({"target":"all"})");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto head = store_->audit().Head();
  ASSERT_TRUE(head.ok());
  Reopen();
  auto v = store_->audit().Verify(*head);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->intact()) << v->problem;
  EXPECT_EQ(v->records, 3u);
  auto next = store_->audit().Append("local", "token.create", "tok_x", "{}");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 4u);
}

TEST_F(HubStoreTest, ApproximateBytesIsTheStoreOnDisk) {
  const uint64_t before = store_->ApproximateBytes();
  EXPECT_GT(before, 0u);
  ASSERT_TRUE(store_->PutNode(Node("web-1")).ok());
  ASSERT_TRUE(store_->StoreEvidence("web-1", 1, {std::string(100000, 'e')}).ok());
  EXPECT_GE(store_->ApproximateBytes(), before + 100000);
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role role : {Role::kViewer, Role::kAnalyst, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(RoleName(Role::kOperator), "operator");
  EXPECT_EQ(ParseRole("root"), std::nullopt);
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
}

}  // namespace
}  // namespace vigil::server
