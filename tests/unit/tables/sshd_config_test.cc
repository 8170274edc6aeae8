#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <map>
#include <regex>
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

const std::string kDropIns = "/etc/ssh/sshd_config.d/";

// The fixture: sshd_config includes sshd_config.d/*.conf first (10-hardening.conf, then
// 20-vendor.conf, whose Match Group block ends with that file), then its own lines, then a
// Match User block that includes match_historian.conf and a Match Address block.
TEST(SshdConfigTable, GlobalSettingsFirstValueWinsDropInsFirst) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT keyword, value, file, line FROM sshd_config "
                  "WHERE match = '' AND source = 'config'"),
            (Rows{
                "permitrootlogin|no|" + kDropIns + "10-hardening.conf|3",
                "passwordauthentication|no|" + kDropIns + "10-hardening.conf|4",
                "maxauthtries|3|" + kDropIns + "10-hardening.conf|5",
                "kexalgorithms|curve25519-sha256,curve25519-sha256@libssh.org,"
                "diffie-hellman-group16-sha512|" +
                    kDropIns + "10-hardening.conf|6",
                "allowgroups|ssh adm|" + kDropIns + "10-hardening.conf|7",
                // 20-vendor.conf's PermitRootLogin and MaxAuthTries lose; AllowGroups adds.
                "allowgroups|sudo|" + kDropIns + "20-vendor.conf|5",
                "loglevel|INFO|" + kDropIns + "20-vendor.conf|6",  // "LogLevel=INFO"
                "allowtcpforwarding|no|" + kDropIns + "20-vendor.conf|7",
                "port|22|/etc/ssh/sshd_config|11",
                "listenaddress|0.0.0.0|/etc/ssh/sshd_config|13",
                "hostkey|/etc/ssh/ssh_host_ed25519_key|/etc/ssh/sshd_config|15",
                "hostkey|/etc/ssh/ssh_host_rsa_key|/etc/ssh/sshd_config|16",
                "hostkey|/etc/ssh/ssh_host_ecdsa_key|/etc/ssh/sshd_config|17",
                "logingracetime|60|/etc/ssh/sshd_config|25",
                "maxsessions|4|/etc/ssh/sshd_config|28",
                "pubkeyauthentication|yes|/etc/ssh/sshd_config|30",
                "authorizedkeysfile|.ssh/authorized_keys /etc/ssh/authorized_keys/%u|"
                "/etc/ssh/sshd_config|33",
                "permitemptypasswords|no|/etc/ssh/sshd_config|37",
                // ChallengeResponseAuthentication (line 42) is the same keyword: ignored.
                "kbdinteractiveauthentication|no|/etc/ssh/sshd_config|41",
                "usepam|yes|/etc/ssh/sshd_config|44",
                "x11forwarding|yes|/etc/ssh/sshd_config|46",
                "printmotd|no|/etc/ssh/sshd_config|48",
                "clientaliveinterval|300|/etc/ssh/sshd_config|50",
                "clientalivecountmax|2|/etc/ssh/sshd_config|51",
                "banner|/etc/issue.net|/etc/ssh/sshd_config|53",
                "acceptenv|LANG LC_*|/etc/ssh/sshd_config|56",
                "acceptenv|TZ|/etc/ssh/sshd_config|57",
                "subsystem|sftp /usr/lib/openssh/sftp-server|/etc/ssh/sshd_config|60",
                "ciphers|aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr|"
                "/etc/ssh/sshd_config|62",
                "macs|hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com|"
                "/etc/ssh/sshd_config|63",
            }));
}

TEST(SshdConfigTable, MatchBlocksKeepTheirConditionAndIncludes) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT match, keyword, value, file, line FROM sshd_config WHERE match <> ''"),
            (Rows{
                "Group sftponly|chrootdirectory|/srv/sftp/%u|" + kDropIns + "20-vendor.conf|11",
                "Group sftponly|forcecommand|internal-sftp|" + kDropIns + "20-vendor.conf|12",
                "User historian|x11forwarding|yes|/etc/ssh/sshd_config|67",
                // Included inside the Match block; its X11Forwarding (line 3) comes too late.
                "User historian|allowtcpforwarding|local|/etc/ssh/match_historian.conf|2",
                "User historian|permittty|yes|/etc/ssh/sshd_config|69",
                "Address 10.0.0.0/8,192.168.10.0/24|passwordauthentication|yes|"
                "/etc/ssh/sshd_config|72",
                "Address 10.0.0.0/8,192.168.10.0/24|maxauthtries|2|/etc/ssh/sshd_config|73",
                "Address 10.0.0.0/8,192.168.10.0/24|banner|/etc/issue|/etc/ssh/sshd_config|74",
            }));
}

