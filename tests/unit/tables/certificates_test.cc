#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/sql_fixture.h"

// The fixture certificates under tests/fixtures/hosts/debian12 were made once with OpenSSL
// 3.0 and committed. `openssl ca` is used because it sets exact validity dates. ca.cnf:
//   [ca] default_ca = test
//   [test] database = index.txt, serial = serial (holding 1000), new_certs_dir = .,
//          default_md = sha256, policy = any, unique_subject = no
//   [any] countryName = optional, organizationName = optional, commonName = supplied
//   [root_ext] basicConstraints = critical,CA:TRUE; keyUsage = critical,keyCertSign,cRLSign;
//              subjectKeyIdentifier = hash
//   [leaf_ext] basicConstraints = CA:FALSE; keyUsage = critical,digitalSignature,
//              keyEncipherment; extendedKeyUsage = serverAuth; subjectKeyIdentifier = hash;
//              authorityKeyIdentifier = keyid
// Commands, each on one line:
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root.key
//   openssl req -new -key root.key -subj "/C=DE/O=Vigil Test Plant/CN=Vigil Test Root CA"
//       -out root.csr
//   openssl ca -batch -config ca.cnf -selfsign -keyfile root.key -in root.csr
//       -extensions root_ext -preserveDN -startdate 20240101000000Z
//       -enddate 20440101000000Z -notext -out root.pem
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out historian.key
//   openssl req -new -key historian.key
//       -subj "/C=DE/O=Vigil Test Plant/CN=historian01.plant.example" -out historian.csr
//   openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in historian.csr
//       -extensions leaf_ext -preserveDN -startdate 20250101000000Z
//       -enddate 20350101000000Z -notext -out historian.pem
//   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out hmi.key
//   openssl req -new -key hmi.key -subj "/C=DE/O=Vigil Test Plant/CN=old-hmi.plant.example"
//       -out hmi.csr
//   openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in hmi.csr
//       -extensions leaf_ext -preserveDN -startdate 20200101000000Z
//       -enddate 20210101000000Z -notext -out hmi.pem
//   openssl x509 -in hmi.pem -outform DER -out old-hmi.der
//   openssl genpkey -algorithm ED25519 -out gw.key
//   openssl req -new -key gw.key -subj "/O=Vigil Test Plant/CN=OPC UA Gateway" -out gw.csr
//   openssl ca -batch -config ca.cnf -selfsign -keyfile gw.key -in gw.csr
//       -extensions root_ext -preserveDN -startdate 20250601120000Z
//       -enddate 20300601120000Z -notext -out gw.pem
// laid out as update-ca-certificates would (the keys were thrown away):
//   usr/local/share/ca-certificates/vigil-test-root.crt   root.pem
//   etc/ssl/certs/vigil-test-root.pem -> /usr/local/share/ca-certificates/vigil-test-root.crt
//   etc/ssl/certs/19d7bcc1.0 -> vigil-test-root.pem       (openssl x509 -hash)
//   etc/ssl/certs/ca-certificates.crt                     root.pem + gw.pem (the bundle)
//   etc/ssl/certs/historian01.pem                         historian.pem + root.pem (a chain)
//   etc/ssl/certs/old-hmi.der                             expired, EC P-256, DER
//   etc/ssl/certs/opcua-gateway.pem                       gw.pem, Ed25519 self-signed
//   etc/ssl/certs/README.txt                              not a certificate

