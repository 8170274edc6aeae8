// The shipped IEC 62443-3-3 catalogue (packs/iec62443/catalog.json): complete, consistent, and
// saying for every SR how Vigil evidences it.
#include "engine/packs/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace vigil::packs {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class ShippedCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string text = ReadSourceFile("packs/iec62443/catalog.json");
    ASSERT_FALSE(text.empty()) << "packs/iec62443/catalog.json is missing or empty";
    auto parsed = ParseCatalog("packs/iec62443/catalog.json", text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    catalog_ = std::move(parsed).value();
  }

  Catalog catalog_;
};

// "SR 1.1" .. "SR 1.13", "SR 2.1" .. "SR 2.12", ...: the standard's 51 SRs in order.
std::vector<std::string> AllSrIds() {
  const int per_fr[] = {13, 12, 9, 3, 4, 2, 8};
  std::vector<std::string> ids;
  for (int fr = 1; fr <= 7; ++fr) {
    for (int n = 1; n <= per_fr[fr - 1]; ++n) {
      ids.push_back("SR " + std::to_string(fr) + "." + std::to_string(n));
    }
  }
  return ids;
}

TEST_F(ShippedCatalogTest, HoldsTheSevenFoundationalRequirements) {
  EXPECT_EQ(catalog_.name, "IEC 62443-3-3");
  std::vector<std::string> frs;
  for (const FoundationalRequirement& fr : catalog_.frs) {
    EXPECT_FALSE(fr.title.empty()) << fr.id;
    frs.push_back(fr.id + " " + fr.abbreviation);
  }
  EXPECT_THAT(frs, ElementsAre("FR 1 IAC", "FR 2 UC", "FR 3 SI", "FR 4 DC", "FR 5 RDF", "FR 6 TRE",
                               "FR 7 RA"));
}

TEST_F(ShippedCatalogTest, HoldsAllFiftyOneSrsInOrderOnce) {
  ASSERT_EQ(catalog_.srs.size(), 51u);
  std::vector<std::string> ids;
  std::set<std::string> unique;
  for (const Requirement& sr : catalog_.srs) {
    ids.push_back(sr.id);
    EXPECT_TRUE(unique.insert(sr.id).second) << sr.id << " appears twice";
  }
  EXPECT_EQ(ids, AllSrIds());
}

TEST_F(ShippedCatalogTest, EverySrIsCompleteAndBelongsToItsFr) {
  for (const Requirement& sr : catalog_.srs) {
    SCOPED_TRACE(sr.id);
    ASSERT_NE(catalog_.FindFr(sr.fr), nullptr) << sr.fr;
    // "SR 3.4" belongs to "FR 3".
    EXPECT_EQ(sr.fr, "FR " + sr.id.substr(3, sr.id.find('.') - 3));
    EXPECT_FALSE(sr.title.empty());
    EXPECT_GE(sr.sl, 1);
    EXPECT_LE(sr.sl, 4);
    if (sr.coverage != Coverage::kMachine) {
      EXPECT_FALSE(sr.note.empty()) << CoverageName(sr.coverage) << " needs a note";
    }
    // The report derives an SR's checks from the packs' `sr` fields; the catalogue names none.
    EXPECT_TRUE(sr.checks.empty());
    EXPECT_FALSE(sr.frameworks.empty()) << "no crosswalk at all";
    for (size_t i = 0; i < sr.enhancements.size(); ++i) {
      const Enhancement& re = sr.enhancements[i];
      EXPECT_EQ(re.id, "RE " + std::to_string(i + 1));
      EXPECT_FALSE(re.title.empty()) << re.id;
      EXPECT_GE(re.sl, sr.sl) << re.id << " applies below its base requirement";
    }
  }
}

TEST_F(ShippedCatalogTest, EveryFrameworkUsedIsDeclaredWithItsSource) {
  std::set<std::string> declared;
  for (const auto& [key, name] : catalog_.framework_names) {
    declared.insert(key);
    EXPECT_FALSE(name.empty()) << key;
    EXPECT_FALSE(catalog_.framework_sources.at(key).empty()) << key << " has no source note";
  }
  EXPECT_THAT(declared,
              UnorderedElementsAre("nerc-cip", "nist-800-53", "iso-27001", "fda-21cfr11", "cmmc"));
  std::set<std::string> used;
  for (const Requirement& sr : catalog_.srs) {
    for (const auto& [key, ids] : sr.frameworks) {
      EXPECT_EQ(declared.count(key), 1u) << sr.id << " uses undeclared framework " << key;
      EXPECT_FALSE(ids.empty()) << sr.id << " " << key;
      used.insert(key);
    }
    EXPECT_EQ(sr.frameworks.count("nist-800-53"), 1u) << sr.id << " has no NIST SP 800-53 id";
  }
  EXPECT_EQ(used, declared) << "a declared framework no SR maps to";
}

TEST_F(ShippedCatalogTest, MachineCheckedSrsMatchThePacksAndTheRestSayWhy) {
  // The SRs the packs check (iec62443-reference.md, "Machine checks"); SR 1.6 shares SR 2.2's.
  std::set<std::string> checked;
  for (const std::string& id : AllSrIds()) checked.insert(id);
  for (const char* id : {"SR 2.4", "SR 3.5", "SR 3.6", "SR 4.2", "SR 7.5"}) checked.erase(id);
  ASSERT_EQ(checked.size(), 46u);
  std::map<std::string, std::string> by_person;
  for (const Requirement& sr : catalog_.srs) {
    bool machine = sr.coverage == Coverage::kMachine || sr.coverage == Coverage::kDetectOnly;
    EXPECT_EQ(machine, checked.count(sr.id) == 1) << sr.id << " is " << CoverageName(sr.coverage);
    if (!machine) by_person[sr.id] = std::string(CoverageName(sr.coverage));
  }
  EXPECT_EQ(by_person, (std::map<std::string, std::string>{{"SR 2.4", "organisational"},
                                                           {"SR 3.5", "organisational"},
                                                           {"SR 3.6", "organisational"},
                                                           {"SR 4.2", "not_covered"},
                                                           {"SR 7.5", "not_covered"}}));
}

TEST_F(ShippedCatalogTest, LevelsFollowTheConfirmedMapping) {
  const Requirement* sr11 = catalog_.Find("SR 1.1");
  ASSERT_NE(sr11, nullptr);
  EXPECT_EQ(sr11->sl, 1);
  std::vector<int> levels;
  for (const Enhancement& re : sr11->enhancements) levels.push_back(re.sl);
  EXPECT_THAT(levels, ElementsAre(2, 3, 4));
  // A corrigendum removed SL 1 from SR 3.4.
  ASSERT_NE(catalog_.Find("SR 3.4"), nullptr);
  EXPECT_EQ(catalog_.Find("SR 3.4")->sl, 2);
  // Concurrent session control and non-repudiation start at SL 3.
  for (const char* id : {"SR 2.7", "SR 2.12"}) {
    ASSERT_NE(catalog_.Find(id), nullptr) << id;
    EXPECT_EQ(catalog_.Find(id)->sl, 3) << id;
  }
  std::map<int, int> per_level;
  for (const Requirement& sr : catalog_.srs) ++per_level[sr.sl];
  EXPECT_EQ(per_level, (std::map<int, int>{{1, 37}, {2, 12}, {3, 2}}));
}

}  // namespace
}  // namespace vigil::packs