TEST(SshdConfigTable, DefaultsFillKeywordsNoGlobalLineSets) {
  EXPECT_EQ(
      Query(FixtureRoot("debian12"),
            "SELECT keyword, value, match, file, line, source FROM sshd_config "
            "WHERE keyword IN ('permituserenvironment', 'hostbasedauthentication', "
            "'ignorerhosts', 'maxstartups', 'rekeylimit', 'authenticationmethods', "
            "'permitrootlogin', 'chrootdirectory', 'permittty') ORDER BY keyword, match"),
      (Rows{
          "authenticationmethods|any||NULL|NULL|default",
          // Set only inside a Match block: the global default still applies to others.
          "chrootdirectory|none||NULL|NULL|default",
          "chrootdirectory|/srv/sftp/%u|Group sftponly|" + kDropIns + "20-vendor.conf|11|config",
          "hostbasedauthentication|no||NULL|NULL|default",
          "ignorerhosts|yes||NULL|NULL|default",
          "maxstartups|10:30:100||NULL|NULL|default",
          "permitrootlogin|no||" + kDropIns + "10-hardening.conf|3|config",
          "permittty|yes||NULL|NULL|default",
          "permittty|yes|User historian|/etc/ssh/sshd_config|69|config",
          "permituserenvironment|no||NULL|NULL|default",
          "rekeylimit|0 0||NULL|NULL|default",
      }));
}

TEST(SshdConfigTable, RootLoginCheckFromTheBrief) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT * FROM sshd_config WHERE keyword = 'permitrootlogin' AND value <> 'no'"),
            Rows{});
  EXPECT_EQ(Query(FixtureRoot("debian12"), "SELECT keyword, line FROM sshd_config WHERE file = '" +
                                               kDropIns + "20-vendor.conf'"),
            (Rows{"allowgroups|5", "loglevel|6", "allowtcpforwarding|7", "chrootdirectory|11",
                  "forcecommand|12"}));
}

TEST(SshdConfigTable, NoConfigurationNoRows) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config.d/10-x.conf", "PermitRootLogin no\n");
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM sshd_config"), Rows{"0"});
}

TEST(SshdConfigTable, QuotesEscapesAndCaseAsSshdReadsThem) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config",
                 "  BANNER   =  \"/etc/ssh/my banner\"   # quoted path with a blank\n"
                 "AcceptEnv 'LC_*' X\\ Y\n"
                 "ForceCommand /usr/bin/logger \"a \\\"quoted\\\" word\" #not-a-comment\n"
                 "SetEnv A=1\n"
                 "SetEnv B=2\n"
                 "PubkeyAcceptedKeyTypes ssh-ed25519\n"
                 "PubKeyAcceptedAlgorithms rsa-sha2-512\n"
                 "Protocol 2\n"
                 "Include /etc/ssh/none-here/*.conf ~/.ssh/x\n");
  EXPECT_EQ(
      Query(root.path(), "SELECT keyword, value, line FROM sshd_config WHERE source = 'config'"),
      (Rows{
          "banner|/etc/ssh/my banner|1",
          "acceptenv|LC_* X Y|2",
          "forcecommand|/usr/bin/logger a \"quoted\" word|3",
          "setenv|A=1|4",  // SetEnv keeps its first line
          "pubkeyacceptedalgorithms|ssh-ed25519|6",
      }));
}

// sshd applies a global-only keyword after `Match all` globally (`sshd -T` prints port 2222);
// keywords allowed in Match blocks stay under the condition, which matches every connection.
TEST(SshdConfigTable, MatchAllTakesGlobalOnlyKeywords) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config", "Match all\nPort 2222\nPasswordAuthentication no\n");
  EXPECT_EQ(Query(root.path(),
                  "SELECT keyword, value, match, source FROM sshd_config "
                  "WHERE keyword IN ('port', 'passwordauthentication') ORDER BY keyword, match"),
            (Rows{"passwordauthentication|yes||default", "passwordauthentication|no|all|config",
                  "port|2222||config"}));
}