namespace vigil::tables {
namespace {

using vigil::testing::CommandOutput;
using vigil::testing::FixtureRoot;
using vigil::testing::HaveCommand;
using vigil::testing::RowsAsText;
using vigil::testing::RunSql;
using vigil::testing::TempDir;
using Rows = std::vector<std::string>;

Rows Query(std::string_view root, std::string_view sql) {
  auto result = RunSql(root, sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  if (result.ok()) {
    EXPECT_EQ(result->warnings, Rows{}) << sql;
  }
  return result.ok() ? RowsAsText(*result) : Rows{};
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "SHA256 Fingerprint=2F:8C:..." -> "2f8c...".
std::string FingerprintHex(const std::string& output) {
  std::string hex;
  for (char c : output.substr(output.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return hex;
}

std::string AfterEquals(std::string output) {
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output.substr(output.find('=') + 1);
}

TEST(CertificatesTable, DefaultScanReadsEachCertificateFileOnce) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path, directory, common_name, ca, self_signed, key_algorithm, "
                  "key_strength, key_bits, key_security_bits, signing_algorithm FROM certificates"),
            (Rows{
                "/usr/local/share/ca-certificates/vigil-test-root.crt|"
                "/usr/local/share/ca-certificates|Vigil Test Root CA|1|1|rsaEncryption|2048|2048|"
                "112|sha256WithRSAEncryption",
                "/etc/ssl/certs/historian01.pem|/etc/ssl/certs|historian01.plant.example|0|0|"
                "rsaEncryption|2048|2048|112|sha256WithRSAEncryption",
                "/etc/ssl/certs/historian01.pem|/etc/ssl/certs|Vigil Test Root CA|1|1|"
                "rsaEncryption|2048|2048|112|sha256WithRSAEncryption",
                "/etc/ssl/certs/old-hmi.der|/etc/ssl/certs|old-hmi.plant.example|0|0|"
                "id-ecPublicKey|prime256v1|256|128|sha256WithRSAEncryption",
                "/etc/ssl/certs/opcua-gateway.pem|/etc/ssl/certs|OPC UA Gateway|1|1|ED25519|NULL|"
                "256|128|ED25519",
            }));
}

TEST(CertificatesTable, NamesDatesSerialsAndKeyIdentifiers) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT subject, subject2, issuer, issuer2, not_valid_before, not_valid_after, "
                  "serial, key_usage, subject_key_id, authority_key_id FROM certificates "
                  "WHERE path = '/etc/ssl/certs/historian01.pem'"),
            (Rows{
                "/C=DE/O=Vigil Test Plant/CN=historian01.plant.example|"
                "C = DE, O = Vigil Test Plant, CN = historian01.plant.example|"
                "/C=DE/O=Vigil Test Plant/CN=Vigil Test Root CA|"
                "C = DE, O = Vigil Test Plant, CN = Vigil Test Root CA|1735689600|2051222400|"
                "1001|Key Encipherment, Digital Signature|"
                "bd92826afa043809a01356bd419e064aece318a2|89363e6f81055a4733ad707dfaab12db1f913910",
                "/C=DE/O=Vigil Test Plant/CN=Vigil Test Root CA|"
                "C = DE, O = Vigil Test Plant, CN = Vigil Test Root CA|"
                "/C=DE/O=Vigil Test Plant/CN=Vigil Test Root CA|"
                "C = DE, O = Vigil Test Plant, CN = Vigil Test Root CA|1704067200|2335219200|"
                "1000|CRL Sign, Key Cert Sign|89363e6f81055a4733ad707dfaab12db1f913910|NULL",
            }));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT not_valid_before, not_valid_after, serial, sha256, sha1 "
                  "FROM certificates WHERE path = '/etc/ssl/certs/old-hmi.der'"),
            Rows{"1577836800|1609459200|1002|"
                 "f091b80e61619803e4fecff7ef3a314d0b62920cdf076e26629a56e90fb9ed65|"
                 "ad81a920a89a1e3767183bb7ea5bef517b8de7b7"});
}

// What `openssl x509` prints for the first certificate of each fixture file.
TEST(CertificatesTable, MatchesOpensslX509) {
  if (!HaveCommand("openssl")) GTEST_SKIP() << "openssl is not installed";
  const std::string root = FixtureRoot("debian12");
  for (const std::string path :
       {"/usr/local/share/ca-certificates/vigil-test-root.crt", "/etc/ssl/certs/historian01.pem",
        "/etc/ssl/certs/old-hmi.der", "/etc/ssl/certs/opcua-gateway.pem"}) {
    const std::string x509 = "openssl x509 -noout -inform " +
                             std::string(path.ends_with(".der") ? "DER" : "PEM") + " -in '" + root +
                             path + "' ";
    const std::string expected =
        FingerprintHex(CommandOutput(x509 + "-fingerprint -sha256")) + "|" +
        FingerprintHex(CommandOutput(x509 + "-fingerprint -sha1")) + "|" +
        AfterEquals(CommandOutput(x509 + "-serial")) + "|" +
        AfterEquals(CommandOutput(x509 + "-subject -nameopt compat")) + "|" +
        AfterEquals(CommandOutput(x509 + "-subject -nameopt oneline")) + "|" +
        AfterEquals(CommandOutput(x509 + "-issuer -nameopt oneline"));
    EXPECT_EQ(Query(root,
                    "SELECT sha256, sha1, serial, subject, subject2, issuer2 "
                    "FROM certificates WHERE path = '" +
                        path + "' LIMIT 1"),
              Rows{expected})
        << path;
  }
}

