#include "enforcers/applier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "enforcers/diff.h"
#include "engine/audit/chain.h"
#include "engine/store/store.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::enforcers {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using vigil::testing::TempDir;

// test.write: sets a file's content; with `validate`, runs `sh -c VALIDATE FILE` first;
// with `command`, an apply command. `refuse` makes it refuse.
class WriteAction final : public Action {
 public:
  WriteAction() {
    spec_.name = "test.write";
    spec_.description = "Writes a file (tests only).";
    spec_.params = {{"path", true, false, "file"},
                    {"line", true, false, "a line to append once"},
                    {"validate", false, false, "shell validator"},
                    {"command", false, true, "apply command"},
                    {"mode", false, false, "octal mode"},
                    {"refuse", false, false, "reason"}};
  }
  const packs::ActionSpec& spec() const override { return spec_; }
  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    Plan plan;
    if (args.contains("refuse")) {
      plan.refused = args.at("refuse").text();
      return plan;
    }
    const std::string& path = args.at("path").text();
    std::string content = host.ReadFile(path).value_or("");
    const std::string line = args.at("line").text() + "\n";
    if (content.find(line) == std::string::npos) {
      FileEdit edit;
      edit.path = path;
      edit.content = content + line;
      if (args.contains("mode")) edit.mode_if_new = std::stoi(args.at("mode").text(), nullptr, 8);
      plan.files.push_back(edit);
    }
    if (args.contains("validate")) {
      plan.commands.push_back({PlannedCommand::When::kValidate,
                               {"sh", "-c", args.at("validate").text(), "sh",
                                "{{file:" + path + "}}"}});
    }
    if (args.contains("command")) {
      plan.commands.push_back({PlannedCommand::When::kApply, args.at("command").items});
    }
    return plan;
  }

 private:
  packs::ActionSpec spec_;
};

// test.unlink: removes a path (a link itself, never what it points to).
class UnlinkAction final : public Action {
 public:
  UnlinkAction() {
    spec_.name = "test.unlink";
    spec_.description = "Removes a path (tests only).";
    spec_.params = {{"path", true, false, "file"}};
  }
  const packs::ActionSpec& spec() const override { return spec_; }
  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    Plan plan;
    if (!host.Exists(args.at("path").text())) return plan;
    FileEdit edit;
    edit.path = args.at("path").text();
    edit.remove = true;
    plan.files.push_back(edit);
    return plan;
  }

 private:
  packs::ActionSpec spec_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under `dir` with its bytes and mode: compares trees byte for byte.
std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st;
    ::lstat(e.path().c_str(), &st);
    std::string key = e.path().string().substr(dir.size());
    out[key] = std::to_string(st.st_mode) + ":" + (e.is_regular_file() ? Slurp(e.path()) : "");
  }
  return out;
}

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.WriteFile("/etc/app.conf", "# app\nalpha\n");
    ::chmod((root_.path() + "/etc/app.conf").c_str(), 0640);
    host_ = std::move(Host::Open(root_.path()).value());
    registry_.Add(std::make_unique<WriteAction>());
    check_.id = "app-has-beta";
    check_.pack = "test-pack";
    check_.enforce = packs::Enforcement{"test.write", {}};
    check_.enforce->with["path"] = packs::Param::One("{{row.path}}");
    check_.enforce->with["line"] = packs::Param::One("{{row.want}}");
    verdict_.check = check_.id;
    verdict_.status = packs::VerdictStatus::kFail;
    verdict_.columns = {"path", "want"};
    verdict_.rows = {{Value("/etc/app.conf"), Value("beta")}};
    verdict_.rows_total = 1;
  }

  void OpenState() {
    store_ = std::move(store::Store::Open(state_.path() + "/db").value());
    chain_ = std::make_unique<audit::AuditChain>(*store_);
    options_.store = store_.get();
    options_.audit = chain_.get();
    options_.actor = "test";
  }

  std::string Read(const std::string& path) { return Slurp(root_.path() + path); }

  TempDir root_, state_;
  std::unique_ptr<Host> host_;
  ActionRegistry registry_;
  packs::Check check_;
  packs::Verdict verdict_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<audit::AuditChain> chain_;
  ApplyOptions options_;
};

