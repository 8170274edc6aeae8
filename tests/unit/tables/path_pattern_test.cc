#include "tables/internal/path_pattern.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/host.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::tables::internal {
namespace {

using ::vigil::testing::FixtureRoot;

// A scan of a two-column table (path, directory) over the `files` fixture host.
class PathPatternTest : public ::testing::Test {
 protected:
  static constexpr int kPath = 0;
  static constexpr int kDirectory = 1;

  PathPatternTest() {
    auto host = Host::Open(FixtureRoot("files"));
    EXPECT_TRUE(host.ok()) << host.status().ToString();
    host_ = std::move(host).value();
    schema_.name = "paths";
    schema_.description = "test";
    schema_.columns = {{"path", ColumnType::kText, "p", kRequired | kIndex},
                       {"directory", ColumnType::kText, "d", kRequired | kIndex}};
    ctx_ = std::make_unique<QueryContext>(*host_, schema_);
  }

  void Where(int column, ConstraintOp op, std::vector<Value> values) {
    ctx_->AddConstraint(column, Constraint{op, std::move(values)});
  }

  // "path <- directory" per candidate; fails the test on error.
  std::vector<std::string> Expand(size_t max_paths = kDefaultMaxExpandedPaths) {
    auto result = ExpandPathConstraints(*ctx_, kPath, kDirectory, max_paths);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::vector<std::string> out;
    if (!result.ok()) return out;
    for (const PathCandidate& c : *result) out.push_back(c.path + " <- " + c.directory);
    return out;
  }

  std::unique_ptr<Host> host_;
  Schema schema_;
  std::unique_ptr<QueryContext> ctx_;
};

TEST(PathPatternMatchTest, LikeIgnoresAsciiCaseAndMatchesOneCharacterWithUnderscore) {
  EXPECT_TRUE(MatchComponent("%.conf", "app.conf", PatternSyntax::kLike));
  EXPECT_TRUE(MatchComponent("%.CONF", "app.conf", PatternSyntax::kLike));
  EXPECT_TRUE(MatchComponent("a_p.conf", "app.conf", PatternSyntax::kLike));
  EXPECT_TRUE(MatchComponent("%", "", PatternSyntax::kLike));
  EXPECT_TRUE(MatchComponent("%a%b%", "xxaxxbxx", PatternSyntax::kLike));
  EXPECT_TRUE(MatchComponent("caf_", "caf\xc3\xa9", PatternSyntax::kLike));  // é is one char
  EXPECT_FALSE(MatchComponent("caf__", "caf\xc3\xa9", PatternSyntax::kLike));
  EXPECT_FALSE(MatchComponent("%.conf", "app.conf.bak", PatternSyntax::kLike));
  EXPECT_FALSE(MatchComponent("_", "", PatternSyntax::kLike));
}

TEST(PathPatternMatchTest, GlobIsCaseSensitiveWithClassesAndMatchesDotFiles) {
  EXPECT_TRUE(MatchComponent("*.conf", "app.conf", PatternSyntax::kGlob));
  EXPECT_FALSE(MatchComponent("*.CONF", "app.conf", PatternSyntax::kGlob));
  EXPECT_TRUE(MatchComponent("[an]*.conf", "net.conf", PatternSyntax::kGlob));
  EXPECT_FALSE(MatchComponent("[^an]*.conf", "net.conf", PatternSyntax::kGlob));
  EXPECT_TRUE(MatchComponent("?pp.conf", "app.conf", PatternSyntax::kGlob));
  EXPECT_TRUE(MatchComponent("*", ".hidden", PatternSyntax::kGlob));
  EXPECT_TRUE(MatchComponent("a\\b", "a\\b", PatternSyntax::kGlob));  // no escapes in SQL GLOB
}

TEST_F(PathPatternTest, EqualityNamesPathsAsWrittenWithoutCheckingThem) {
  Where(kPath, ConstraintOp::kEq, {"/etc/net.conf", "/etc/app.conf", "/missing", "relative"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{"/etc/app.conf <- /etc", "/etc/net.conf <- /etc",
                                                "/missing <- /"}));
}

TEST_F(PathPatternTest, LikePercentStaysWithinOneComponent) {
  Where(kPath, ConstraintOp::kLike, {"/etc/%.conf"});
  EXPECT_EQ(Expand(),
            (std::vector<std::string>{"/etc/app.conf <- /etc", "/etc/net.conf <- /etc"}));
}

TEST_F(PathPatternTest, LikeWildcardsInTheMiddleAndUnderscore) {
  Where(kPath, ConstraintOp::kLike, {"/etc/nested/%/level_/%.conf"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{
                          "/etc/nested/level1/level2/two.conf <- /etc/nested/level1/level2"}));
}

TEST_F(PathPatternTest, DoublePercentRecursesWithoutEnteringSymlinkedDirectories) {
  Where(kPath, ConstraintOp::kLike, {"/etc/%%"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{
                          "/etc/app.conf <- /etc",
                          "/etc/links <- /etc",
                          "/etc/links/absolute <- /etc/links",
                          "/etc/links/dangling <- /etc/links",
                          "/etc/links/dir <- /etc/links",
                          "/etc/links/escape <- /etc/links",
                          "/etc/links/relative <- /etc/links",
                          "/etc/nested <- /etc",
                          "/etc/nested/level1 <- /etc/nested",
                          "/etc/nested/level1/level2 <- /etc/nested/level1",
                          "/etc/nested/level1/level2/notes.txt <- /etc/nested/level1/level2",
                          "/etc/nested/level1/level2/two.conf <- /etc/nested/level1/level2",
                          "/etc/nested/level1/one.conf <- /etc/nested/level1",
                          "/etc/net.conf <- /etc",
                          "/etc/passwd <- /etc",
                          "/etc/readme.txt <- /etc",
                      }));
}

TEST_F(PathPatternTest, DoublePercentAfterAPrefixRecursesBelowTheMatches) {
  Where(kPath, ConstraintOp::kLike, {"/etc/ne%%"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{
                          "/etc/nested <- /etc",
                          "/etc/nested/level1 <- /etc/nested",
                          "/etc/nested/level1/level2 <- /etc/nested/level1",
                          "/etc/nested/level1/level2/notes.txt <- /etc/nested/level1/level2",
                          "/etc/nested/level1/level2/two.conf <- /etc/nested/level1/level2",
                          "/etc/nested/level1/one.conf <- /etc/nested/level1",
                          "/etc/net.conf <- /etc",
                      }));
}

TEST_F(PathPatternTest, RecursiveWildcardInTheMiddleIsRejected) {
  Where(kPath, ConstraintOp::kLike, {"/etc/%%/one.conf"});
  auto result = ExpandPathConstraints(*ctx_, kPath, kDirectory);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("path LIKE '/etc/%%/one.conf'"), std::string::npos)
      << result.status().message();
}

