#include "engine/packs/report_html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::packs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The text from `start` (included) to the first `end` after it (included); "" when absent.
std::string Slice(const std::string& text, const std::string& start, const std::string& end) {
  size_t from = text.find(start);
  if (from == std::string::npos) return "";
  size_t to = text.find(end, from);
  return to == std::string::npos ? "" : text.substr(from, to + end.size() - from);
}

Requirement Sr(std::string id, std::string fr, std::string title, int sl, Coverage coverage,
               std::string note = "") {
  Requirement sr;
  sr.id = std::move(id);
  sr.fr = std::move(fr);
  sr.title = std::move(title);
  sr.sl = sl;
  sr.coverage = coverage;
  sr.note = std::move(note);
  sr.frameworks["nist-800-53"] = {"IA-2"};
  return sr;
}

Catalog SmallCatalog() {
  Catalog catalog;
  catalog.name = "IEC 62443-3-3";
  catalog.frs = {{"FR 1", "IAC", "Identification and authentication control"},
                 {"FR 2", "UC", "Use control"}};
  catalog.framework_names["nist-800-53"] = "NIST SP 800-53 Rev. 5";
  catalog.framework_sources["nist-800-53"] = "mapping by subject <test>";
  catalog.srs = {
      Sr("SR 1.1", "FR 1", "Human user identification", 1, Coverage::kMachine),
      Sr("SR 1.2", "FR 1", "Device identification", 1, Coverage::kMachine),
      Sr("SR 2.1", "FR 2", "Authorization enforcement", 1, Coverage::kMachine),
      Sr("SR 2.4", "FR 2", "Mobile code", 1, Coverage::kOrganisational,
         "Attach the mobile code policy & the settings"),
      Sr("SR 2.7", "FR 2", "Concurrent session control", 3, Coverage::kMachine),
  };
  catalog.srs[0].enhancements = {{"RE 1", "Unique identification", 2},
                                 {"RE 2", "Multifactor on untrusted networks", 3}};
  return catalog;
}

Verdict MakeVerdict(std::string check, std::vector<std::string> srs, VerdictStatus status) {
  Verdict v;
  v.check = std::move(check);
  v.pack = "iec62443-access-control";
  v.sr = std::move(srs);
  v.status = status;
  v.time = "2026-11-25T17:02:00Z";
  return v;
}

std::vector<Verdict> Verdicts() {
  Verdict pass = MakeVerdict("uid0.only_root", {"SR 1.1"}, VerdictStatus::kPass);
  // One check evidencing two SRs: shown in full once, referred to the second time.
  Verdict shared = MakeVerdict("wireless.none", {"SR 1.1", "SR 2.1"}, VerdictStatus::kPass);

  Verdict fail = MakeVerdict("accounts.nologin", {"SR 1.2"}, VerdictStatus::kFail);
  fail.columns = {"user", "shell"};
  fail.rows = {{Value(std::string("<script>alert(1)</script>")), Value(std::string("a & b"))},
               {Value(std::string("daemon")), Value()}};
  fail.rows_total = 3;

  // Repaired and re-checked: the rows are the re-check's, none.
  Verdict fixed = MakeVerdict("sudoers.no_nopasswd", {"SR 2.1"}, VerdictStatus::kFixed);
  fixed.columns = {"file", "line"};
  fixed.enforcer = "sudoers.ensure";
  Remediation r;
  r.outcome = "applied";
  r.message = "validated with visudo";
  r.audit_seq = 7;
  Change file;
  file.kind = Change::Kind::kFile;
  file.path = "/etc/sudoers.d/ops";
  file.diff =
      "--- a/etc/sudoers.d/ops\n+++ b/etc/sudoers.d/ops\n@@ -3 +3 @@\n"
      "-ops ALL=(ALL) NOPASSWD: ALL\n+ops ALL=(ALL) ALL <b>\n";
  Change command;
  command.kind = Change::Kind::kCommand;
  command.argv = {"visudo", "-cf", "/etc/sudoers"};
  command.exit_code = 0;
  r.changes = {file, command};
  fixed.remediation = r;
  return {pass, shared, fail, fixed};
}

class ReportHtmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = SmallCatalog();
    Pack pack;
    pack.name = "iec62443-access-control";
    pack.sha256 = std::string(64, 'a');
    Check nologin;
    nologin.id = "accounts.nologin";
    nologin.description = "System accounts cannot log in (shell <nologin>).";
    pack.checks.push_back(nologin);
    HostFacts host{"id&1", "hist<01>", "Debian GNU/Linux 12", "/"};
    report_ = BuildReport(catalog_, {pack}, Verdicts(), host, 2);
    html_ = ReportHtml(report_, catalog_);
  }

  Catalog catalog_;
  CheckReport report_;
  std::string html_;
};

