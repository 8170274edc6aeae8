#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
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

// Fixture: root's file has options with quoted commas and escaped quotes, a CRLF line, a blank
// line and a line that is not a key; historian has both standard files (a CA line, a
// certificate, a broken key) and a file under /etc/ssh/authorized_keys/%u, which sshd's
// AuthorizedKeysFile names.
TEST(AuthorizedKeysTable, FixtureKeysWithOptionsAndSshdFiles) {
  Rows warnings;
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT uid, username, algorithm, options, comment, key_file, line, bits, "
            "fingerprint FROM authorized_keys",
            &warnings),
      (Rows{
          "0|root|ssh-ed25519|from=\"10.20.0.0/16,192.168.10.5\",command=\"/usr/local/bin/"
          "backup-receiver --mode \\\"full, incremental\\\"\",no-pty,no-port-forwarding|"
          "backup@ops|/root/.ssh/authorized_keys|2|256|"
          "SHA256:hYam/TK1HUhgvP7/O7qooUYOIJivGmG/C31Rkd6AVY8",
          "0|root|ssh-rsa||legacy-hmi|/root/.ssh/authorized_keys|3|1024|"
          "SHA256:yivVHbZ+sWJsh8ksUsCoAchTf4EppgelUEwCbbmIzYk",
          "0|root|ecdsa-sha2-nistp521|restrict,command=\"uptime\"|vendor support|"
          "/root/.ssh/authorized_keys|6|521|SHA256:b1Vb2nGWracXXLHQIQFR6O1blYKx8/w4dhemNVHgKqk",
          "1000|historian|ssh-rsa||historian@eng-ws 2023|/home/historian/.ssh/authorized_keys|"
          "1|2048|SHA256:RtNuobolyw0YjOBektZ1g3dDH/cUlFeKZFHiG3QtC8k",
          "1000|historian|ssh-ed25519|cert-authority,principals=\"historian\"|site-ca|"
          "/home/historian/.ssh/authorized_keys|2|256|"
          "SHA256:Qdz8VZAHaHXomuIy8RmjCADlOqEMymS7kTohCDu6mcI",
          // A certificate has the fingerprint of the key it certifies, as ssh-keygen shows.
          "1000|historian|ssh-rsa-cert-v01@openssh.com||historian@eng-ws 2023|"
          "/home/historian/.ssh/authorized_keys2|1|2048|"
          "SHA256:RtNuobolyw0YjOBektZ1g3dDH/cUlFeKZFHiG3QtC8k",
          "1000|historian|ssh-ed25519||broken|/home/historian/.ssh/authorized_keys2|2|NULL|NULL",
          "1000|historian|ecdsa-sha2-nistp384|||/etc/ssh/authorized_keys/historian|2|384|"
          "SHA256:sEWDoCrunoJwLbSq0QAUljnVE5eAoBFagPeY/JfPR4Y",
      }));
  EXPECT_EQ(warnings, (Rows{
                          "authorized_keys: /root/.ssh/authorized_keys:5: unknown key type",
                          "authorized_keys: /home/historian/.ssh/authorized_keys2:2: key is "
                          "not valid base64",
                      }));
}

TEST(AuthorizedKeysTable, KeyColumnAndConstraints) {
  Rows warnings;
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT key FROM authorized_keys WHERE uid = 0 AND comment = 'backup@ops'", &warnings),
      Rows{"AAAAC3NzaC1lZDI1NTE5AAAAIFG6x0tTYm3wIK+FqcRRuSVH7tM4Phmvs5wFCYbs7AtH"});
  // Only root's file is read for uid = 0.
  EXPECT_EQ(warnings, Rows{"authorized_keys: /root/.ssh/authorized_keys:5: unknown key type"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT count(*) FROM authorized_keys WHERE username = 'historian' AND "
                  "key_file LIKE '%authorized_keys2'"),
            Rows{"2"});
  // The check an IEC 62443 pack runs: keys for root without a source restriction.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT comment FROM authorized_keys WHERE uid = 0 AND options NOT LIKE "
                  "'%from=%' ORDER BY comment",
                  &warnings),
            (Rows{"legacy-hmi", "vendor support"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT u.username, count(*) FROM users u JOIN authorized_keys k USING (uid) "
                  "GROUP BY u.username ORDER BY u.username",
                  &warnings),
            (Rows{"historian|5", "root|3"}));
}

TEST(AuthorizedKeysTable, AuthorizedKeysFileTokensAndNone) {
  TempDir root;
  root.WriteFile("etc/passwd",
                 "ops:x:1500:1500:Operator:/srv/ops:/bin/bash\n"
                 "malformed line\n");
  root.WriteFile("etc/ssh/sshd_config",
                 "AuthorizedKeysFile none keys/%u.%U %%h/ignored /etc/keys/%u\n");
  const std::string key =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFG6x0tTYm3wIK+FqcRRuSVH7tM4Phmvs5wFCYbs7AtH";
  root.WriteFile("srv/ops/keys/ops.1500", key + " relative\n");
  root.WriteFile("srv/ops/%h/ignored", key + " literal-percent\n");
  root.WriteFile("etc/keys/ops", "# none\n\n" + key + "  central   \n");
  root.WriteFile("srv/ops/.ssh/authorized_keys2", key + " legacy\n");
  EXPECT_EQ(Query(root.path(), "SELECT key_file, line, comment FROM authorized_keys"),
            (Rows{
                "/srv/ops/.ssh/authorized_keys2|1|legacy",
                "/srv/ops/keys/ops.1500|1|relative",
                "/srv/ops/%h/ignored|1|literal-percent",
                "/etc/keys/ops|3|central",
            }));
}

// ssh-keygen -l reads authorized_keys files too (options and all).
TEST(AuthorizedKeysTable, FixtureMatchesSshKeygen) {
  if (!HaveCommand("ssh-keygen")) GTEST_SKIP() << "ssh-keygen is not installed";
  const std::string root = FixtureRoot("debian12");
  for (const std::string file :
       {"/root/.ssh/authorized_keys", "/home/historian/.ssh/authorized_keys",
        "/etc/ssh/authorized_keys/historian"}) {
    Rows expected;
    std::istringstream lines(CommandOutput("ssh-keygen -lf " + root + file));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream in(line);
      std::string bits, fingerprint;
      in >> bits >> fingerprint;
      expected.push_back(bits + "|" + fingerprint);
    }
    Rows warnings;  // root's file has a line that is not a key
    EXPECT_EQ(
        Query(root, "SELECT bits, fingerprint FROM authorized_keys WHERE key_file = '" + file + "'",
              &warnings),
        expected)
        << file;
  }
}

}  // namespace
}  // namespace vigil::tables
