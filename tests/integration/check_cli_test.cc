// `vigil check` on small packs the tests write: exit codes, formats, variables, and the errors
// a person meets (a bad pack, an unknown bundle, bad flags). The IEC 62443 bundle end to end is
// in iec62443_e2e_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

ProcessResult Vigil(std::vector<std::string> args) {
  args.insert(args.begin(), VIGIL_BIN);
  return RunProcess(args);
}

constexpr const char* kPack = R"({
  "name": "demo",
  "platform": "linux",
  "vars": {"allowed_shell": "/bin/bash"},
  "checks": {
    "no-extra-uid0": {
      "sr": ["SR 1.1"], "sl": 1, "description": "Only root has UID 0.",
      "query": "SELECT username FROM users WHERE uid = 0 AND username <> 'root'"
    },
    "root-shell": {
      "sr": ["SR 1.2"], "sl": 1, "description": "root's shell is the allowed one.",
      "query": "SELECT username, shell FROM users WHERE username = 'root' AND shell <> {{vars.allowed_shell}}"
    },
    "sl3-only": {
      "sr": ["SR 1.3"], "sl": 3, "description": "Applies from SL 3.",
      "query": "SELECT 1 AS always"
    }
  }
})";

class CheckCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.WriteFile("/packs/demo.json", kPack);
    root_.WriteFile("/etc/passwd",
                    "root:x:0:0:root:/root:/bin/bash\n"
                    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n");
    root_.WriteFile("/etc/group", "root:x:0:\n");
  }
  std::string Pack() const { return dir_.path() + "/packs/demo.json"; }

  TempDir dir_, root_;
};