TEST_F(ReportHtmlTest, IsOneSelfContainedPageWithoutScripts) {
  EXPECT_TRUE(html_.starts_with("<!DOCTYPE html>"));
  EXPECT_THAT(html_, HasSubstr("<style>"));
  EXPECT_THAT(html_, HasSubstr("@media print"));
  EXPECT_THAT(html_, Not(HasSubstr("http://")));
  EXPECT_THAT(html_, Not(HasSubstr("https://")));
  EXPECT_THAT(html_, Not(HasSubstr("<script")));
  EXPECT_THAT(html_, Not(HasSubstr("<link")));
  EXPECT_THAT(html_, Not(HasSubstr("@import")));
  EXPECT_THAT(html_, Not(HasSubstr("url(")));
  EXPECT_THAT(html_, Not(HasSubstr("<img")));
  // The elements it opens, it closes.
  for (const char* tag : {"table", "tr", "section", "article", "div", "pre", "svg", "p"}) {
    EXPECT_EQ(Occurrences(html_, std::string("<") + tag + ">") +
                  Occurrences(html_, std::string("<") + tag + " "),
              Occurrences(html_, std::string("</") + tag + ">"))
        << tag;
  }
}

TEST_F(ReportHtmlTest, EscapesEverythingFromTheHostAndTheRows) {
  EXPECT_THAT(html_, HasSubstr("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>a &amp; b</td>"));
  EXPECT_THAT(html_, HasSubstr("<td>daemon</td><td class=\"null\">NULL</td>"));
  EXPECT_THAT(html_, HasSubstr("<dd>hist&lt;01&gt;</dd>"));
  EXPECT_THAT(html_, HasSubstr("<dd>id&amp;1</dd>"));
  EXPECT_THAT(html_, HasSubstr("Attach the mobile code policy &amp; the settings"));
  EXPECT_THAT(html_, HasSubstr("mapping by subject &lt;test&gt;"));
  EXPECT_THAT(html_, Not(HasSubstr("<b>")));
  EXPECT_THAT(html_, Not(HasSubstr("a & b")));
}

TEST_F(ReportHtmlTest, HeaderNamesHostTimeVersionLevelAndPacks) {
  EXPECT_THAT(html_, HasSubstr("<dt>Time</dt><dd>" + report_.time + "</dd>"));
  EXPECT_THAT(html_, HasSubstr("<dt>Vigil version</dt><dd>" + report_.vigil_version + "</dd>"));
  EXPECT_THAT(html_, HasSubstr("<dt>Target security level</dt><dd>SL 2</dd>"));
  EXPECT_THAT(html_, HasSubstr("<tr><td>iec62443-access-control</td><td class=\"hash\">" +
                               std::string(64, 'a') + "</td></tr>"));
}

TEST_F(ReportHtmlTest, SummarisesSrsPerFrAndPerSl) {
  // FR 1: SR 1.1 passes, SR 1.2 fails. FR 2: SR 2.1 passes (its check was fixed), SR 2.4 is
  // organisational, SR 2.7 applies from SL 3 only.
  EXPECT_THAT(Slice(html_, "<tr id=\"summary-FR_1\">", "</tr>"),
              HasSubstr("<td class=\"n total\">2</td><td class=\"n pass\">1</td>"
                        "<td class=\"n fail\">1</td><td class=\"n error\">0</td>"
                        "<td class=\"n not_applicable\">0</td>"
                        "<td class=\"n organisational\">0</td><td class=\"n not_covered\">0</td>"));
  EXPECT_THAT(Slice(html_, "<tr id=\"summary-FR_2\">", "</tr>"),
              HasSubstr("<td class=\"n total\">3</td><td class=\"n pass\">1</td>"
                        "<td class=\"n fail\">0</td><td class=\"n error\">0</td>"
                        "<td class=\"n not_applicable\">1</td>"
                        "<td class=\"n organisational\">1</td><td class=\"n not_covered\">0</td>"));
  EXPECT_THAT(Slice(html_, "<tr id=\"summary-sl-1\">", "</tr>"),
              HasSubstr("<td class=\"n total\">4</td><td class=\"n pass\">2</td>"
                        "<td class=\"n fail\">1</td>"));
  EXPECT_THAT(Slice(html_, "<tr id=\"summary-sl-3\">", "</tr>"),
              HasSubstr("SL 3 (above target)</th><td class=\"n total\">1</td>"));
}

TEST_F(ReportHtmlTest, DrawsTheFrChartAsInlineSvg) {
  std::string svg = Slice(html_, "<svg", "</svg>");
  ASSERT_FALSE(svg.empty());
  EXPECT_THAT(svg, HasSubstr("<title>FR 1: 1 Pass</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>FR 1: 1 Fail</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>FR 2: 1 N/A</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>FR 2: 1 Organisational</title>"));
  EXPECT_THAT(svg, Not(HasSubstr("<title>FR 1: 0")));
  // Five bar segments and the six legend keys.
  EXPECT_EQ(Occurrences(svg, "<rect"), 11u);
}