TEST(CertificatesTable, PathNamesTheBundleTheDefaultScanLeavesOut) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT common_name FROM certificates "
                  "WHERE path = '/etc/ssl/certs/ca-certificates.crt'"),
            (Rows{"Vigil Test Root CA", "OPC UA Gateway"}));
}

TEST(CertificatesTable, DirectoryListsItsFilesOnceEach) {
  // The hash link and the name of the trusted root lead to one file: read once, under the
  // name that is not a hash link.
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path, common_name FROM certificates "
                  "WHERE directory = '/etc/ssl/certs'"),
            (Rows{"/etc/ssl/certs/ca-certificates.crt|Vigil Test Root CA",
                  "/etc/ssl/certs/ca-certificates.crt|OPC UA Gateway",
                  "/etc/ssl/certs/historian01.pem|historian01.plant.example",
                  "/etc/ssl/certs/historian01.pem|Vigil Test Root CA",
                  "/etc/ssl/certs/old-hmi.der|old-hmi.plant.example",
                  "/etc/ssl/certs/opcua-gateway.pem|OPC UA Gateway",
                  "/etc/ssl/certs/vigil-test-root.pem|Vigil Test Root CA"}));
}

TEST(CertificatesTable, PathPatterns) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path, common_name FROM certificates "
                  "WHERE path LIKE '/etc/ssl/certs/%.pem'"),
            (Rows{"/etc/ssl/certs/historian01.pem|historian01.plant.example",
                  "/etc/ssl/certs/historian01.pem|Vigil Test Root CA",
                  "/etc/ssl/certs/opcua-gateway.pem|OPC UA Gateway",
                  "/etc/ssl/certs/vigil-test-root.pem|Vigil Test Root CA"}));
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT path FROM certificates WHERE path GLOB '/usr/local/share/**'"),
            Rows{"/usr/local/share/ca-certificates/vigil-test-root.crt"});
  // A relative pattern cannot be walked: it filters the default scan.
  EXPECT_EQ(Query(FixtureRoot("debian12"), "SELECT path FROM certificates WHERE path LIKE '%.der'"),
            Rows{"/etc/ssl/certs/old-hmi.der"});
}

TEST(CertificatesTable, ExpiryAndWeakKeyChecks) {
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT common_name FROM certificates "
                  "WHERE not_valid_after < CAST(strftime('%s', 'now') AS INTEGER)"),
            Rows{"old-hmi.plant.example"});
  EXPECT_EQ(Query(FixtureRoot("debian12"),
                  "SELECT DISTINCT sha256 FROM certificates WHERE key_security_bits < 128"),
            (Rows{"2f8c729ea786c44f20546195cb72f399ce48419bc0c481373f7d35183e718c30",
                  "cdcb77eb19d685f567d4142fc58e69f5b07cce44a67416baafe6efc7e0113cbb"}));
}

TEST(CertificatesTable, NamedFilesThatHoldNoCertificateAreWarnings) {
  auto result = RunSql(FixtureRoot("debian12"),
                       "SELECT path FROM certificates WHERE path IN ('/etc/ssl/certs/README.txt', "
                       "'/etc/ssl/certs', '/etc/ssl/certs/missing.pem')");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), Rows{});
  EXPECT_EQ(result->warnings,
            (Rows{"certificates: /etc/ssl/certs is not a regular file; list a directory with "
                  "directory = '/etc/ssl/certs' or path LIKE '/etc/ssl/certs/%'",
                  "certificates: /etc/ssl/certs/README.txt: no certificate in it (PEM or DER)"}));
}

