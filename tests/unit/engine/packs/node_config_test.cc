#include "engine/packs/node_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::packs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(NodeConfigTest, ReadsEveryField) {
  auto config = ParseNodeConfig("node.json", R"({
    "type": "config", "v": 1, "version": 7, "roles": ["historian", "dmz"],
    "vars": {"zone_cidrs": ["10.1.0.0/16"], "max_auth_tries": 3},
    "enforce": "dry-run", "target_sl": 3,
    "packs": ["iec62443", {"name": "local", "checks": []}],
    "catalog": {"srs": []}, "signature": "c2ln"})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->version, 7u);
  EXPECT_THAT(config->roles, ElementsAre("historian", "dmz"));
  ASSERT_EQ(config->vars.count("zone_cidrs"), 1u);
  EXPECT_TRUE(config->vars.at("zone_cidrs").is_list);
  EXPECT_EQ(config->vars.at("max_auth_tries").text(), "3");
  EXPECT_EQ(config->enforce, EnforceMode::kDryRun);
  EXPECT_EQ(config->target_sl, 3);
  EXPECT_THAT(config->pack_names, ElementsAre("iec62443"));
  ASSERT_EQ(config->packs.size(), 1u);
  EXPECT_EQ(config->packs[0].file, "node.json#/packs/1");
  EXPECT_EQ(config->packs[0].content, R"({"name":"local","checks":[]})");
  EXPECT_EQ(config->catalog, R"({"srs":[]})");
  EXPECT_EQ(config->signature, "c2ln");
}

TEST(NodeConfigTest, DefaultsAreReportOnlyAtLevelTwo) {
  auto config = ParseNodeConfig("node.json", R"({"packs": ["iec62443"]})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->enforce, EnforceMode::kOff);
  EXPECT_EQ(config->target_sl, 2);
  EXPECT_EQ(config->version, 0u);
  EXPECT_TRUE(config->vars.empty());
}

TEST(NodeConfigTest, NamesEveryProblemWithItsPointer) {
  auto config = ParseNodeConfig("node.json", R"({
    "enforce": "sometimes", "target_sl": 5, "packs": [3, ""], "colour": "red",
    "version": -1})");
  ASSERT_FALSE(config.ok());
  const std::string& m = config.status().message();
  EXPECT_THAT(m, HasSubstr("node.json: /enforce: must be auto, dry-run or off"));
  EXPECT_THAT(m, HasSubstr("/target_sl"));
  EXPECT_THAT(m, HasSubstr("/packs/0: must be a pack object or a pack name"));
  EXPECT_THAT(m, HasSubstr("/packs/1: an empty pack name"));
  EXPECT_THAT(m, HasSubstr("colour"));
  EXPECT_THAT(m, HasSubstr("/version"));
}

TEST(NodeConfigTest, RefusesWhatIsNotAConfig) {
  EXPECT_THAT(ParseNodeConfig("n.json", "{\"packs\": [").status().message(), HasSubstr("n.json"));
  EXPECT_THAT(ParseNodeConfig("n.json", "[]").status().message(), HasSubstr("JSON object"));
  EXPECT_THAT(ParseNodeConfig("n.json", "{}").status().message(), HasSubstr("/packs: missing"));
  EXPECT_THAT(ParseNodeConfig("n.json", R"({"type": "query", "packs": []})").status().message(),
              HasSubstr("/type"));
}

TEST(NodeConfigTest, InlinedFormReadsBackTheSame) {
  auto config = ParseNodeConfig("node.json", R"({"version": 4, "roles": ["r"],
    "vars": {"cidrs": ["10.0.0.0/8"], "tries": 3}, "enforce": "auto", "target_sl": 3,
    "packs": ["iec62443"], "signature": "c2ln"})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::string json = NodeConfigJson(*config, {{"a.json", R"({"name":"a"})"}},
                                    std::string(R"({"srs":[]})"));
  auto again = ParseNodeConfig("stored", json);
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << json;
  EXPECT_EQ(again->version, 4u);
  EXPECT_THAT(again->roles, ElementsAre("r"));
  EXPECT_EQ(again->vars, config->vars);
  EXPECT_EQ(again->enforce, EnforceMode::kAuto);
  EXPECT_EQ(again->target_sl, 3);
  EXPECT_TRUE(again->pack_names.empty());
  ASSERT_EQ(again->packs.size(), 1u);
  EXPECT_EQ(again->packs[0].content, R"({"name":"a"})");
  EXPECT_EQ(again->catalog, R"({"srs":[]})");
  EXPECT_EQ(again->signature, "c2ln");
}

TEST(NodeConfigTest, ModeNamesRoundTrip) {
  EXPECT_EQ(EnforceModeName(EnforceMode::kAuto), "auto");
  EXPECT_EQ(EnforceModeName(EnforceMode::kDryRun), "dry-run");
  EXPECT_EQ(EnforceModeName(EnforceMode::kOff), "off");
}

}  // namespace
}  // namespace vigil::packs