TEST(SshdConfigTable, LinesSshdRefusesAreWarnedAndSkipped) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config",
                 "PermitRootLogn no\n"
                 "MaxAuthTries\n"
                 "Banner \"/etc/issue\n"
                 "Subsystem sftp internal-sftp\n"
                 "Subsystem sftp /usr/lib/openssh/sftp-server\n"
                 "Include loop.conf\n"
                 "Include sshd_config.d\n"
                 "Match User ops\n"
                 "  Port 2222\n"
                 "  MaxSessions 2\n"
                 "Match Colour blue\n"
                 "  MaxSessions 3\n");
  root.WriteFile("etc/ssh/loop.conf", "Include /etc/ssh/loop.conf\nMaxStartups 5\n");
  root.MakeDir("etc/ssh/sshd_config.d");
  Rows warnings;
  EXPECT_EQ(Query(root.path(),
                  "SELECT keyword, value, match, file, line FROM sshd_config "
                  "WHERE source = 'config'",
                  &warnings),
            (Rows{
                "subsystem|sftp internal-sftp||/etc/ssh/sshd_config|4",
                "maxstartups|5||/etc/ssh/loop.conf|2",
                "maxsessions|2|User ops|/etc/ssh/sshd_config|10",
            }));
  EXPECT_EQ(
      warnings,
      (Rows{
          "sshd_config: /etc/ssh/sshd_config:1: unknown keyword 'PermitRootLogn'",
          "sshd_config: /etc/ssh/sshd_config:2: no argument after keyword 'MaxAuthTries'",
          "sshd_config: /etc/ssh/sshd_config:3: unbalanced quotes",
          "sshd_config: /etc/ssh/sshd_config:5: Subsystem 'sftp' already defined",
          "sshd_config: /etc/ssh/loop.conf:1: Include of /etc/ssh/loop.conf nested too deeply",
          "sshd_config: /etc/ssh/sshd_config:7: cannot include /etc/ssh/sshd_config.d: "
          "/etc/ssh/sshd_config.d is a directory",
          "sshd_config: /etc/ssh/sshd_config:9: 'Port' is not allowed within a Match block",
          "sshd_config: /etc/ssh/sshd_config:11: bad Match condition 'Colour blue'",
      }));
}

// ---- Comparison with the real sshd -------------------------------------------------------

bool CanRunSshdTest() { return HaveCommand("sshd") && HaveCommand("ssh-keygen") && geteuid() == 0; }

// `sshd -T` output as keyword -> values, one value per printed line.
std::map<std::string, Rows> ParseSshdT(const std::string& output) {
  std::map<std::string, Rows> out;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)].push_back(line.substr(space + 1));
  }
  return out;
}

std::string LowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Keywords sshd prints one word per line although a config line may list several.
bool PrintedPerWord(const std::string& keyword) {
  return keyword == "acceptenv" || keyword == "allowusers" || keyword == "denyusers" ||
         keyword == "allowgroups" || keyword == "denygroups";
}

// The table's rows as keyword -> values in the form sshd -T prints them.
std::map<std::string, Rows> TableAsSshdT(const Rows& rows) {
  std::map<std::string, Rows> out;
  for (const std::string& row : rows) {
    size_t bar = row.find('|');
    std::string keyword = row.substr(0, bar), value = row.substr(bar + 1);
    if (PrintedPerWord(keyword)) {
      std::istringstream words(value);
      for (std::string word; words >> word;) out[keyword].push_back(word);
    } else {
      out[keyword].push_back(value);
    }
  }
  return out;
}

// Every keyword both print has the same global values (case aside: sshd prints enumerations
// in its own case, "INFO", "AUTH"), and every keyword sshd prints has a global row.
void ExpectSameGlobals(const std::map<std::string, Rows>& table,
                       const std::map<std::string, Rows>& sshd, int at_least) {
  int compared = 0;
  for (const auto& [keyword, values] : table) {
    auto it = sshd.find(keyword);
    if (it == sshd.end()) continue;  // not printed by sshd -T (DebianBanner, ...)
    Rows expected = it->second, got = values;
    for (std::string& v : expected) v = LowerCase(v);
    for (std::string& v : got) v = LowerCase(v);
    EXPECT_EQ(got, expected) << keyword;
    ++compared;
  }
  EXPECT_GE(compared, at_least);
  for (const auto& [keyword, values] : sshd) EXPECT_TRUE(table.contains(keyword)) << keyword;
}

class SshdComparison : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanRunSshdTest()) GTEST_SKIP() << "needs root, sshd and ssh-keygen";
    ::mkdir("/run/sshd", 0755);  // sshd -T checks for its privilege separation directory
    host_key_ = dir_.path() + "/host_key";
    CommandOutput("ssh-keygen -q -t ed25519 -N '' -f " + host_key_);
  }

  std::string SshdT(const std::string& config, const std::string& spec) {
    return CommandOutput("sshd -T -f " + config + " -o HostKey=" + host_key_ + " -C " + spec);
  }

  TempDir dir_;
  std::string host_key_;
};

