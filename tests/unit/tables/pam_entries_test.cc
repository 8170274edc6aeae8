#include <gtest/gtest.h>

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

// sshd pulls the four common-* files in with Debian's @include; every line keeps its own file
// and line, and positions count each type's stack after expansion.
TEST(PamEntriesTable, ExpandsDebianIncludesInPlace) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT type, position, control, module, arguments, file, line, optional_module, "
            "via FROM pam_entries WHERE service = 'sshd' ORDER BY type, position"),
      (Rows{
          "account|1|required|pam_nologin.so||/etc/pam.d/sshd|4|0|NULL",
          "account|2|[success=1 new_authtok_reqd=done default=ignore]|pam_unix.so||"
          "/etc/pam.d/common-account|2|0|/etc/pam.d/sshd:5 @include",
          "account|3|requisite|pam_deny.so||/etc/pam.d/common-account|3|0|"
          "/etc/pam.d/sshd:5 @include",
          "account|4|required|pam_permit.so||/etc/pam.d/common-account|4|0|"
          "/etc/pam.d/sshd:5 @include",
          "account|5|required|pam_faillock.so||/etc/pam.d/common-account|5|0|"
          "/etc/pam.d/sshd:5 @include",
          "auth|1|required|pam_faillock.so|preauth silent deny=5 unlock_time=900|"
          "/etc/pam.d/common-auth|3|0|/etc/pam.d/sshd:3 @include",
          "auth|2|[success=1 default=ignore]|pam_unix.so|nullok|/etc/pam.d/common-auth|4|0|"
          "/etc/pam.d/sshd:3 @include",
          "auth|3|requisite|pam_deny.so||/etc/pam.d/common-auth|5|0|/etc/pam.d/sshd:3 @include",
          "auth|4|required|pam_permit.so||/etc/pam.d/common-auth|6|0|/etc/pam.d/sshd:3 @include",
          "auth|5|[default=die]|pam_faillock.so|authfail|/etc/pam.d/common-auth|7|0|"
          "/etc/pam.d/sshd:3 @include",
          // Continued on the next physical line; numbered by the first.
          "password|1|requisite|pam_pwquality.so|retry=3 minlen=12 dcredit=-1 ucredit=-1|"
          "/etc/pam.d/common-password|2|0|/etc/pam.d/sshd:12 @include",
          "password|2|[success=1 default=ignore]|pam_unix.so|"
          "obscure use_authtok try_first_pass yescrypt|/etc/pam.d/common-password|4|0|"
          "/etc/pam.d/sshd:12 @include",
          "password|3|requisite|pam_deny.so||/etc/pam.d/common-password|5|0|"
          "/etc/pam.d/sshd:12 @include",
          "password|4|required|pam_permit.so||/etc/pam.d/common-password|6|0|"
          "/etc/pam.d/sshd:12 @include",
          "session|1|[success=ok ignore=ignore module_unknown=ignore default=bad]|pam_selinux.so|"
          "close|/etc/pam.d/sshd|6|0|NULL",
          "session|2|required|pam_loginuid.so||/etc/pam.d/sshd|7|0|NULL",
          "session|3|optional|pam_keyinit.so|force revoke|/etc/pam.d/sshd|8|0|NULL",
          "session|4|[default=1]|pam_permit.so||/etc/pam.d/common-session|2|0|"
          "/etc/pam.d/sshd:9 @include",
          "session|5|requisite|pam_deny.so||/etc/pam.d/common-session|3|0|"
          "/etc/pam.d/sshd:9 @include",
          "session|6|required|pam_permit.so||/etc/pam.d/common-session|4|0|"
          "/etc/pam.d/sshd:9 @include",
          "session|7|required|pam_unix.so||/etc/pam.d/common-session|5|0|"
          "/etc/pam.d/sshd:9 @include",
          // "-session": optional_module, type without the '-'.
          "session|8|optional|pam_systemd.so||/etc/pam.d/common-session|6|1|"
          "/etc/pam.d/sshd:9 @include",
          // A comment after the arguments is dropped.
          "session|9|optional|pam_umask.so|usergroups|/etc/pam.d/common-session|7|0|"
          "/etc/pam.d/sshd:9 @include",
          "session|10|required|pam_limits.so||/etc/pam.d/sshd|10|0|NULL",
          "session|11|required|pam_env.so|user_readenv=1 envfile=/etc/default/locale|"
          "/etc/pam.d/sshd|11|0|NULL",
      }));
}

