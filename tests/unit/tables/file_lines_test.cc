#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::FixtureRoot;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;

using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql, Rows* warnings = nullptr) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (!result.ok()) return {};
  if (warnings != nullptr) {
    *warnings = result->warnings;
  } else {
    EXPECT_EQ(result->warnings, Rows{}) << sql;
  }
  return RowsAsText(*result);
}

TEST(FileLinesTable, FixtureFilesLineByLine) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path, line, text FROM file_lines "
                  "WHERE path IN ('/etc/issue', '/etc/issue.net', '/etc/motd')"),
            (Rows{
                "/etc/issue|1|Debian GNU/Linux 12 \\n \\l",
                "/etc/issue|2|",
                "/etc/issue.net|1|AUTHORIZED USE ONLY. This system belongs to the plant's "
                "control network;",
                "/etc/issue.net|2|activity is logged and monitored. Disconnect now if you are "
                "not authorized.",
            }));
  // A check that looks for a line.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT line FROM file_lines WHERE path = '/etc/ssh/sshd_config' "
                  "AND text LIKE 'Include %'"),
            Rows{"9"});
}

TEST(FileLinesTable, LineEndsPatternsAndDirectories) {
  TempDir root;
  root.WriteFile("etc/app/crlf.conf", "one\r\ntwo\r\n\r\n");
  root.WriteFile("etc/app/last", "no newline at the end");
  root.WriteFile("etc/app/empty", "");
  root.MakeDir("etc/app/sub");
  root.WriteFile("etc/app/sub/deep", "not listed by one level\n");
  const Rows all = {"/etc/app/crlf.conf|1|one", "/etc/app/crlf.conf|2|two", "/etc/app/crlf.conf|3|",
                    "/etc/app/last|1|no newline at the end"};
  EXPECT_EQ(Query(root.path(),
                  "SELECT path, line, text FROM file_lines "
                  "WHERE path LIKE '/etc/app/%'"),
            all);
  EXPECT_EQ(Query(root.path(),
                  "SELECT path, line, text FROM file_lines "
                  "WHERE path GLOB '/etc/app/*'"),
            all);
  EXPECT_EQ(Query(root.path(),
                  "SELECT path, line, text FROM file_lines "
                  "WHERE directory = '/etc/app'"),
            all);
  EXPECT_EQ(Query(root.path(),
                  "SELECT path, line FROM file_lines "
                  "WHERE path LIKE '/etc/app/%%'"),
            (Rows{"/etc/app/crlf.conf|1", "/etc/app/crlf.conf|2", "/etc/app/crlf.conf|3",
                  "/etc/app/last|1", "/etc/app/sub/deep|1"}));
}

TEST(FileLinesTable, BinaryFilesAreSkippedWithAWarning) {
  TempDir root;
  root.WriteFile("bin/tool", std::string("\x7f"
                                         "ELF\0\0\1",
                                         7));
  Rows warnings;
  EXPECT_EQ(
      Query(root.path(), "SELECT count(*) FROM file_lines WHERE path = '/bin/tool'", &warnings),
      Rows{"0"});
  EXPECT_EQ(warnings, Rows{"file_lines: /bin/tool: binary file (contains NUL bytes), skipped"});
}

// Past 8 MiB only the complete lines read so far are listed, with a warning.
TEST(FileLinesTable, HugeFileGivesItsFirstEightMebibytes) {
  TempDir root;
  std::string content;
  const int kLines = 94'372;  // 100 bytes each: a little over 9 MiB
  for (int i = 1; i <= kLines; ++i) {
    char line[101];
    std::snprintf(line, sizeof(line), "line %08d %-85s\n", i, "x");
    content += line;
  }
  ASSERT_EQ(content.size(), 9'437'200u);
  root.WriteFile("var/log/big.log", content);
  Rows warnings;
  EXPECT_EQ(Query(root.path(),
                  "SELECT count(*), max(line), min(length(text)), max(length(text)) "
                  "FROM file_lines WHERE path = '/var/log/big.log'",
                  &warnings),
            Rows{"83886|83886|99|99"});
  EXPECT_EQ(warnings,
            Rows{"file_lines: /var/log/big.log: larger than 8388608 bytes; only the lines in "
                 "the first 8388600 bytes are listed"});
}

TEST(FileLinesTable, NeedsAPathAndMissingFilesGiveNothing) {
  auto result = RunSql(FixtureRoot("debian12"), "SELECT * FROM file_lines");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("path"), std::string::npos);
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM file_lines WHERE path = '/etc/no/such/file'"),
            Rows{"0"});
}

TEST(FileLinesTable, ThisMachinesPasswdAsRead) {
  Rows expected;
  std::ifstream in("/etc/passwd");
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    expected.push_back(std::to_string(++number) + "|" + line);
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Query("/", "SELECT line, text FROM file_lines WHERE path = '/etc/passwd'"), expected);
}

}  // namespace
}  // namespace vigil::tables
