// The shared helpers of enforcers/internal/action_text.h: the two families of argument checks
// keep their own messages, and the two word splitters differ only in '\r' and '\n'.
#include "enforcers/internal/action_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers::action_text {
namespace {

packs::Param List(std::vector<std::string> items) { return packs::Param{std::move(items), true}; }

TEST(ActionText, TextLinesGiveTheSameBytesBackAndAppendAfterALastLineWithoutNewline) {
  for (std::string_view text : {"", "a\n", "a\r\nb", "\n\n", "x\ny\n"}) {
    EXPECT_EQ(TextLines::Split(text).Join(), text);
  }
  TextLines lines = TextLines::Split("a\nb");
  lines.Insert(lines.lines.size(), "c");
  EXPECT_EQ(lines.Join(), "a\nb\nc\n");
}

TEST(ActionText, OneParamRefusesListsAndLineBreaksShowingTheValueAsGiven) {
  const packs::Params args = {{"unit", packs::Param::One("a\nb")},
                              {"file", List({"/a", "/b"})},
                              {"nul", packs::Param::One(std::string("a\0b", 3))},
                              {"ok", packs::Param::One("ssh.service")}};
  EXPECT_EQ(OneParam("service.mask", args, "unit").status().message(),
            "service.mask: unit 'a\nb' holds a line break");
  EXPECT_EQ(OneParam("x", args, "file").status().message(), "x: file takes one value, not a list");
  EXPECT_EQ(OneParam("x", args, "nul").status().message(), "x: nul holds a NUL byte");
  EXPECT_EQ(*OneParam("x", args, "ok"), "ssh.service");
  EXPECT_EQ(*OneParam("x", args, "absent", "dflt"), "dflt");
}

TEST(ActionText, ListParamTrimsAndDropsEmptyItems) {
  const packs::Params args = {{"rules", List({"  -w /etc/passwd ", "", " \t"})},
                              {"one", packs::Param::One("x")}};
  EXPECT_EQ(*ListParam("a", args, "rules"), std::vector<std::string>{"-w /etc/passwd"});
  EXPECT_EQ(*ListParam("a", args, "one"), std::vector<std::string>{"x"});
  EXPECT_TRUE(ListParam("a", args, "absent")->empty());
  // Arg and ListArg give values unchecked and untrimmed.
  EXPECT_EQ(ListArg(args, "rules").size(), 3u);
  EXPECT_EQ(Arg(args, "one"), "x");
  EXPECT_TRUE(HasArg(args, "one"));
  EXPECT_FALSE(HasArg(args, "absent"));
}

TEST(ActionText, CheckAbsolutePathWantsANormalisedPath) {
  EXPECT_TRUE(CheckAbsolutePath("a", "path", "/etc/issue").ok());
  EXPECT_TRUE(CheckAbsolutePath("a", "path", "/").ok());
  EXPECT_EQ(CheckAbsolutePath("a", "path", "").message(), "a: path '' is empty");
  EXPECT_EQ(CheckAbsolutePath("a", "path", "etc/x").message(),
            "a: path 'etc/x' is not an absolute path");
  EXPECT_EQ(CheckAbsolutePath("a", "path", "/etc/").message(),
            "a: path '/etc/' names a folder, not a file");
  for (std::string_view bad : {"/etc/../x", "/etc/./x", "/etc//x"}) {
    EXPECT_EQ(CheckAbsolutePath("a", "path", bad).message(),
              "a: path '" + std::string(bad) + "' is not a normalised path");
  }
  EXPECT_EQ(CheckAbsolutePath("a", "path", "/etc/x\ny").message(),
            "a: path '/etc/x y' must be one line");
}

TEST(ActionText, CheckHostPathRefusesOnlyDotDotAmongComponents) {
  EXPECT_TRUE(CheckHostPath("a", "file", "/etc/sudoers.d/vigil").ok());
  EXPECT_TRUE(CheckHostPath("a", "file", "/etc/./x").ok());
  EXPECT_EQ(CheckHostPath("a", "file", "").message(), "a: file '' is not an absolute path");
  EXPECT_EQ(CheckHostPath("a", "file", "/").message(), "a: file '/' names a folder, not a file");
  EXPECT_EQ(CheckHostPath("a", "file", "/etc/../x").message(), "a: file '/etc/../x' holds '..'");
  EXPECT_EQ(CheckHostPath("a", "file", "/etc/x\ny").message(),
            "a: file '/etc/x\ny' holds a line break");
}

TEST(ActionText, CheckKeyAndBadArg) {
  EXPECT_TRUE(CheckKey("a", "key", "UMASK").ok());
  EXPECT_EQ(CheckKey("a", "key", "A=B").message(),
            "a: key 'A=B' must not contain blanks, '=' or '#'");
  EXPECT_EQ(BadArg("a", "v", "x\r\ny", "is wrong").message(), "a: v 'x  y' is wrong");
  EXPECT_TRUE(CheckOneLine("a", "v", "", /*allow_empty=*/true).ok());
}

TEST(ActionText, BlanksAndWords) {
  EXPECT_EQ(Trim(" \t a b\r\n"), "a b");
  EXPECT_EQ(Lower("PermitRootLogin"), "permitrootlogin");
  EXPECT_EQ(NormalizeBlanks("a  b\t c\r\n"), "a b c");
  // Words and CollapseSpaces split at spaces and tabs only: a '\r' stays in the word.
  EXPECT_EQ(CollapseSpaces("-w  /etc/passwd\t-p wa\r"), "-w /etc/passwd -p wa\r");
  EXPECT_EQ(Words("a\tb  c\r"), (std::vector<std::string>{"a", "b", "c\r"}));
  EXPECT_EQ(SplitBlanks("a\tb  c\r").size(), 3u);
  EXPECT_EQ(SplitBlanks("a\tb  c\r")[2], "c");
}

TEST(ActionText, ColonRecords) {
  const std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/a:/bin/sh\n";
  auto fields = FindColonRecord(passwd, "alice");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(fields->size(), 7u);
  EXPECT_EQ((*fields)[4], "");
  EXPECT_EQ(JoinColonRecord(*fields), "alice:x:1000:1000::/home/a:/bin/sh");
  EXPECT_FALSE(FindColonRecord(passwd, "ali").has_value());
}

TEST(ActionText, AccountRecordEditsOneLineAndKeepsTheRestByteForByte) {
  vigil::testing::TempDir dir;
  dir.WriteFile("etc/shadow", "root:*:1::::::\r\nalice:$y$x:2::::::\nbob:!:3::::::");
  auto host = Host::Open(dir.path());
  ASSERT_TRUE(host.ok());
  auto record = FindAccountRecord(**host, "account.lock", "/etc/shadow", "alice");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->line, 1u);
  record->fields[1] = "!" + record->fields[1];
  FileEdit edit = record->Edit();
  EXPECT_EQ(edit.path, "/etc/shadow");
  EXPECT_EQ(*edit.content, "root:*:1::::::\r\nalice:!$y$x:2::::::\nbob:!:3::::::");
  EXPECT_EQ(FindAccountRecord(**host, "account.lock", "/etc/shadow", "ali").status(),
            Status::NotFound("account.lock: user 'ali' is not in /etc/shadow"));
  EXPECT_EQ(FindAccountRecord(**host, "account.lock", "/etc/gshadow", "alice").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(CheckUserName("a", "user", "a:b").message(), "a: user 'a:b' is not a user name");
  EXPECT_EQ(CheckUserName("a", "user", "a b").message(),
            "a: user 'a b' must not contain blanks, '=' or '#'");
}

}  // namespace
}  // namespace vigil::enforcers::action_text