// sudo's "auth include login" takes only login's auth lines, and login's "auth substack
// common-auth" nests inside it; via records both steps.
TEST(PamEntriesTable, IncludeAndSubstackTakeLinesOfTheirTypeOnly) {
  const std::string via_include = "/etc/pam.d/sudo:6 include";
  const std::string via_substack = via_include + ", /etc/pam.d/login:3 substack";
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT position, module, file, line, via FROM pam_entries "
                  "WHERE service = 'sudo' AND type = 'auth' ORDER BY position"),
            (Rows{
                "1|pam_nologin.so|/etc/pam.d/login|2|" + via_include,
                "2|pam_faillock.so|/etc/pam.d/common-auth|3|" + via_substack,
                "3|pam_unix.so|/etc/pam.d/common-auth|4|" + via_substack,
                "4|pam_deny.so|/etc/pam.d/common-auth|5|" + via_substack,
                "5|pam_permit.so|/etc/pam.d/common-auth|6|" + via_substack,
                "6|pam_faillock.so|/etc/pam.d/common-auth|7|" + via_substack,
                "7|pam_group.so|/etc/pam.d/login|4|" + via_include,
            }));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT type, count(*) FROM pam_entries WHERE service = 'sudo' "
                  "GROUP BY type ORDER BY type"),
            (Rows{"account|4", "auth|7", "session|7"}));
}

TEST(PamEntriesTable, KeepsBracketedArgumentsWholeAndLowercasesTypes) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT line, type, control, module, arguments FROM pam_entries "
                  "WHERE service = 'login' AND file = '/etc/pam.d/login' ORDER BY line"),
            (Rows{
                "2|auth|requisite|pam_nologin.so|",
                "4|auth|optional|pam_group.so|",
                "7|session|required|pam_loginuid.so|",
                "9|session|optional|pam_lastlog.so|showfailed",
                "10|session|optional|pam_exec.so|"
                "[/usr/local/bin/notify --tag login] log=/var/log/notify.log",
            }));
}

TEST(PamEntriesTable, EveryFileIsAServiceAndServiceConstraintsFilter) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT service, count(*) FROM pam_entries GROUP BY service ORDER BY service"),
            (Rows{"common-account|4", "common-auth|5", "common-password|4", "common-session|6",
                  "login|24", "other|5", "sshd|25", "sudo|18"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT type, module FROM pam_entries WHERE service IN ('other', 'nosuch') "
                  "AND control = 'required' ORDER BY position, type"),
            (Rows{"account|pam_deny.so", "auth|pam_warn.so", "password|pam_deny.so",
                  "session|pam_deny.so", "auth|pam_deny.so"}));
}

TEST(PamEntriesTable, LoopsMissingFilesAndMalformedLinesAreWarnings) {
  TempDir root;
  root.WriteFile("etc/pam.d/a",
                 "auth required pam_a.so\n"
                 "@include b\n"
                 "auth substack missing-file\n"
                 "acount required pam_x.so\n"
                 "session required\n"
                 "-auth optional pam_opt.so x # a comment ends the line, even with \\\n"
                 "AUTH REQUIRED pam_after.so\n"
                 "@include\n");
  root.WriteFile("etc/pam.d/b",
                 "auth required pam_b.so\n"
                 "@include a\n");
  root.WriteFile("usr/lib/pam.d/a", "auth required pam_hidden.so\n");
  root.WriteFile("usr/lib/pam.d/vendoronly", "account required pam_v.so\n");
  root.MakeDir("etc/pam.d/subdir");
  Rows warnings;
  EXPECT_EQ(Query(root.path(),
                  "SELECT service, type, position, control, module, arguments, file, line, "
                  "optional_module, via FROM pam_entries ORDER BY service, type, position",
                  &warnings),
            (Rows{
                "a|auth|1|required|pam_a.so||/etc/pam.d/a|1|0|NULL",
                "a|auth|2|required|pam_b.so||/etc/pam.d/b|1|0|/etc/pam.d/a:2 @include",
                "a|auth|3|optional|pam_opt.so|x|/etc/pam.d/a|6|1|NULL",
                "a|auth|4|required|pam_after.so||/etc/pam.d/a|7|0|NULL",
                "b|auth|1|required|pam_b.so||/etc/pam.d/b|1|0|NULL",
                "b|auth|2|required|pam_a.so||/etc/pam.d/a|1|0|/etc/pam.d/b:2 @include",
                "b|auth|3|optional|pam_opt.so|x|/etc/pam.d/a|6|1|/etc/pam.d/b:2 @include",
                "b|auth|4|required|pam_after.so||/etc/pam.d/a|7|0|/etc/pam.d/b:2 @include",
                "vendoronly|account|1|required|pam_v.so||/usr/lib/pam.d/vendoronly|1|0|NULL",
            }));
  EXPECT_EQ(warnings,
            (Rows{
                "pam_entries: /etc/pam.d/b:2: include loop: /etc/pam.d/a is already being "
                "included",
                "pam_entries: /etc/pam.d/a:3: cannot open included file 'missing-file'",
                "pam_entries: /etc/pam.d/a:4: unknown module type 'acount'",
                "pam_entries: /etc/pam.d/a:5: expected a control and a module after 'session'",
                "pam_entries: /etc/pam.d/a:8: @include without a file name",
                "pam_entries: /etc/pam.d/a:2: include loop: /etc/pam.d/b is already being "
                "included",
            }));
}

TEST(PamEntriesTable, NoPamDirectoryMeansNoRows) {
  TempDir root;
  EXPECT_EQ(Query(root.path(), "SELECT * FROM pam_entries"), Rows{});
}

}  // namespace
}  // namespace vigil::tables