TEST_F(ReportHtmlTest, ShowsEachSrWithItsChecksEvidenceAndRepair) {
  std::string sr12 = Slice(html_, "<article class=\"sr st-fail\" id=\"sr-SR_1.2\">", "</article>");
  ASSERT_FALSE(sr12.empty());
  EXPECT_THAT(sr12, HasSubstr("<code>accounts.nologin</code>"));
  EXPECT_THAT(sr12, HasSubstr("<p>System accounts cannot log in (shell &lt;nologin&gt;).</p>"));
  EXPECT_THAT(sr12, HasSubstr("<thead><tr><th>user</th><th>shell</th></tr></thead>"));
  EXPECT_THAT(sr12, HasSubstr("<p>3 violations:</p>"));
  EXPECT_THAT(sr12, HasSubstr("2 of 3 rows shown"));

  std::string sr21 = Slice(html_, "<article class=\"sr st-pass\" id=\"sr-SR_2.1\">", "</article>");
  ASSERT_FALSE(sr21.empty());
  EXPECT_THAT(sr21, HasSubstr("<span class=\"badge s-fixed\">fixed</span>"));
  EXPECT_THAT(sr21, HasSubstr("sudoers.ensure: <strong>applied</strong> &middot; audit record 7"));
  EXPECT_THAT(sr21, HasSubstr("<span class=\"del\">-ops ALL=(ALL) NOPASSWD: ALL</span>"));
  EXPECT_THAT(sr21, HasSubstr("<span class=\"add\">+ops ALL=(ALL) ALL &lt;b&gt;</span>"));
  EXPECT_THAT(sr21, HasSubstr("<pre class=\"cmd\">$ visudo -cf /etc/sudoers</pre>"));
  EXPECT_THAT(sr21, HasSubstr("exit status 0"));
  EXPECT_THAT(sr21, Not(HasSubstr("violation")));
  // wireless.none is shown under SR 1.1 and referred to from SR 2.1.
  EXPECT_EQ(Occurrences(html_, "id=\"check-wireless.none\""), 1u);
  EXPECT_THAT(sr21, HasSubstr("evidence shown <a href=\"#check-wireless.none\">above</a>"));

  // Crosswalk columns, enhancements against the target, and the not-applicable reason.
  EXPECT_THAT(html_, HasSubstr("<th>NIST SP 800-53 Rev. 5</th>"));
  EXPECT_THAT(Slice(html_, "<a href=\"#sr-SR_1.1\">", "</tr>"), HasSubstr("<td>IA-2</td>"));
  EXPECT_THAT(html_, HasSubstr("RE 1 Unique identification (SL 2, in target)"));
  EXPECT_THAT(html_, HasSubstr("RE 2 Multifactor on untrusted networks (SL 3)"));
  EXPECT_THAT(Slice(html_, "id=\"sr-SR_2.7\">", "</article>"), HasSubstr("applies from SL 3"));
}

TEST_F(ReportHtmlTest, ListsTheSrsPeopleDecideAndTheEvidenceHash) {
  std::string people = Slice(html_, "<section id=\"organisational\">", "</section>");
  EXPECT_THAT(people, HasSubstr("SR 2.4"));
  EXPECT_THAT(people, HasSubstr("Attach the mobile code policy &amp; the settings"));
  EXPECT_THAT(people, Not(HasSubstr("SR 1.2")));
  ASSERT_EQ(report_.evidence_sha256.size(), 64u);
  EXPECT_THAT(Slice(html_, "<footer>", "</footer>"),
              HasSubstr("id=\"evidence-sha256\">" + report_.evidence_sha256 + "</span>"));
}

TEST(ReportHtmlWithoutCatalogueTest, StillShowsEveryCheck) {
  Catalog none;
  CheckReport report = BuildReport(none, {}, Verdicts(), HostFacts{"h", "h", "", "/"}, 2);
  std::string html = ReportHtml(report, none);
  std::string unmapped = Slice(html, "<section id=\"unmapped\">", "</section>");
  for (const char* check :
       {"uid0.only_root", "wireless.none", "accounts.nologin", "sudoers.no_nopasswd"}) {
    EXPECT_EQ(Occurrences(unmapped, std::string("id=\"check-") + check + "\""), 1u) << check;
  }
  EXPECT_THAT(html, Not(HasSubstr("<svg")));
  EXPECT_THAT(html, HasSubstr(report.evidence_sha256));
}

}  // namespace
}  // namespace vigil::packs