TEST_F(PathPatternTest, GlobMatchesWithinAComponentAndRecursesWithDoubleStar) {
  Where(kPath, ConstraintOp::kGlob, {"/etc/[a-m]*.conf"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{"/etc/app.conf <- /etc"}));

  ctx_ = std::make_unique<QueryContext>(*host_, schema_);
  Where(kPath, ConstraintOp::kGlob, {"/etc/nested/**"});
  EXPECT_EQ(Expand().size(), 5u);
}

TEST_F(PathPatternTest, SeveralPatternsOnOneColumnAreIntersected) {
  Where(kPath, ConstraintOp::kLike, {"/etc/%%"});
  Where(kPath, ConstraintOp::kLike, {"/etc/%/%/%.conf"});
  Where(kPath, ConstraintOp::kLike, {"%one%"});  // relative: filters only
  EXPECT_EQ(Expand(),
            (std::vector<std::string>{"/etc/nested/level1/one.conf <- /etc/nested/level1"}));
}

TEST_F(PathPatternTest, DirectoryListsEntriesOneLevelDeepAsWritten) {
  Where(kDirectory, ConstraintOp::kEq, {"/etc/nested/level1/"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{
                          "/etc/nested/level1/level2 <- /etc/nested/level1/",
                          "/etc/nested/level1/one.conf <- /etc/nested/level1/"}));
}

TEST_F(PathPatternTest, DirectoryPatternExpandsToDirectoriesOnly) {
  Where(kDirectory, ConstraintOp::kLike, {"/etc/nested/%%"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{
                          "/etc/nested/level1/level2 <- /etc/nested/level1",
                          "/etc/nested/level1/one.conf <- /etc/nested/level1",
                          "/etc/nested/level1/level2/notes.txt <- /etc/nested/level1/level2",
                          "/etc/nested/level1/level2/two.conf <- /etc/nested/level1/level2"}));
}

TEST_F(PathPatternTest, ConstraintsOnBothColumnsAreUnitedAndFilteredByEach) {
  Where(kPath, ConstraintOp::kLike, {"/etc/%.conf"});
  Where(kDirectory, ConstraintOp::kEq, {"/etc"});
  EXPECT_EQ(Expand(),
            (std::vector<std::string>{"/etc/app.conf <- /etc", "/etc/net.conf <- /etc"}));
}

TEST_F(PathPatternTest, ExpansionPastTheLimitNamesThePatternAndTheLimit) {
  Where(kPath, ConstraintOp::kLike, {"/etc/%%"});
  auto result = ExpandPathConstraints(*ctx_, kPath, kDirectory, 5);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(result.status().message().find("path LIKE '/etc/%%'"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("5 paths"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(Expand(16).size(), 16u);  // exactly at the limit is fine
}

TEST_F(PathPatternTest, DirectoryListingCountsAgainstTheLimit) {
  Where(kDirectory, ConstraintOp::kEq, {"/etc"});
  auto result = ExpandPathConstraints(*ctx_, kPath, kDirectory, 3);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(result.status().message().find("'/etc'"), std::string::npos);
}

TEST_F(PathPatternTest, WalkStopsAtTheDeadline) {
  Where(kPath, ConstraintOp::kLike, {"/%%"});
  ctx_->SetDeadline(QueryContext::Clock::now() - std::chrono::seconds(1));
  auto result = ExpandPathConstraints(*ctx_, kPath, kDirectory);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(PathPatternTest, MissingDirectoriesAndNullPatternsYieldNothing) {
  Where(kPath, ConstraintOp::kLike, {"/nowhere/%"});
  EXPECT_TRUE(Expand().empty());
  ctx_ = std::make_unique<QueryContext>(*host_, schema_);
  Where(kDirectory, ConstraintOp::kEq, {"/nowhere", "/etc/passwd"});
  EXPECT_TRUE(Expand().empty());
  ctx_ = std::make_unique<QueryContext>(*host_, schema_);
  Where(kPath, ConstraintOp::kLike, {Value::Null()});
  EXPECT_TRUE(Expand().empty());
}

TEST_F(PathPatternTest, DotDotStaysInsideTheRoot) {
  Where(kPath, ConstraintOp::kLike, {"/../../../etc/%.conf"});
  EXPECT_EQ(Expand(), (std::vector<std::string>{"/../../../etc/app.conf <- /../../../etc",
                                                "/../../../etc/net.conf <- /../../../etc"}));
}

}  // namespace
}  // namespace vigil::tables::internal