TEST_F(ApplierTest, FillsPlaceholdersFromRowAndVariables) {
  packs::Params with;
  with["path"] = packs::Param::One("/etc/{{row.name}}.conf");
  with["line"] = packs::Param::One("max={{vars.limit}}");
  with["command"] = packs::Param::One("{{vars.argv}}");
  packs::Params vars;
  vars["limit"] = packs::Param::One("5");
  vars["argv"] = packs::Param{{"echo", "hi"}, true};
  const WriteAction action;
  auto filled = FillParams(with, {"name"}, {Value("ssh")}, vars, action.spec());
  ASSERT_TRUE(filled.ok()) << filled.status().message();
  EXPECT_EQ(filled->at("path").text(), "/etc/ssh.conf");
  EXPECT_EQ(filled->at("line").text(), "max=5");
  EXPECT_TRUE(filled->at("command").is_list);
  EXPECT_EQ(filled->at("command").items, (std::vector<std::string>{"echo", "hi"}));

  // A NULL cell is empty text.
  with.erase("command");
  filled = FillParams(with, {"name"}, {Value()}, vars, action.spec());
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(filled->at("path").text(), "/etc/.conf");
}

TEST_F(ApplierTest, BadWithValuesNameTheParameter) {
  const WriteAction action;
  const packs::ActionSpec& spec = action.spec();
  packs::Params vars;
  vars["list"] = packs::Param{{"a", "b"}, true};
  auto fill = [&](packs::Params with) { return FillParams(with, {"c"}, {Value(1)}, vars, spec); };

  auto r = fill({{"path", packs::Param::One("/x")}});
  EXPECT_THAT(r.status().message(), HasSubstr("needs parameter 'line'"));
  r = fill({{"path", packs::Param::One("/x")}, {"line", packs::Param::One("x")},
            {"colour", packs::Param::One("red")}});
  EXPECT_THAT(r.status().message(), HasSubstr("no parameter 'colour'"));
  r = fill({{"path", packs::Param::One("{{row.nope}}")}, {"line", packs::Param::One("x")}});
  EXPECT_THAT(r.status().message(), HasSubstr("'path': the check's rows have no column 'nope'"));
  r = fill({{"path", packs::Param::One("{{vars.list}}")}, {"line", packs::Param::One("x")}});
  EXPECT_THAT(r.status().message(), HasSubstr("'path' takes one value, not a list"));
  r = fill({{"path", packs::Param::One("/{{vars.missing}}")}, {"line", packs::Param::One("x")}});
  EXPECT_THAT(r.status().message(), HasSubstr("variable 'missing' is not defined"));
}

TEST_F(ApplierTest, DryRunShowsTheDiffAndChangesNothing) {
  const auto before = Tree(root_.path());
  options_.dry_run = true;
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "planned") << r.message;
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].path, "/etc/app.conf");
  EXPECT_EQ(r.changes[0].diff,
            "--- a/etc/app.conf\n+++ b/etc/app.conf\n@@ -1,2 +1,3 @@\n # app\n alpha\n+beta\n");
  EXPECT_EQ(Tree(root_.path()), before);
  EXPECT_FALSE(r.audit_seq.has_value());
}

TEST_F(ApplierTest, AppliesAtomicallyKeepsModeSnapshotsAndAudits) {
  OpenState();
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  ASSERT_EQ(r.outcome, "applied") << r.message;
  EXPECT_EQ(Read("/etc/app.conf"), "# app\nalpha\nbeta\n");
  struct stat st;
  ASSERT_EQ(::stat((root_.path() + "/etc/app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // No temporary file is left next to it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root_.path() + "/etc"),
                          std::filesystem::directory_iterator()),
            1);

  auto snapshots = ListSnapshots(*store_, "/etc/app.conf");
  ASSERT_TRUE(snapshots.ok());
  ASSERT_EQ(snapshots->size(), 1u);
  EXPECT_EQ((*snapshots)[0].content, "# app\nalpha\n");
  EXPECT_EQ((*snapshots)[0].mode, 0640u);

  ASSERT_TRUE(r.audit_seq.has_value());
  std::vector<audit::Record> records;
  ASSERT_TRUE(chain_->Read(0, [&](const audit::Record& rec) {
    records.push_back(rec);
    return true;
  }).ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].action, "enforce.applied");
  EXPECT_EQ(records[0].subject, "app-has-beta");
  EXPECT_EQ(records[0].actor, "test");
  EXPECT_THAT(records[0].detail, HasSubstr("\"path\":\"/etc/app.conf\""));

  // The host now complies: a second plan is empty and changes nothing.
  const auto after = Tree(root_.path());
  r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "failed");
  EXPECT_THAT(r.message, HasSubstr("found nothing to change"));
  EXPECT_EQ(Tree(root_.path()), after);
}

