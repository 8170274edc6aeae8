// The `vigil` binary as a user runs it: statements, output formats, errors, the shell.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using testing::CommandOutput;
using testing::ProcessResult;
using testing::RunProcess;

ProcessResult Vigil(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), VIGIL_BIN);
  return RunProcess(args, input);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

TEST(VigilCliTest, UsersMatchGetent) {
  // getent passwd, as "name|uid", ordered like the statement.
  std::vector<std::pair<long, std::string>> expected;
  for (const std::string& line : Lines(CommandOutput("getent passwd"))) {
    std::vector<std::string> f;
    std::istringstream in(line);
    for (std::string part; std::getline(in, part, ':');) f.push_back(part);
    ASSERT_GE(f.size(), 3u) << line;
    expected.emplace_back(std::stol(f[2]), f[0]);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> want;
  for (const auto& [uid, name] : expected) want.push_back(name + "|" + std::to_string(uid));

  ProcessResult r = Vigil({"sql", "SELECT username, uid FROM users ORDER BY uid, username"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), want);

  ProcessResult json = Vigil({"sql", "SELECT username, uid FROM users ORDER BY uid", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out.front(), '[');
  for (const auto& [uid, name] : expected) {
    std::string object = "{\"username\": \"" + name + "\", \"uid\": " + std::to_string(uid) + "}";
    EXPECT_NE(json.out.find(object), std::string::npos) << object << " missing from " << json.out;
  }
}

TEST(VigilCliTest, AttachIsRefusedAndCreatesNothing) {
  testing::TempDir dir;
  std::string target = dir.path() + "/x.db";
  ProcessResult r = Vigil({"sql", "ATTACH DATABASE '" + target + "' AS x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ATTACH is not allowed"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(::access(target.c_str(), F_OK), 0);
}

TEST(VigilCliTest, TimeoutStopsAnEndlessQuery) {
  ProcessResult r = Vigil({"sql", "--timeout", "1",
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                           "SELECT count(*) FROM n"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("time limit of 1 s"), std::string::npos) << r.err;
  EXPECT_LT(r.elapsed, std::chrono::seconds(6));  // about a second, on a noisy machine
}

TEST(VigilCliTest, FileNeedsAPathAndListsLikePatterns) {
  ProcessResult r = Vigil({"sql", "SELECT * FROM file"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("path"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("directory"), std::string::npos) << r.err;

  ProcessResult list = Vigil({"sql", "SELECT path FROM file WHERE path LIKE '/etc/%.conf' ORDER BY path"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::vector<std::string> want = Lines(CommandOutput(
      "find /etc -mindepth 1 -maxdepth 1 -name '*.conf' | LC_ALL=C sort"));
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(Lines(list.out), want);
}

TEST(VigilCliTest, OutputFormats) {
  const std::string sql = "SELECT 1 AS n, 'a,b' AS s, NULL AS z";
  EXPECT_EQ(Vigil({"sql", "--csv", sql}).out, "n,s,z\r\n1,\"a,b\",\r\n");
  EXPECT_EQ(Vigil({"sql", "--json", sql}).out, "[\n  {\"n\": 1, \"s\": \"a,b\", \"z\": null}\n]\n");
  EXPECT_EQ(Vigil({"sql", "--line", sql}).out, "n = 1\ns = a,b\nz = \n");
  EXPECT_EQ(Vigil({"sql", "--list", sql}).out, "1|a,b|\n");
  EXPECT_EQ(Vigil({"sql", "--pretty", sql}).out,
            "+---+-----+---+\n| n | s   | z |\n+---+-----+---+\n| 1 | a,b |   |\n+---+-----+---+\n");
  EXPECT_EQ(Vigil({"sql", "--json", "SELECT 1 WHERE 0"}).out, "[]\n");
}

TEST(VigilCliTest, BadStatementsAndUsage) {
  ProcessResult bad = Vigil({"sql", "SELEC 1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("syntax error"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty());
  EXPECT_EQ(Vigil({"sql"}).exit_code, 2);
  EXPECT_EQ(Vigil({"sql", "--bogus", "SELECT 1"}).exit_code, 2);
  EXPECT_EQ(Vigil({"sql", "--json", "--csv", "SELECT 1"}).exit_code, 2);
  EXPECT_EQ(Vigil({"sql", "--timeout", "soon", "SELECT 1"}).exit_code, 2);
  EXPECT_EQ(Vigil({"frobnicate"}).exit_code, 2);
  ProcessResult root = Vigil({"sql", "--root", "/nonexistent/root", "SELECT 1"});
  EXPECT_NE(root.exit_code, 0);
  EXPECT_NE(root.err.find("/nonexistent/root"), std::string::npos) << root.err;
}

TEST(VigilCliTest, HelpAndVersion) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"sql", "--help"}, {"shell", "--help"}}) {
    ProcessResult r = Vigil(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage: vigil"), std::string::npos) << r.out;
  }
  EXPECT_NE(Vigil({"sql", "--help"}).out.find("--root DIR"), std::string::npos);
  EXPECT_EQ(Vigil({"--version"}).out, "vigil " VIGIL_VERSION "\n");
}

TEST(VigilCliTest, MaxRowsSaysWhatWasLeftOut) {
  ProcessResult r = Vigil({"sql", "--max-rows", "2",
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 5) SELECT i FROM n"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "1\n2\n");
  EXPECT_NE(r.err.find("2 of 5"), std::string::npos) << r.err;
}

TEST(VigilCliTest, RootReadsAFixtureHost) {
  ProcessResult r = Vigil({"sql", "--root", testing::FixtureRoot("debian12"),
                           "SELECT name FROM os_version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Debian GNU/Linux\n");
}

TEST(VigilCliTest, ShellReadsStatementsAndDotCommands) {
  const std::string script =
      ".tables vigil_\n"
      ".schema vigil_tables\n"
      ".mode csv\n"
      ".headers on\n"
      "SELECT name\n"
      "  FROM vigil_tables\n"
      "  WHERE name = 'vigil_columns';\n"
      ".mode json\n"
      "SELECT 1 AS one;\n"
      "SELECT nope;\n"
      ".mode sideways\n"
      ".frobnicate\n"
      "SELECT 2 AS two\n";
  ProcessResult r = Vigil({"shell"}, script);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "  => vigil_columns\n"
            "  => vigil_tables\n"
            "CREATE TABLE vigil_tables(name TEXT INDEX, description TEXT, columns INTEGER, "
            "required TEXT);\n"
            "name\r\nvigil_columns\r\n"
            "[\n  {\"one\": 1}\n]\n"
            "[\n  {\"two\": 2}\n]\n");
  EXPECT_NE(r.err.find("no such column: nope"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(".mode pretty|list|csv|json|line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown command .frobnicate"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// docs/tables.md is generated; this fails when a table or column changed without it.
TEST(VigilDocsTest, TablesReferenceIsUpToDate) {
  ProcessResult r = Vigil({"docs", "tables"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string committed = testing::CommandOutput(
      "cat " + std::string(VIGIL_SOURCE_DIR) + "/docs/tables.md");
  EXPECT_TRUE(r.out == committed)
      << "docs/tables.md is out of date: run build/cli/vigil docs tables > docs/tables.md";
  EXPECT_NE(r.out.find("## users\n"), std::string::npos);
}

}  // namespace
}  // namespace vigil
