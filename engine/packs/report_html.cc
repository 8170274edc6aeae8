#include "engine/packs/report_html.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>

#include "engine/process.h"

namespace vigil::packs {
namespace {

// SR statuses in report order, with their labels and chart colours.
struct StatusStyle {
  std::string_view name;
  std::string_view label;
  std::string_view colour;
};
constexpr std::array<StatusStyle, 6> kSrStatuses = {{
    {"pass", "Pass", "#2e7d32"},
    {"fail", "Fail", "#c62828"},
    {"error", "Error", "#ef6c00"},
    {"not_applicable", "N/A", "#9e9e9e"},
    {"organisational", "Organisational", "#1565c0"},
    {"not_covered", "Not covered", "#cfd8dc"},
}};
constexpr std::array<std::string_view, 5> kCheckStatuses = {"pass", "fail", "fixed", "error",
                                                            "not_applicable"};

constexpr std::string_view kStyle = R"css(
:root { --pass: #2e7d32; --fail: #c62828; --error: #ef6c00; --na: #757575; --org: #1565c0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1a1a1a; margin: 0 auto; max-width: 1200px; padding: 1.5em; }
h1 { font-size: 1.6em; margin: 0 0 .3em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #37474f; padding-bottom: .2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin: 1.4em 0 .4em; }
h4 { font-size: 1em; margin: .8em 0 .3em; }
table { border-collapse: collapse; margin: .5em 0 1em; width: 100%; }
th, td { border: 1px solid #cfd8dc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eceff1; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .hash { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
                   font-size: .9em; }
.hash { overflow-wrap: anywhere; }
pre { background: #f5f5f5; border: 1px solid #e0e0e0; padding: .5em; white-space: pre-wrap;
      overflow-wrap: anywhere; margin: .3em 0; }
pre .add { color: #1b5e20; } pre .del { color: #b71c1c; } pre .hunk { color: #4a148c; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .5em 0; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.badge { display: inline-block; min-width: 5.5em; padding: 0 .4em; border-radius: 3px;
         color: #fff; font-size: .8em; font-weight: 700; text-align: center;
         text-transform: uppercase; letter-spacing: .03em; }
.s-pass { background: var(--pass); } .s-fail { background: var(--fail); }
.s-fixed { background: #00838f; } .s-error { background: var(--error); }
.s-not_applicable { background: var(--na); } .s-organisational { background: var(--org); }
.s-not_covered { background: #90a4ae; }
article.sr { border: 1px solid #cfd8dc; border-left: 6px solid #90a4ae; padding: .2em 1em .6em;
             margin: 1em 0; }
article.sr.st-pass { border-left-color: var(--pass); }
article.sr.st-fail { border-left-color: var(--fail); }
article.sr.st-error { border-left-color: var(--error); }
.check { border-top: 1px dashed #cfd8dc; padding-top: .3em; margin-top: .5em; }
.meta { color: #546e7a; font-size: .9em; margin: .1em 0; }
.note { background: #fffde7; border-left: 4px solid #fbc02d; padding: .3em .6em; margin: .4em 0; }
.null { color: #9e9e9e; font-style: italic; }
.scroll { overflow-x: auto; }
.chart { max-width: 760px; }
footer { margin-top: 3em; border-top: 1px solid #cfd8dc; padding-top: .5em; color: #455a64; }
@page { size: A4; margin: 14mm; }
@media print {
  body { font-size: 9pt; max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.fr { break-before: page; }
  article.sr, .check, tr, .chart { break-inside: avoid; }
  thead { display: table-header-group; }
  .scroll { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
)css";

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// An id attribute value: HTML allows anything but whitespace; keep it readable in a URL.
std::string Anchor(std::string_view prefix, std::string_view id) {
  std::string out(prefix);
  for (char c : id) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
    out += plain ? c : '_';
  }
  return Escape(out);
}

std::string Badge(std::string_view status) {
  std::string label(status);
  std::replace(label.begin(), label.end(), '_', ' ');
  return "<span class=\"badge s-" + Escape(status) + "\">" + Escape(label) + "</span>";
}

int CountOf(const std::map<std::string, int>& counts, std::string_view key) {
  auto it = counts.find(std::string(key));
  return it == counts.end() ? 0 : it->second;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? std::string(sep) : "") + items[i];
  return out;
}

std::string Milliseconds(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f ms", ms);
  return buffer;
}

// The framework keys the crosswalk columns show: the catalogue's declared ones, else those used.
std::vector<std::string> FrameworkKeys(const CheckReport& report, const Catalog& catalog) {
  std::set<std::string> keys;
  for (const auto& [key, name] : catalog.framework_names) keys.insert(key);
  if (keys.empty()) {
    for (const SrResult& sr : report.srs) {
      for (const auto& [key, ids] : sr.frameworks) keys.insert(key);
    }
  }
  return {keys.begin(), keys.end()};
}

std::string FrameworkName(const Catalog& catalog, const std::string& key) {
  auto it = catalog.framework_names.find(key);
  return it == catalog.framework_names.end() ? key : it->second;
}

// Stacked horizontal bars, one per FR, of SR statuses; counts are written on the bars as well
// as coloured, so the chart reads in grey print too.
std::string FrChart(const Catalog& catalog,
                    const std::map<std::string, std::map<std::string, int>>& per_fr) {
  constexpr int kLabel = 90, kBar = 540, kRow = 26, kTop = 6, kLegend = 30;
  int widest = 1;
  for (const auto& [fr, counts] : per_fr) {
    int total = 0;
    for (const auto& [status, n] : counts) total += n;
    widest = std::max(widest, total);
  }
  const int rows = static_cast<int>(catalog.frs.size());
  const int width = kLabel + kBar + 60;
  const int height = kTop + rows * kRow + kLegend;
  // Inline SVG in HTML needs no namespace declaration (and the page names no URL at all).
  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) +
                    "\" role=\"img\" aria-label=\"SR status per foundational requirement\" "
                    "font-family=\"sans-serif\" font-size=\"12\">\n";
  for (int i = 0; i < rows; ++i) {
    const FoundationalRequirement& fr = catalog.frs[static_cast<size_t>(i)];
    const int y = kTop + i * kRow;
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 16) + "\">" + Escape(fr.id) +
           (fr.abbreviation.empty() ? "" : " " + Escape(fr.abbreviation)) + "</text>\n";
    auto found = per_fr.find(fr.id);
    int x = kLabel, total = 0;
    for (const StatusStyle& s : kSrStatuses) {
      int n = found == per_fr.end() ? 0 : CountOf(found->second, s.name);
      if (n == 0) continue;
      total += n;
      int w = n * kBar / widest;
      svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y + 2) + "\" width=\"" +
             std::to_string(w) + "\" height=\"" + std::to_string(kRow - 6) + "\" fill=\"" +
             std::string(s.colour) + "\"><title>" + Escape(fr.id) + ": " + std::to_string(n) + " " +
             std::string(s.label) + "</title></rect>\n";
      if (w >= 14) {
        bool dark = s.name != "not_covered";
        svg += "<text x=\"" + std::to_string(x + w / 2) + "\" y=\"" + std::to_string(y + 16) +
               "\" text-anchor=\"middle\" fill=\"" + (dark ? "#fff" : "#000") + "\">" +
               std::to_string(n) + "</text>\n";
      }
      x += w;
    }
    svg += "<text x=\"" + std::to_string(x + 6) + "\" y=\"" + std::to_string(y + 16) +
           "\" fill=\"#455a64\">" + std::to_string(total) + "</text>\n";
  }
  int lx = kLabel;
  const int ly = kTop + rows * kRow + 8;
  for (const StatusStyle& s : kSrStatuses) {
    svg += "<rect x=\"" + std::to_string(lx) + "\" y=\"" + std::to_string(ly) +
           "\" width=\"12\" height=\"12\" fill=\"" + std::string(s.colour) + "\"/>";
    svg += "<text x=\"" + std::to_string(lx + 16) + "\" y=\"" + std::to_string(ly + 11) + "\">" +
           std::string(s.label) + "</text>\n";
    lx += 22 + static_cast<int>(s.label.size()) * 7;
  }
  return svg + "</svg>\n";
}

std::string SrCountCells(const std::map<std::string, int>& counts) {
  std::string out;
  int total = 0;
  for (const StatusStyle& s : kSrStatuses) {
    int n = CountOf(counts, s.name);
    total += n;
    out += "<td class=\"n " + std::string(s.name) + "\">" + std::to_string(n) + "</td>";
  }
  return "<td class=\"n total\">" + std::to_string(total) + "</td>" + out;
}

std::string SrCountHeader(std::string_view first) {
  std::string out = "<thead><tr><th>" + std::string(first) + "</th><th>SRs</th>";
  for (const StatusStyle& s : kSrStatuses) out += "<th>" + std::string(s.label) + "</th>";
  return out + "</tr></thead>\n";
}

void RenderDiff(std::string& out, const std::string& diff) {
  out += "<pre class=\"diff\">";
  size_t at = 0;
  while (at < diff.size()) {
    size_t eol = diff.find('\n', at);
    if (eol == std::string::npos) eol = diff.size();
    std::string_view line(diff.data() + at, eol - at);
    std::string_view cls;
    if (line.starts_with("@@")) {
      cls = "hunk";
    } else if (line.starts_with("+") && !line.starts_with("+++")) {
      cls = "add";
    } else if (line.starts_with("-") && !line.starts_with("---")) {
      cls = "del";
    }
    if (cls.empty()) {
      out += Escape(line);
    } else {
      out += "<span class=\"" + std::string(cls) + "\">" + Escape(line) + "</span>";
    }
    out += "\n";
    at = eol + 1;
  }
  out += "</pre>\n";
}

void RenderRemediation(std::string& out, const Verdict& v) {
  const Remediation& r = *v.remediation;
  out += "<h5>Remediation</h5>\n<p class=\"meta\">" + Escape(v.enforcer) + ": <strong>" +
         Escape(r.outcome) + "</strong>";
  if (r.audit_seq) out += " &middot; audit record " + std::to_string(*r.audit_seq);
  out += "</p>\n";
  if (!r.message.empty()) out += "<p>" + Escape(r.message) + "</p>\n";
  for (const Change& c : r.changes) {
    if (c.kind == Change::Kind::kFile) {
      out += "<p class=\"meta\">File <code>" + Escape(c.path) + "</code></p>\n";
      RenderDiff(out, c.diff);
    } else {
      out += "<pre class=\"cmd\">$ " + Escape(FormatCommand(c.argv)) + "</pre>\n";
      out +=
          "<p class=\"meta\">" +
          (c.exit_code ? "exit status " + std::to_string(*c.exit_code) : std::string("not run")) +
          "</p>\n";
    }
  }
}

void RenderEvidence(std::string& out, const Verdict& v) {
  if (v.rows.empty()) return;
  out += "<div class=\"scroll\"><table class=\"evidence\"><thead><tr>";
  for (const std::string& column : v.columns) out += "<th>" + Escape(column) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const Row& row : v.rows) {
    out += "<tr>";
    for (size_t i = 0; i < v.columns.size(); ++i) {
      if (i >= row.size() || row[i].is_null()) {
        out += "<td class=\"null\">NULL</td>";
      } else {
        out += "<td>" + Escape(row[i].ToString()) + "</td>";
      }
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";
  if (v.rows_total > v.rows.size()) {
    out += "<p class=\"meta\">" + std::to_string(v.rows.size()) + " of " +
           std::to_string(v.rows_total) + " rows shown; the JSON report holds the same rows.</p>\n";
  }
}

std::string DescriptionOf(const CheckReport& report, const std::string& check) {
  auto it = report.descriptions.find(check);
  return it == report.descriptions.end() ? std::string() : it->second;
}

// One check's verdict in full: what it is, its status, the violating rows and the repair.
void RenderCheck(std::string& out, const Verdict& v, const std::string& description) {
  const std::string status(VerdictStatusName(v.status));
  out += "<div class=\"check\" id=\"" + Anchor("check-", v.check) + "\">\n<h4>" + Badge(status) +
         " <code>" + Escape(v.check) + "</code></h4>\n";
  if (!description.empty()) out += "<p>" + Escape(description) + "</p>\n";
  out += "<p class=\"meta\">pack " + Escape(v.pack) + " &middot; from SL " + std::to_string(v.sl) +
         " &middot; " + Escape(Join(v.sr, ", ")) + " &middot; " +
         (v.enforcer.empty() ? std::string("detect only")
                             : "enforcer <code>" + Escape(v.enforcer) + "</code>") +
         " &middot; " + Milliseconds(v.duration_ms) + " &middot; " + Escape(v.time) + "</p>\n";
  if (!v.error.empty()) out += "<p class=\"note\">" + Escape(v.error) + "</p>\n";
  if (v.rows_total > 0) {
    out += "<p>" + std::to_string(v.rows_total) +
           (v.rows_total == 1 ? " violation:" : " violations:") + "</p>\n";
  }
  RenderEvidence(out, v);
  if (v.remediation) RenderRemediation(out, v);
  out += "</div>\n";
}

std::string CrosswalkCells(const SrResult& sr, const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) {
    auto it = sr.frameworks.find(key);
    out += "<td>" + (it == sr.frameworks.end() ? std::string() : Escape(Join(it->second, ", "))) +
           "</td>";
  }
  return out;
}

void RenderHeader(std::string& out, const CheckReport& report, const Catalog& catalog,
                  const std::string& name) {
  out += "<header>\n<h1>" + Escape(name) + " check report</h1>\n<dl class=\"facts\">\n";
  auto fact = [&](std::string_view label, const std::string& value) {
    out += "<dt>" + std::string(label) + "</dt><dd>" + Escape(value) + "</dd>\n";
  };
  fact("Host", report.host.hostname);
  fact("Identifier", report.host.identifier);
  fact("Operating system", report.host.os);
  fact("Root", report.host.root);
  fact("Time", report.time);
  fact("Vigil version", report.vigil_version);
  fact("Target security level", "SL " + std::to_string(report.target_sl));
  if (!catalog.version.empty()) fact("Catalogue", name + " (" + catalog.version + ")");
  out +=
      "</dl>\n<table class=\"packs\"><thead><tr><th>Pack</th><th>SHA-256</th></tr></thead>"
      "<tbody>\n";
  for (const auto& [pack, sha] : report.packs) {
    out += "<tr><td>" + Escape(pack) + "</td><td class=\"hash\">" + Escape(sha) + "</td></tr>\n";
  }
  out += "</tbody></table>\n</header>\n";
}

// Check counts; SR counts per FR (chart and table) and per SL the base requirement applies from.
void RenderSummary(std::string& out, const CheckReport& report, const Catalog& catalog) {
  std::map<std::string, std::map<std::string, int>> per_fr, per_sl;
  for (const SrResult& sr : report.srs) {
    ++per_fr[sr.fr][sr.status];
    const Requirement* req = catalog.Find(sr.id);
    ++per_sl[std::to_string(req ? req->sl : 1)][sr.status];
  }
  out += "<section id=\"summary\">\n<h2>Summary</h2>\n<p>Checks:";
  for (std::string_view status : kCheckStatuses) {
    out += " " + Badge(status) + " " + std::to_string(CountOf(report.check_counts, status));
  }
  out += "</p>\n";
  if (report.srs.empty()) {
    out += "</section>\n";
    return;
  }
  out += "<h3>Requirements per foundational requirement</h3>\n" + FrChart(catalog, per_fr);
  out += "<table class=\"summary-fr\">" + SrCountHeader("FR") + "<tbody>\n";
  for (const FoundationalRequirement& fr : catalog.frs) {
    out += "<tr id=\"" + Anchor("summary-", fr.id) + "\"><th><a href=\"#" + Anchor("fr-", fr.id) +
           "\">" + Escape(fr.id) + "</a> " + Escape(fr.title) + "</th>" +
           SrCountCells(per_fr[fr.id]) + "</tr>\n";
  }
  out += "<tr class=\"total\"><th>All</th>" + SrCountCells(report.sr_counts) + "</tr>\n";
  out += "</tbody></table>\n";
  out +=
      "<h3>Requirements per security level</h3>\n<p>By the level from which each SR's base "
      "requirement applies; the target is SL " +
      std::to_string(report.target_sl) + ".</p>\n";
  out += "<table class=\"summary-sl\">" + SrCountHeader("From") + "<tbody>\n";
  for (int sl = 1; sl <= 4; ++sl) {
    const std::string key = std::to_string(sl);
    out += "<tr id=\"summary-sl-" + key + "\"><th>SL " + key +
           (sl <= report.target_sl ? "" : " (above target)") + "</th>" + SrCountCells(per_sl[key]) +
           "</tr>\n";
  }
  out += "</tbody></table>\n</section>\n";
}

// One SR: status, level, enhancements against the target, note, and its checks. A check that
// evidences several SRs is shown in full the first time (`shown` records which were).
void RenderSr(std::string& out, const SrResult& sr, const Requirement* req,
              const CheckReport& report, const std::map<std::string, const Verdict*>& verdicts,
              std::set<std::string>& shown) {
  const int target_sl = report.target_sl;
  out += "<article class=\"sr st-" + Escape(sr.status) + "\" id=\"" + Anchor("sr-", sr.id) +
         "\">\n<h3>" + Badge(sr.status) + " " + Escape(sr.id) + " " + Escape(sr.title) + "</h3>\n";
  if (req != nullptr) {
    out += "<p class=\"meta\">Applies from SL " + std::to_string(req->sl) + " &middot; " +
           Escape(CoverageName(req->coverage)) + "</p>\n";
    if (!req->enhancements.empty()) {
      out += "<ul class=\"enhancements\">\n";
      for (const Enhancement& re : req->enhancements) {
        out += "<li>" + Escape(re.id) + " " + Escape(re.title) + " (SL " + std::to_string(re.sl) +
               (re.sl <= target_sl ? ", in target" : "") + ")</li>\n";
      }
      out += "</ul>\n";
    }
  }
  if (!sr.note.empty()) out += "<p class=\"note\">" + Escape(sr.note) + "</p>\n";
  for (const std::string& id : sr.checks) {
    auto it = verdicts.find(id);
    if (it == verdicts.end()) continue;
    if (shown.insert(id).second) {
      RenderCheck(out, *it->second, DescriptionOf(report, id));
    } else {
      out += "<p class=\"check\">" + Badge(VerdictStatusName(it->second->status)) + " <code>" +
             Escape(id) + "</code>: evidence shown <a href=\"#" + Anchor("check-", id) +
             "\">above</a>.</p>\n";
    }
  }
  out += "</article>\n";
}

// An FR: a table of its SRs with the crosswalk columns, then each SR in full.
void RenderFr(std::string& out, const FoundationalRequirement& fr, const CheckReport& report,
              const Catalog& catalog, const std::vector<std::string>& framework_keys,
              const std::map<std::string, const Verdict*>& verdicts, std::set<std::string>& shown) {
  out += "<section class=\"fr\" id=\"" + Anchor("fr-", fr.id) + "\">\n<h2>" + Escape(fr.id) + " " +
         Escape(fr.title) + (fr.abbreviation.empty() ? "" : " (" + Escape(fr.abbreviation) + ")") +
         "</h2>\n";
  out +=
      "<div class=\"scroll\"><table class=\"srs\"><thead><tr><th>SR</th><th>Title</th>"
      "<th>From</th><th>Status</th><th>Checks</th>";
  for (const std::string& key : framework_keys) {
    out += "<th>" + Escape(FrameworkName(catalog, key)) + "</th>";
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const SrResult& sr : report.srs) {
    if (sr.fr != fr.id) continue;
    const Requirement* req = catalog.Find(sr.id);
    out += "<tr><td><a href=\"#" + Anchor("sr-", sr.id) + "\">" + Escape(sr.id) + "</a></td><td>" +
           Escape(sr.title) + "</td><td>SL " + std::to_string(req ? req->sl : 1) + "</td><td>" +
           Badge(sr.status) + "</td><td class=\"n\">" + std::to_string(sr.checks.size()) + "</td>" +
           CrosswalkCells(sr, framework_keys) + "</tr>\n";
  }
  out += "</tbody></table></div>\n";
  for (const SrResult& sr : report.srs) {
    if (sr.fr == fr.id) {
      RenderSr(out, sr, catalog.Find(sr.id), report, verdicts, shown);
    }
  }
  out += "</section>\n";
}

// The SRs no machine check decides, together, with what a person attaches or why they are out
// of reach.
void RenderWithoutChecks(std::string& out, const CheckReport& report) {
  std::string rows;
  for (const SrResult& sr : report.srs) {
    if (sr.status != "organisational" && sr.status != "not_covered") continue;
    rows += "<tr><td><a href=\"#" + Anchor("sr-", sr.id) + "\">" + Escape(sr.id) + "</a></td><td>" +
            Escape(sr.title) + "</td><td>" + Badge(sr.status) + "</td><td>" + Escape(sr.note) +
            "</td></tr>\n";
  }
  if (rows.empty()) return;
  out +=
      "<section id=\"organisational\">\n<h2>Requirements without a machine check</h2>\n"
      "<p>Organisational SRs are decided by the evidence named in the note, which a person "
      "attaches; not-covered SRs are outside what software on the host can show.</p>\n"
      "<table><thead><tr><th>SR</th><th>Title</th><th>Status</th><th>Note</th></tr></thead>"
      "<tbody>\n" +
      rows + "</tbody></table>\n</section>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) { return Escape(text); }
std::string HtmlBadge(std::string_view status) { return Badge(status); }
std::string_view ReportStyleSheet() { return kStyle; }

std::string ReportHtml(const CheckReport& report, const Catalog& catalog) {
  const std::string name = catalog.name.empty() ? std::string("Compliance") : catalog.name;
  std::map<std::string, const Verdict*> verdicts;  // by check id
  for (const Verdict& v : report.checks) verdicts.emplace(v.check, &v);

  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + Escape(name) + " report: " + Escape(report.host.hostname) + "</title>\n";
  out += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  RenderHeader(out, report, catalog, name);
  RenderSummary(out, report, catalog);

  std::set<std::string> shown;  // check ids rendered in full
  const std::vector<std::string> framework_keys = FrameworkKeys(report, catalog);
  for (const FoundationalRequirement& fr : catalog.frs) {
    RenderFr(out, fr, report, catalog, framework_keys, verdicts, shown);
  }
  // Checks whose SRs the catalogue does not hold (or no catalogue at all) are evidence too.
  bool heading = false;
  for (const Verdict& v : report.checks) {
    if (!shown.insert(v.check).second) continue;
    if (!heading) out += "<section id=\"unmapped\">\n<h2>Checks outside the catalogue</h2>\n";
    heading = true;
    RenderCheck(out, v, DescriptionOf(report, v.check));
  }
  if (heading) out += "</section>\n";
  RenderWithoutChecks(out, report);

  if (!catalog.framework_sources.empty()) {
    out += "<section id=\"crosswalks\">\n<h2>Crosswalk sources</h2>\n<dl>\n";
    for (const auto& [key, source] : catalog.framework_sources) {
      out +=
          "<dt>" + Escape(FrameworkName(catalog, key)) + "</dt><dd>" + Escape(source) + "</dd>\n";
    }
    out += "</dl>\n</section>\n";
  }
  out +=
      "<footer>\n<p>Evidence SHA-256 (of the canonical JSON of the checks): <span "
      "class=\"hash\" id=\"evidence-sha256\">" +
      Escape(report.evidence_sha256) + "</span></p>\n<p>Generated by Vigil " +
      Escape(report.vigil_version) + " at " + Escape(report.time) +
      ". The JSON report (vigil.check_report/1) is the record; this page renders it.</p>\n"
      "</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace vigil::packs