TEST(CertificatesTable, BrokenBlocksAreWarnedAndTheRestRead) {
  const std::string gateway =
      ReadText(FixtureRoot("debian12") + "/etc/ssl/certs/opcua-gateway.pem");  // 10 lines
  const std::string root_ca =
      ReadText(FixtureRoot("debian12") + "/usr/local/share/ca-certificates/vigil-test-root.crt");
  TempDir root;
  root.WriteFile("etc/plant/bundle.pem",
                 "# plant bundle\n"
                 "-----BEGIN CERTIFICATE-----\n"  // line 2
                 "MIIBbroken\n"
                 "-----END CERTIFICATE-----\n" +
                     gateway +                        // lines 5-14
                     "-----BEGIN CERTIFICATE-----\n"  // line 15, never ended
                     "MIIB\n");
  // A server's combined file: its key block is passed over, never decoded.
  root.WriteFile(
      "etc/plant/server.pem",
      "-----BEGIN PRIVATE KEY-----\nbm90IGEgcmVhbCBrZXk=\n-----END PRIVATE KEY-----\n" + root_ca);
  root.WriteFile("etc/plant/garbage.der", std::string("\x30\x82\x01\x00", 4) + "garbage");
  root.WriteFile("etc/plant/0a1b2c3d.0", gateway);  // a hash-like name that is no link
  auto result = RunSql(root.path(),
                       "SELECT path, common_name FROM certificates WHERE directory = '/etc/plant'");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(RowsAsText(*result), (Rows{"/etc/plant/bundle.pem|OPC UA Gateway",
                                       "/etc/plant/server.pem|Vigil Test Root CA",
                                       "/etc/plant/0a1b2c3d.0|OPC UA Gateway"}));
  ASSERT_EQ(result->warnings.size(), 2u);
  EXPECT_EQ(result->warnings[0].rfind("certificates: /etc/plant/bundle.pem:2: malformed "
                                      "certificate (",
                                      0),
            0u)
      << result->warnings[0];
  EXPECT_EQ(result->warnings[1],
            "certificates: /etc/plant/bundle.pem:15: certificate without its END line");

  auto named = RunSql(root.path(),
                      "SELECT count(*) FROM certificates WHERE path = '/etc/plant/garbage.der'");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(RowsAsText(*named), Rows{"0"});
  EXPECT_EQ(named->warnings,
            Rows{"certificates: /etc/plant/garbage.der: no certificate in it (PEM or DER)"});
}

TEST(CertificatesTable, LargeFilesAreWarnedOnlyWhenNamed) {
  TempDir root;
  root.WriteFile("opt/scada/bin/server", std::string(5u << 20, '\x7f'));
  root.WriteFile("opt/scada/bin/start.sh", "#!/bin/sh\nexec server\n");
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM certificates WHERE path LIKE '/opt/%%'"),
            Rows{"0"});
  auto named =
      RunSql(root.path(), "SELECT count(*) FROM certificates WHERE path = '/opt/scada/bin/server'");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->warnings, Rows{"certificates: /opt/scada/bin/server is larger than 4194304 "
                                  "bytes, too large for a certificate file"});
}

TEST(CertificatesTable, RootWithoutCertificateDirectoriesHasNoRows) {
  TempDir root;
  root.MakeDir("etc");
  EXPECT_EQ(Query(root.path(), "SELECT count(*) FROM certificates"), Rows{"0"});
}

// This machine's trust store: every single-certificate file agrees with openssl, and the
// generated bundle, read by name, has as many rows as it has certificates.
TEST(CertificatesTable, MatchesOpensslOnThisMachine) {
  if (!HaveCommand("openssl")) GTEST_SKIP() << "openssl is not installed";
  auto result = RunSql("/",
                       "SELECT path, sha256 FROM certificates WHERE path IN "
                       "(SELECT path FROM certificates GROUP BY path HAVING count(*) = 1) "
                       "ORDER BY path LIMIT 15");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (const Row& row : result->rows) {
    const std::string path = row[0].text();
    EXPECT_EQ(row[1].text(),
              FingerprintHex(CommandOutput("openssl x509 -noout -fingerprint -sha256 -in '" + path +
                                           "' 2>/dev/null || openssl x509 -noout "
                                           "-fingerprint -sha256 -inform DER -in '" +
                                           path + "'")))
        << path;
  }
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (std::ifstream(bundle).good()) {
    const std::string count = CommandOutput("grep -c 'BEGIN CERTIFICATE' " + bundle + " || true");
    EXPECT_EQ(Query("/", "SELECT count(*) FROM certificates WHERE path = '" + bundle + "'"),
              Rows{count.substr(0, count.find('\n'))});
  }
}

}  // namespace
}  // namespace vigil::tables
