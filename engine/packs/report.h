// The check report of one node (PROTOCOL.md, "vigil.check_report/1"): verdicts rolled up per SR
// against the catalogue, with the evidence hashed. Rendered as JSON (the record), text (a
// terminal) and CSV (a spreadsheet); the HTML rendering lives in report_html.cc.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packs/catalog.h"
#include "engine/packs/pack.h"
#include "engine/packs/verdict.h"

namespace vigil::packs {

struct HostFacts {
  std::string identifier;
  std::string hostname;
  std::string os;
  std::string root = "/";
};

struct SrResult {
  std::string id;
  std::string fr;
  std::string title;
  std::string status;  // pass, fail, error, not_applicable, organisational, not_covered
  std::vector<std::string> checks;
  std::map<std::string, std::vector<std::string>> frameworks;
  std::string note;
};

struct CheckReport {
  std::string vigil_version;
  HostFacts host;
  std::string time;
  int target_sl = 2;
  std::vector<std::pair<std::string, std::string>> packs;  // name, sha256
  std::map<std::string, int> check_counts;                 // by verdict status
  std::map<std::string, int> sr_counts;                    // by SR status
  std::vector<SrResult> srs;
  std::vector<Verdict> checks;
  // What each check verifies, from its pack ("The SSH server does not accept logins as root").
  // For people (text and HTML); the JSON record names checks by id.
  std::map<std::string, std::string> descriptions;
  std::string evidence_sha256;  // of the canonical JSON of `checks`
};

CheckReport BuildReport(const Catalog& catalog, const std::vector<Pack>& packs,
                        std::vector<Verdict> verdicts, HostFacts host, int target_sl);

// One verdict as PROTOCOL.md's JSON object (compact).
std::string VerdictJson(const Verdict& verdict);
// The canonical JSON of a list of verdicts: compact, fields in PROTOCOL.md order.
std::string VerdictsJson(const std::vector<Verdict>& verdicts);

// An SR's status on one host (PROTOCOL.md, "Check report"): organisational / not_covered from
// its coverage, not_applicable above the target SL or when none of `statuses` (the verdicts of
// the checks mapped to it) applies, else fail, error or pass. Shared with the fleet report.
std::string SrStatusOf(const Requirement& sr, const std::vector<VerdictStatus>& statuses,
                       int target_sl);

// One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break.
std::string CsvCell(std::string_view text);

std::string ReportJson(const CheckReport& report);
std::string ReportText(const CheckReport& report, const Catalog& catalog);
std::string ReportCsv(const CheckReport& report);

}  // namespace vigil::packs
