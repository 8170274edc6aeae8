// The agent's and the hub's layouts of the store: each has its own families, a family of the
// other layout is refused, and a directory of one layout cannot be opened as the other.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/store/store.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::store {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

constexpr OpenOptions kHub{.create = true, .layout = Layout::kHub};

TEST(StoreLayoutTest, HubFamiliesRoundTripAndReopen) {
  TempDir dir;
  {
    auto store = Store::Open(dir.path() + "/hub", kHub);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->layout(), Layout::kHub);
    for (Family family : kHubFamilies) {
      ASSERT_TRUE((*store)->Put(family, "key", std::string(FamilyName(family))).ok());
    }
  }
  auto store = Store::Open(dir.path() + "/hub", kHub);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (Family family : kHubFamilies) {
    auto got = (*store)->Get(family, "key");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, std::string(FamilyName(family)));
  }
}

TEST(StoreLayoutTest, HubFamilyNames) {
  std::vector<std::string> names;
  for (Family family : kHubFamilies) names.emplace_back(FamilyName(family));
  EXPECT_EQ(names, (std::vector<std::string>{"nodes", "tokens", "campaigns", "answers",
                                             "evidence", "meta", "audit"}));
  EXPECT_EQ(LayoutName(Layout::kAgent), "agent");
  EXPECT_EQ(LayoutName(Layout::kHub), "hub");
}

TEST(StoreLayoutTest, AFamilyOfTheOtherLayoutIsInvalidArgument) {
  TempDir dir;
  auto hub = Store::Open(dir.path() + "/hub", kHub);
  ASSERT_TRUE(hub.ok()) << hub.status().ToString();
  Store& h = **hub;
  const auto expect_refused = [&](const Status& s) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("has no \"outbox\" family"));
    EXPECT_THAT(s.message(), HasSubstr(dir.path() + "/hub"));
  };
  expect_refused(h.Put(Family::kOutbox, "k", "v"));
  expect_refused(h.Delete(Family::kOutbox, "k"));
  expect_refused(h.Get(Family::kOutbox, "k").status());
  expect_refused(h.Scan(Family::kOutbox, "", [](auto, auto) { return true; }));
  expect_refused(h.ScanBackward(Family::kOutbox, std::nullopt, [](auto, auto) { return true; }));
  expect_refused(h.Last(Family::kOutbox).status());
  expect_refused(h.Count(Family::kOutbox).status());
  expect_refused(h.OpenCursor(Family::kOutbox).status());
  // A batch with one bad family writes nothing.
  expect_refused(h.Write({Mutation::Put(Family::kNodes, "n", "v"),
                          Mutation::Put(Family::kOutbox, "k", "v")}));
  EXPECT_EQ(*h.Get(Family::kNodes, "n"), std::nullopt);

  TempDir agent_dir;
  auto agent = Store::Open(agent_dir.path());
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  Status s = (*agent)->Put(Family::kNodes, "k", "v");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("agent's store, which has no \"nodes\" family"));
}

TEST(StoreLayoutTest, AnAgentDirectoryIsNotOpenedAsAHub) {
  TempDir dir;
  const std::string path = dir.path() + "/state";
  {
    auto agent = Store::Open(path);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    ASSERT_TRUE((*agent)->Put(Family::kOutbox, EncodeSeq(1), "item").ok());
  }
  auto hub = Store::Open(path, kHub);
  ASSERT_FALSE(hub.ok());
  EXPECT_EQ(hub.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(hub.status().message(), HasSubstr("state directory " + path +
                                                " holds a vigil agent's store"));
  // Nothing was added: the agent still opens it and finds its data.
  auto agent = Store::Open(path);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  EXPECT_EQ(*(*agent)->Get(Family::kOutbox, EncodeSeq(1)), "item");
}

TEST(StoreLayoutTest, AHubDirectoryIsNotOpenedAsAnAgent) {
  TempDir dir;
  const std::string path = dir.path() + "/store";
  ASSERT_TRUE(Store::Open(path, kHub).ok());
  auto agent = Store::Open(path);
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(agent.status().message(),
              HasSubstr("state directory " + path + " holds a vigil hub's store"));
  EXPECT_TRUE(Store::Open(path, kHub).ok());
}

TEST(StoreLayoutTest, ScanBackwardGoesDownFromTheLastOrAKey) {
  TempDir dir;
  auto store = Store::Open(dir.path(), kHub);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (uint64_t seq : {1, 2, 3, 256, 300}) {
    ASSERT_TRUE((*store)->Put(Family::kCampaigns, EncodeSeq(seq), std::to_string(seq)).ok());
  }
  const auto walk = [&](std::optional<std::string_view> from, size_t limit) {
    std::vector<uint64_t> seqs;
    Status s = (*store)->ScanBackward(Family::kCampaigns, from, [&](auto key, auto) {
      seqs.push_back(*DecodeSeq(key));
      return seqs.size() < limit;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seqs;
  };
  EXPECT_EQ(walk(std::nullopt, 10), (std::vector<uint64_t>{300, 256, 3, 2, 1}));
  EXPECT_EQ(walk(std::nullopt, 2), (std::vector<uint64_t>{300, 256}));
  const std::string at = EncodeSeq(255);
  EXPECT_EQ(walk(at, 10), (std::vector<uint64_t>{3, 2, 1}));
  const std::string exact = EncodeSeq(3);
  EXPECT_EQ(walk(exact, 10), (std::vector<uint64_t>{3, 2, 1}));
  // An empty family visits nothing.
  std::vector<std::string> none;
  ASSERT_TRUE((*store)
                  ->ScanBackward(Family::kAnswers, std::nullopt,
                                 [&](auto key, auto) {
                                   none.emplace_back(key);
                                   return true;
                                 })
                  .ok());
  EXPECT_TRUE(none.empty());
}

TEST(StoreLayoutTest, ApproximateBytesGrowsWithData) {
  TempDir dir;
  auto store = Store::Open(dir.path(), kHub);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const uint64_t before = (*store)->ApproximateBytes();
  EXPECT_GT(before, 0u);  // the manifest, options and the write-ahead log exist from the start
  ASSERT_TRUE((*store)->Put(Family::kEvidence, "k", std::string(64 * 1024, 'x')).ok());
  EXPECT_GE((*store)->ApproximateBytes(), before + 64 * 1024);
}

}  // namespace
}  // namespace vigil::store