TEST_F(ApplierTest, RowsOfOneCheckComposeIntoOneChangePerFile) {
  verdict_.rows.push_back({Value("/etc/app.conf"), Value("gamma")});
  verdict_.rows.push_back({Value("/etc/new.d/extra.conf"), Value("delta")});
  options_.dry_run = true;
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  ASSERT_EQ(r.outcome, "planned") << r.message;
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_THAT(r.changes[0].diff, HasSubstr("+beta\n+gamma\n"));
  EXPECT_EQ(r.changes[1].path, "/etc/new.d/extra.conf");
  EXPECT_THAT(r.changes[1].diff, HasSubstr("new file mode 0644\n"));
  EXPECT_THAT(r.changes[1].diff, HasSubstr("@@ -0,0 +1 @@\n+delta\n"));
}

TEST_F(ApplierTest, FailedValidationRestoresEveryFileByteForByte) {
  OpenState();
  verdict_.rows.push_back({Value("/etc/new.d/extra.conf"), Value("delta")});
  check_.enforce->with["validate"] = packs::Param::One("! grep -q delta \"$1\"");
  const auto before = Tree(root_.path());
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "rolled_back");
  EXPECT_THAT(r.message, HasSubstr("rejected the change (exit 1"));
  EXPECT_EQ(Tree(root_.path()), before);  // the new file and its folder are gone too
  ASSERT_TRUE(r.audit_seq.has_value());
  auto head = chain_->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, *r.audit_seq);
}

TEST_F(ApplierTest, ValidatorExitCodeIsReported) {
  OpenState();
  const auto before = Tree(root_.path());
  check_.enforce->with["validate"] = packs::Param::One("exit 3");
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "rolled_back");
  EXPECT_THAT(r.message, HasSubstr("exit 3"));
  EXPECT_EQ(Tree(root_.path()), before);
}

TEST_F(ApplierTest, CommandsAreListedNotRunUnderAnotherRoot) {
  OpenState();
  check_.enforce->with["command"] = packs::Param{{"touch", root_.path() + "/ran"}, true};
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "applied");  // the file was changed
  EXPECT_THAT(r.message, HasSubstr("run only on the machine itself"));
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_EQ(r.changes[1].kind, packs::Change::Kind::kCommand);
  EXPECT_FALSE(r.changes[1].exit_code.has_value());
  EXPECT_FALSE(std::filesystem::exists(root_.path() + "/ran"));
  EXPECT_EQ(Read("/etc/app.conf"), "# app\nalpha\nbeta\n");  // the files are in place
}

TEST_F(ApplierTest, RefusalChangesNothingAndIsRecorded) {
  OpenState();
  check_.enforce->with["refuse"] = packs::Param::One("would leave no way to log in");
  const auto before = Tree(root_.path());
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "refused");
  EXPECT_EQ(r.message, "would leave no way to log in");
  EXPECT_THAT(r.changes, IsEmpty());
  EXPECT_EQ(Tree(root_.path()), before);
  ASSERT_TRUE(r.audit_seq.has_value());
}

TEST_F(ApplierTest, EnforcingWithoutStateIsRefusedUpFront) {
  const auto before = Tree(root_.path());
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  EXPECT_EQ(r.outcome, "failed");
  EXPECT_THAT(r.message, HasSubstr("state directory"));
  EXPECT_EQ(Tree(root_.path()), before);
}