TEST_F(CheckCliTest, ExitsZeroWhenEveryApplicableCheckPasses) {
  ProcessResult r = Vigil({"check", Pack(), "--root", root_.path()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Checks: 2 pass, 0 fail, 0 fixed, 0 error, 1 not applicable"));
}

TEST_F(CheckCliTest, ExitsOneAndNamesTheFailureWithItsRows) {
  root_.WriteFile("/etc/passwd",
                  "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n");
  ProcessResult r = Vigil({"check", Pack(), "--root", root_.path()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("FAIL no-extra-uid0 (SR 1.1)\n      username=toor\n"));
}

TEST_F(CheckCliTest, TargetLevelMakesHigherChecksApplicable) {
  ProcessResult r = Vigil({"check", Pack(), "--root", root_.path(), "--sl", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAIL sl3-only"));
}

TEST_F(CheckCliTest, VariablesFromAFileAreBoundIntoTheQuery) {
  dir_.WriteFile("/vars.json", R"({"allowed_shell": "/bin/zsh", "target_sl": 1})");
  ProcessResult r = Vigil({"check", Pack(), "--root", root_.path(), "--vars",
                           dir_.path() + "/vars.json", "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(r.out.c_str()).HasParseError()) << r.out;
  EXPECT_STREQ(doc["schema"].GetString(), "vigil.check_report/1");
  EXPECT_EQ(doc["target_sl"].GetInt(), 1);
  bool found = false;
  for (const auto& v : doc["checks"].GetArray()) {
    if (std::string(v["check"].GetString()) != "root-shell") continue;
    found = true;
    EXPECT_STREQ(v["status"].GetString(), "fail");
    EXPECT_STREQ(v["rows"][0]["shell"].GetString(), "/bin/bash");
  }
  EXPECT_TRUE(found);

  dir_.WriteFile("/bad.json", R"({"allowed_shell": {"nested": 1}})");
  r = Vigil({"check", Pack(), "--root", root_.path(), "--vars", dir_.path() + "/bad.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.json: /allowed_shell"));
}

TEST_F(CheckCliTest, ReportGoesToOutputFileAsCsv) {
  const std::string out = dir_.path() + "/report.csv";
  ProcessResult r = Vigil({"check", Pack(), "--root", root_.path(), "--format", "csv",
                           "--output", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("sr,fr,title,sr_status,check,check_status"));
}

TEST_F(CheckCliTest, ABadPackIsReportedWithItsPlaceAndNothingIsChecked) {
  dir_.WriteFile("/packs/broken.json", R"({"name": "broken", "checks": {
      "x": {"sr": ["SR 1.1"], "query": "SELECT nope FROM users"}}})");
  ProcessResult r = Vigil({"check", dir_.path() + "/packs", "--root", root_.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("broken.json: /checks/x/query"));
  EXPECT_THAT(r.err, HasSubstr("nothing was checked"));
  EXPECT_EQ(r.out, "");
}

// A repair through the real binary, then the snapshot it kept, listed and put back.
TEST_F(CheckCliTest, EnforceKeepsASnapshotThatRestores) {
  dir_.WriteFile("/banner/banner.json", R"json({"name": "banner", "checks": {
      "issue-net-banner": {"sr": ["SR 1.12"], "description": "The network login banner warns.",
        "query": "SELECT '/etc/issue.net' AS path WHERE NOT EXISTS (SELECT 1 FROM file_lines WHERE path = '/etc/issue.net' AND text LIKE 'Authorized use only%')",
        "enforce": {"action": "banner.set",
                    "with": {"path": "{{row.path}}", "text": "Authorized use only."}}}}})json");
  root_.WriteFile("/etc/issue.net", "Debian GNU/Linux 12\n");
  const std::string state = dir_.path() + "/state";
  const std::string pack = dir_.path() + "/banner/banner.json";

  ProcessResult r = Vigil({"check", pack, "--root", root_.path(), "--enforce", "--state-dir", state});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("FIXED issue-net-banner"));
  EXPECT_THAT(r.out, HasSubstr("-Debian GNU/Linux 12\n      +Authorized use only."));

  r = Vigil({"snapshots", "list", "/etc/issue.net", "--root", root_.path(), "--state-dir", state});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith("1\t"));
  EXPECT_THAT(r.out, HasSubstr("\tfile\t"));

  r = Vigil({"snapshots", "restore", "/etc/issue.net", "--root", root_.path(), "--state-dir",
             state});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(root_.path() + "/etc/issue.net");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "Debian GNU/Linux 12\n");
  r = Vigil({"audit", "show", "--state-dir", state});
  EXPECT_THAT(r.out, HasSubstr("snapshot.restored"));

  r = Vigil({"snapshots", "list", "/etc/motd", "--root", root_.path(), "--state-dir", state});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no snapshots of /etc/motd"));
}

TEST_F(CheckCliTest, ABadCatalogOrStateDirIsAnErrorAndChangesNothing) {
  dir_.WriteFile("/catalog.json", R"({"name": "x", "srs": [{"id": "SR 1.1"}]})");
  ProcessResult r = Vigil({"check", Pack(), "--root", root_.path(), "--catalog",
                           dir_.path() + "/catalog.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("catalog.json"));
  EXPECT_EQ(r.out, "");

  dir_.WriteFile("/not-a-dir", "a file where the state directory should be\n");
  root_.WriteFile("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n");
  r = Vigil({"check", Pack(), "--root", root_.path(), "--enforce", "--state-dir",
             dir_.path() + "/not-a-dir"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not-a-dir"));
}

TEST_F(CheckCliTest, UsageErrors) {
  EXPECT_EQ(Vigil({"check"}).exit_code, 2);
  ProcessResult r = Vigil({"check", Pack(), "--format", "pdf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--format must be"));
  r = Vigil({"check", Pack(), "--sl", "7"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--sl must be 1, 2, 3 or 4"));
  r = Vigil({"check", "no-such-bundle"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no pack file, directory or built-in bundle named 'no-such-bundle'"));
  r = Vigil({"check", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--dry-run"));
}

}  // namespace
}  // namespace vigil
