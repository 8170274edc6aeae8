#include "agent/results_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ResultsFileTest, AppendsLinesPrivately) {
  testing::TempDir dir;
  ResultsFile file({dir.path() + "/results.log", 1000, 3});
  ASSERT_TRUE(file.Append({R"({"a":1})", R"({"b":2})"}).ok());
  ASSERT_TRUE(file.Append({}).ok());
  ASSERT_TRUE(file.Append({R"({"c":3})"}).ok());
  EXPECT_EQ(Slurp(dir.path() + "/results.log"), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/results.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ResultsFileTest, RotatesBySizeKeepingTheNewestFiles) {
  testing::TempDir dir;
  const std::string base = dir.path() + "/results.log";
  ResultsFile file({base, 25, 2});
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(file.Append({"line-" + std::to_string(i) + "-xxxxxxxxx"}).ok());  // 17 bytes
  }
  // Each file holds one line (two would pass 25 bytes); two rotated files are kept.
  EXPECT_EQ(Slurp(base), "line-5-xxxxxxxxx\n");
  EXPECT_EQ(Slurp(base + ".1"), "line-4-xxxxxxxxx\n");
  EXPECT_EQ(Slurp(base + ".2"), "line-3-xxxxxxxxx\n");
  EXPECT_FALSE(std::filesystem::exists(base + ".3"));
}

TEST(ResultsFileTest, AnUnwritablePlaceIsAnErrorNamingIt) {
  ResultsFile file({"/nonexistent-dir/results.log", 1000, 2});
  Status s = file.Append({"x"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/results.log"), std::string::npos);
}

}  // namespace
}  // namespace vigil::agent