TEST_F(ApplierTest, KeepsTheLastFiveSnapshotsAndRestoresOne) {
  OpenState();
  for (int i = 0; i < 7; ++i) {
    verdict_.rows = {{Value("/etc/app.conf"), Value("line" + std::to_string(i))}};
    ASSERT_EQ(Enforce(*host_, registry_, check_, verdict_, {}, options_).outcome, "applied");
  }
  auto snapshots = ListSnapshots(*store_, "/etc/app.conf");
  ASSERT_TRUE(snapshots.ok());
  ASSERT_EQ(snapshots->size(), 5u);
  EXPECT_EQ(snapshots->front().seq, 3u);
  EXPECT_EQ(snapshots->back().seq, 7u);
  EXPECT_EQ(snapshots->front().content, "# app\nalpha\nline0\nline1\n");
  ASSERT_TRUE(RestoreSnapshot(*host_, snapshots->front(), chain_.get(), "test").ok());
  EXPECT_EQ(Read("/etc/app.conf"), "# app\nalpha\nline0\nline1\n");
  auto verified = chain_->Verify();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->intact());
  EXPECT_EQ(verified->records, 8u);
}

TEST_F(ApplierTest, RemovingASymlinkRemovesTheLinkNotItsTarget) {
  OpenState();
  root_.WriteFile("/lib/systemd/system/cups.service", "[Unit]\n");
  root_.Symlink("/lib/systemd/system/cups.service",
                "/etc/systemd/system/multi-user.target.wants/cups.service");
  registry_.Add(std::make_unique<UnlinkAction>());
  check_.enforce = packs::Enforcement{"test.unlink", {}};
  check_.enforce->with["path"] = packs::Param::One("{{row.path}}");
  verdict_.columns = {"path"};
  verdict_.rows = {{Value("/etc/systemd/system/multi-user.target.wants/cups.service")}};
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  ASSERT_EQ(r.outcome, "applied") << r.message;
  EXPECT_FALSE(std::filesystem::is_symlink(
      root_.path() + "/etc/systemd/system/multi-user.target.wants/cups.service"));
  EXPECT_EQ(Read("/lib/systemd/system/cups.service"), "[Unit]\n");

  // The snapshot holds the link, and restoring it brings the link back.
  auto snapshots = ListSnapshots(*store_, "/etc/systemd/system/multi-user.target.wants/cups.service");
  ASSERT_TRUE(snapshots.ok());
  ASSERT_EQ(snapshots->size(), 1u);
  EXPECT_EQ(snapshots->front().kind, Snapshot::Kind::kSymlink);
  ASSERT_TRUE(RestoreSnapshot(*host_, snapshots->front(), nullptr, "test").ok());
  EXPECT_EQ(std::filesystem::read_symlink(root_.path() +
                                          "/etc/systemd/system/multi-user.target.wants/cups.service"),
            "/lib/systemd/system/cups.service");
}

TEST_F(ApplierTest, ContentEditsThroughASymlinkChangeTheTarget) {
  OpenState();
  root_.WriteFile("/etc/real.conf", "alpha\n");
  root_.Symlink("real.conf", "/etc/link.conf");
  verdict_.rows = {{Value("/etc/link.conf"), Value("beta")}};
  packs::Remediation r = Enforce(*host_, registry_, check_, verdict_, {}, options_);
  ASSERT_EQ(r.outcome, "applied") << r.message;
  EXPECT_TRUE(std::filesystem::is_symlink(root_.path() + "/etc/link.conf"));
  EXPECT_EQ(Read("/etc/real.conf"), "alpha\nbeta\n");
}

TEST(UnifiedDiffTest, MatchesDiffU) {
  EXPECT_EQ(UnifiedDiff("/a", "x\n", "x\n"), "");
  EXPECT_EQ(UnifiedDiff("/etc/f", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n"),
            "--- a/etc/f\n+++ b/etc/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  EXPECT_EQ(UnifiedDiff("/f", "a\n", ""), "--- a/f\n+++ b/f\n@@ -1 +0,0 @@\n-a\n");
  EXPECT_EQ(UnifiedDiff("/f", "a", "a\n"),
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n");
  // Two changes far apart make two hunks.
  std::string before, after;
  for (int i = 0; i < 20; ++i) {
    before += std::to_string(i) + "\n";
    after += (i == 1 || i == 18 ? "x" : std::to_string(i)) + "\n";
  }
  std::string diff = UnifiedDiff("/f", before, after);
  EXPECT_THAT(diff, HasSubstr("@@ -1,5 +1,5 @@\n"));
  EXPECT_THAT(diff, HasSubstr("@@ -16,5 +16,5 @@\n"));
}

}  // namespace
}  // namespace vigil::enforcers
