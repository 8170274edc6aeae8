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

// The fixture's keys were made with ssh-keygen (the private halves were not kept). sshd's
// HostKey lines name the Ed25519, RSA and ECDSA keys; the DSA key is a leftover.
TEST(SshHostKeysTable, FixtureKeys) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"), "SELECT * FROM ssh_host_keys"),
      (Rows{
          "ssh-dss|1024|SHA256:KT9z+wO3sYdc/RwnjrW8TwyMbY9qdKjF3ECwaoEKsFA|root@historian01|"
          "/etc/ssh/ssh_host_dsa_key.pub|/etc/ssh/ssh_host_dsa_key|0",
          "ecdsa-sha2-nistp256|256|SHA256:7BKg/zi0oQai+2Bw/OiEzyjIdeuGigD6vva2caI6dMU|"
          "root@historian01|/etc/ssh/ssh_host_ecdsa_key.pub|/etc/ssh/ssh_host_ecdsa_key|1",
          "ssh-ed25519|256|SHA256:czhSstlcDQH6bOk2QKM9f3NtDw+e2KJRZ5ky1TCaeO8|"
          "root@historian01|/etc/ssh/ssh_host_ed25519_key.pub|/etc/ssh/ssh_host_ed25519_key|1",
          "ssh-rsa|3072|SHA256:WJIoshhqMbps3//fw9oEEBjRWhgOTQiV6ImYJfbh/ng|root@historian01|"
          "/etc/ssh/ssh_host_rsa_key.pub|/etc/ssh/ssh_host_rsa_key|1",
      }));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT file FROM ssh_host_keys WHERE type = 'ssh-dss' OR "
                  "(type = 'ssh-rsa' AND bits < 2048)"),
            Rows{"/etc/ssh/ssh_host_dsa_key.pub"});
}

TEST(SshHostKeysTable, HostKeyPathsOutsideTheUsualNames) {
  TempDir root;
  const std::string ed25519 =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdXlx2kXlZQOqF5GF8/5ab/FxjzReOTQoGtVbonOm0Y";
  root.WriteFile("etc/ssh/sshd_config", "HostKey /opt/keys/hmi_host\nHostKey /opt/keys/gone\n");
  root.WriteFile("opt/keys/hmi_host.pub", "\n# generated at commissioning\n" + ed25519 + "\n");
  root.WriteFile("etc/ssh/ssh_host_rsa_key.pub", "ssh-rsa AAAA!!!! broken\nnot a key\n");
  Rows warnings;
  EXPECT_EQ(Query(root.path(), "SELECT type, bits, comment, file, used_by_sshd FROM ssh_host_keys",
                  &warnings),
            Rows{"ssh-ed25519|256||/opt/keys/hmi_host.pub|1"});
  EXPECT_EQ(warnings, (Rows{
                          "ssh_host_keys: /etc/ssh/ssh_host_rsa_key.pub:1: key is not valid "
                          "base64",
                          "ssh_host_keys: /etc/ssh/ssh_host_rsa_key.pub:2: unknown key type",
                      }));
}

TEST(SshHostKeysTable, WithoutSshdConfigUsedBySshdIsNull) {
  TempDir root;
  root.WriteFile("etc/ssh/ssh_host_ed25519_key.pub",
                 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdXlx2kXlZQOqF5GF8/5ab/FxjzReOTQoGtVbonOm0Y "
                 "a comment with  blanks\r\n");
  EXPECT_EQ(Query(root.path(), "SELECT comment, used_by_sshd FROM ssh_host_keys"),
            Rows{"a comment with  blanks|NULL"});
}

// "256 SHA256:... comment (ED25519)" -> "256|SHA256:...|comment|ED25519"
std::string KeygenLine(const std::string& line) {
  std::istringstream in(line);
  std::string bits, fingerprint;
  in >> bits >> fingerprint;
  std::string rest;
  std::getline(in, rest);
  rest = rest.substr(1);
  size_t paren = rest.rfind(" (");
  std::string comment = rest.substr(0, paren);
  if (comment == "no comment") comment.clear();
  std::string type = rest.substr(paren + 2, rest.size() - paren - 3);
  return bits + "|" + fingerprint + "|" + comment + "|" + type;
}

std::string KeygenType(const std::string& type) {
  if (type == "ssh-rsa") return "RSA";
  if (type == "ssh-dss") return "DSA";
  if (type == "ssh-ed25519") return "ED25519";
  if (type.starts_with("ecdsa-sha2-")) return "ECDSA";
  return type;
}

void CompareWithSshKeygen(const std::string& root) {
  auto result = RunSql(root, "SELECT file, type, bits, fingerprint, comment FROM ssh_host_keys");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_FALSE(result->rows.empty());
  for (const Row& row : result->rows) {
    const std::string file = row[0].text();
    const std::string real = root == "/" ? file : root + file;
    std::string output = CommandOutput("ssh-keygen -lf " + real);
    output.pop_back();  // the newline
    EXPECT_EQ(KeygenLine(output), row[2].ToString() + "|" + row[3].text() + "|" + row[4].text() +
                                      "|" + KeygenType(row[1].text()))
        << file;
  }
}

TEST(SshHostKeysTable, FixtureMatchesSshKeygen) {
  if (!HaveCommand("ssh-keygen")) GTEST_SKIP() << "ssh-keygen is not installed";
  CompareWithSshKeygen(FixtureRoot("debian12"));
}

TEST(SshHostKeysTable, ThisMachineMatchesSshKeygen) {
  if (!HaveCommand("ssh-keygen")) GTEST_SKIP() << "ssh-keygen is not installed";
  if (CommandOutput("ls /etc/ssh | grep -c '^ssh_host_.*_key.pub$' || true") == "0\n") {
    GTEST_SKIP() << "this machine has no SSH host keys";
  }
  CompareWithSshKeygen("/");
}

}  // namespace
}  // namespace vigil::tables