// The fixture's sshd_config, with its Include lines pointed at the fixture tree (sshd takes
// relative ones from the real /etc/ssh). Line numbers are unchanged.
std::string FixtureConfigForSshd(const TempDir& dir) {
  const std::string ssh = FixtureRoot("debian12") + "/etc/ssh/";
  std::ifstream in(ssh + "sshd_config");
  std::stringstream text;
  text << in.rdbuf();
  std::string config = std::regex_replace(text.str(), std::regex("Include "), "Include " + ssh);
  dir.WriteFile("sshd_config", config);
  return dir.path() + "/sshd_config";
}

TEST_F(SshdComparison, GlobalValuesMatchSshdT) {
  // Neither Match block applies to root from 127.0.0.1: sshd -T prints the global values.
  auto sshd = ParseSshdT(SshdT(FixtureConfigForSshd(dir_), "user=root,host=x,addr=127.0.0.1"));
  auto table = TableAsSshdT(
      Query(FixtureRoot("debian12"), "SELECT keyword, value FROM sshd_config WHERE match = ''"));
  ASSERT_GT(sshd.size(), 80u);
  // sshd lists the key given with -o first.
  ASSERT_FALSE(sshd["hostkey"].empty());
  sshd["hostkey"].erase(sshd["hostkey"].begin());
  // sshd prints each listening socket with its port; the table keeps ListenAddress as written.
  for (std::string& address : table["listenaddress"]) address += ":22";

  ExpectSameGlobals(table, sshd, 80);
}

// This machine's own configuration, for a connection no Match block is meant for; keywords a
// Match block sets are left out in case one matches anyway. HostKey (sshd lists the -o key
// instead of its defaults) and ListenAddress (printed per socket) are covered above.
TEST_F(SshdComparison, ThisMachineMatchesSshdT) {
  if (::access("/etc/ssh/sshd_config", R_OK) != 0) GTEST_SKIP() << "no /etc/ssh/sshd_config";
  auto sshd = ParseSshdT(
      SshdT("/etc/ssh/sshd_config", "user=vigil-no-such-user,host=vigil.invalid,addr=192.0.2.1"));
  auto table = TableAsSshdT(Query("/", "SELECT keyword, value FROM sshd_config WHERE match = ''"));
  for (const std::string& keyword :
       Query("/", "SELECT DISTINCT keyword FROM sshd_config WHERE match <> ''")) {
    sshd.erase(keyword);
    table.erase(keyword);
  }
  for (auto* map : {&sshd, &table}) {
    map->erase("hostkey");
    map->erase("listenaddress");
  }
  ExpectSameGlobals(table, sshd, 70);
}

TEST_F(SshdComparison, MatchValuesMatchSshdTForAMatchingConnection) {
  // historian from 10.1.2.3 matches both blocks; they set different keywords.
  auto sshd = ParseSshdT(SshdT(FixtureConfigForSshd(dir_), "user=historian,host=x,addr=10.1.2.3"));
  Rows rows = Query(FixtureRoot("debian12"),
                    "SELECT keyword, value FROM sshd_config WHERE match IN "
                    "('User historian', 'Address 10.0.0.0/8,192.168.10.0/24')");
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& [keyword, values] : TableAsSshdT(rows)) {
    EXPECT_EQ(values, sshd[keyword]) << keyword;
  }
}

TEST_F(SshdComparison, DefaultsAreWhatSshdPrintsForAnEmptyConfig) {
  TempDir root;
  root.WriteFile("etc/ssh/sshd_config", "");
  auto sshd = ParseSshdT(SshdT(root.path() + "/etc/ssh/sshd_config", "user=root,host=x,addr=::1"));
  auto table = TableAsSshdT(Query(root.path(), "SELECT keyword, value FROM sshd_config"));
  // Both print the defaults as sshd stores them, exactly; HostKey comes from -o here and
  // ListenAddress is printed per socket, so those two are checked separately.
  EXPECT_EQ(table["hostkey"], (Rows{"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
                                    "/etc/ssh/ssh_host_ed25519_key"}));
  EXPECT_EQ(table["listenaddress"], (Rows{"0.0.0.0", "::"}));
  EXPECT_EQ(sshd["listenaddress"], (Rows{"[::]:22", "0.0.0.0:22"}));
  for (auto* map : {&sshd, &table}) {
    map->erase("hostkey");
    map->erase("listenaddress");
  }
  EXPECT_EQ(table, sshd);
}

}  // namespace
}  // namespace vigil::tables
