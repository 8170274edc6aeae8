// The fleet report as one self-contained HTML page, in the node report's style
// (engine/packs/report_html.h: its style sheet, badges and escaping): no scripts, no network,
// inline CSS and SVG only. Every text from the report is escaped.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "engine/audit/chain.h"
#include "engine/packs/report_html.h"
#include "server/fleet_report.h"

namespace vigil::server {
namespace {

using packs::HtmlBadge;
using packs::HtmlEscape;

constexpr std::string_view kFleetStyle = R"css(
.s-stale { background: #6d4c41; } .s-no_evidence { background: #8d6e63; }
.flag { color: var(--fail); font-weight: 700; }
.summary-nodes td.n { min-width: 4em; }
)css";

int CountOf(const std::map<std::string, int>& counts, std::string_view key) {
  auto it = counts.find(std::string(key));
  return it == counts.end() ? 0 : it->second;
}

std::string Percent(int pass, int total) {
  if (total == 0) return "&ndash;";
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%.1f%%", 100.0 * pass / total);
  return buffer;
}

std::string Cell(int n) { return "<td class=\"n\">" + std::to_string(n) + "</td>"; }

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? std::string(sep) : "") + items[i];
  return out;
}

// One horizontal bar per FR: the share of node x SR pairs that pass, with the figure written
// on it so it reads in grey print too.
std::string FrChart(const FleetReport& r) {
  constexpr int kLabel = 90, kBar = 540, kRow = 26, kTop = 6;
  const int height = kTop + static_cast<int>(r.frs.size()) * kRow + 6;
  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(kLabel + kBar + 70) +
                    " " + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"Passing node and SR pairs per foundational "
                    "requirement\" font-family=\"sans-serif\" font-size=\"12\">\n";
  for (size_t i = 0; i < r.frs.size(); ++i) {
    const FleetFrResult& f = r.frs[i];
    const int y = kTop + static_cast<int>(i) * kRow;
    const int w = f.node_total == 0 ? 0 : f.node_pass * kBar / f.node_total;
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 16) + "\">" + HtmlEscape(f.id) +
           (f.abbreviation.empty() ? "" : " " + HtmlEscape(f.abbreviation)) + "</text>\n";
    svg += "<rect x=\"" + std::to_string(kLabel) + "\" y=\"" + std::to_string(y + 2) +
           "\" width=\"" + std::to_string(kBar) + "\" height=\"" + std::to_string(kRow - 6) +
           "\" fill=\"#eceff1\"/>";
    svg += "<rect x=\"" + std::to_string(kLabel) + "\" y=\"" + std::to_string(y + 2) +
           "\" width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(kRow - 6) +
           "\" fill=\"#2e7d32\"><title>" + HtmlEscape(f.id) + ": " + std::to_string(f.node_pass) +
           " of " + std::to_string(f.node_total) + " pass</title></rect>\n";
    svg += "<text x=\"" + std::to_string(kLabel + kBar + 6) + "\" y=\"" + std::to_string(y + 16) +
           "\" fill=\"#455a64\">" + Percent(f.node_pass, f.node_total) + "</text>\n";
  }
  return svg + "</svg>\n";
}

// Pass rate per day as columns, 0 to 100 %.
std::string TrendChart(const std::vector<TrendPoint>& trend) {
  constexpr int kHeight = 160, kBottom = 40, kLeft = 40, kColumn = 22;
  const int width = kLeft + static_cast<int>(trend.size()) * kColumn + 10;
  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(kHeight + kBottom) +
                    "\" role=\"img\" aria-label=\"Pass rate per day\" font-family=\"sans-serif\" "
                    "font-size=\"10\">\n";
  for (int pct : {0, 50, 100}) {
    const int y = kHeight - pct * (kHeight - 10) / 100;
    svg += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(width) +
           "\" y1=\"" + std::to_string(y) + "\" y2=\"" + std::to_string(y) +
           "\" stroke=\"#cfd8dc\"/><text x=\"0\" y=\"" + std::to_string(y + 4) + "\">" +
           std::to_string(pct) + "%</text>\n";
  }
  for (size_t i = 0; i < trend.size(); ++i) {
    const TrendPoint& p = trend[i];
    const int h = static_cast<int>(p.pass_rate * (kHeight - 10));
    const int x = kLeft + static_cast<int>(i) * kColumn + 3;
    svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kHeight - h) +
           "\" width=\"" + std::to_string(kColumn - 6) + "\" height=\"" + std::to_string(h) +
           "\" fill=\"#2e7d32\"><title>" + HtmlEscape(p.day) + ": " +
           Percent(p.pass, p.pass + p.fail + p.error) + "</title></rect>";
    svg += "<text x=\"" + std::to_string(x + 10) + "\" y=\"" + std::to_string(kHeight + 8) +
           "\" transform=\"rotate(60 " + std::to_string(x + 10) + " " +
           std::to_string(kHeight + 8) + ")\">" + HtmlEscape(p.day.substr(5)) + "</text>\n";
  }
  return svg + "</svg>\n";
}

void RenderSummary(std::string& out, const FleetReport& r) {
  out += "<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary-nodes\"><thead><tr>"
         "<th>Nodes</th><th>Online</th><th>Fail</th><th>Error</th><th>Stale</th>"
         "<th>No evidence</th><th>Pass</th><th>Audit chain flagged</th></tr></thead><tbody><tr>";
  for (const char* k :
       {"total", "online", "fail", "error", "stale", "no_evidence", "pass", "flagged"}) {
    out += Cell(CountOf(r.node_counts, k));
  }
  out += "</tr></tbody></table>\n";
  out += "<h3>Per foundational requirement</h3>\n" + FrChart(r);
  out += "<table class=\"summary-fr\"><thead><tr><th>FR</th><th>Node &times; SR passing</th>"
         "<th>SRs pass</th><th>fail</th><th>error</th><th>stale</th><th>n/a</th>"
         "<th>organisational</th><th>not covered</th></tr></thead><tbody>\n";
  for (const FleetFrResult& f : r.frs) {
    out += "<tr><th>" + HtmlEscape(f.id) + " " + HtmlEscape(f.title) + "</th><td class=\"n\">" +
           Percent(f.node_pass, f.node_total) + " (" + std::to_string(f.node_pass) + "/" +
           std::to_string(f.node_total) + ")</td>";
    for (const char* k : {"pass", "fail", "error", "stale", "not_applicable", "organisational",
                          "not_covered"}) {
      out += Cell(CountOf(f.srs, k));
    }
    out += "</tr>\n";
  }
  out += "</tbody></table>\n<h3>Per security level</h3>\n<p>SRs by the level their base "
         "requirement applies from; a node meets a level when its target reaches it and every "
         "SR up to it passes (or does not apply).</p>\n<table class=\"summary-sl\"><thead><tr>"
         "<th>From</th><th>SRs pass</th><th>fail</th><th>error</th><th>stale</th>"
         "<th>Nodes meeting it</th></tr></thead><tbody>\n";
  for (const FleetSlResult& s : r.sls) {
    out += "<tr id=\"summary-sl-" + std::to_string(s.sl) + "\"><th>SL " + std::to_string(s.sl) +
           "</th>" + Cell(CountOf(s.srs, "pass")) + Cell(CountOf(s.srs, "fail")) +
           Cell(CountOf(s.srs, "error")) + Cell(CountOf(s.srs, "stale")) + Cell(s.nodes_meeting) +
           "</tr>\n";
  }
  out += "</tbody></table>\n</section>\n";
}

std::string FrameworkName(const FleetReport& r, const std::string& key) {
  auto it = r.framework_names.find(key);
  return it == r.framework_names.end() ? key : it->second;
}

void RenderSrs(std::string& out, const FleetReport& r) {
  out += "<section id=\"srs\">\n<h2>Requirements, worst first</h2>\n<div class=\"scroll\">"
         "<table class=\"srs\"><thead><tr><th>SR</th><th>Title</th><th>From</th><th>Status</th>"
         "<th>Pass</th><th>Fail</th><th>Error</th><th>Stale</th>";
  for (const std::string& key : r.framework_keys) {
    out += "<th>" + HtmlEscape(FrameworkName(r, key)) + "</th>";
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const FleetSrResult& sr : r.srs) {
    out += "<tr><td>" + HtmlEscape(sr.id) + "</td><td>" + HtmlEscape(sr.title) + "</td><td>SL " +
           std::to_string(sr.sl) + "</td><td>" + HtmlBadge(sr.status) + "</td>" +
           Cell(CountOf(sr.nodes, "pass")) + Cell(CountOf(sr.nodes, "fail")) +
           Cell(CountOf(sr.nodes, "error")) +
           Cell(CountOf(sr.nodes, "stale") + CountOf(sr.nodes, "no_evidence"));
    for (const std::string& key : r.framework_keys) {
      auto it = sr.frameworks.find(key);
      out += "<td>" + (it == sr.frameworks.end() ? std::string() : HtmlEscape(Join(it->second, ", "))) +
             "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
}

void RenderNodes(std::string& out, const FleetReport& r) {
  out += "<section id=\"nodes\">\n<h2>Nodes, worst first</h2>\n<div class=\"scroll\">"
         "<table class=\"nodes\"><thead><tr><th>Node</th><th>Status</th><th>Target</th>"
         "<th>SRs pass</th><th>fail</th><th>error</th><th>Last seen</th><th>Failing checks</th>"
         "<th>Audit chain</th></tr></thead>\n<tbody>\n";
  for (const FleetNodeResult& n : r.nodes) {
    out += "<tr><td>" + HtmlEscape(n.hostname);
    if (n.hostname != n.host_identifier) {
      out += "<br><span class=\"meta\">" + HtmlEscape(n.host_identifier) + "</span>";
    }
    out += "</td><td>" + HtmlBadge(n.status) + (n.online ? " online" : "") + "</td><td>SL " +
           std::to_string(n.target_sl) + "</td>" + Cell(CountOf(n.sr_counts, "pass")) +
           Cell(CountOf(n.sr_counts, "fail")) + Cell(CountOf(n.sr_counts, "error")) + "<td>" +
           (n.last_seen == 0 ? std::string("never")
                             : HtmlEscape(audit::FormatRfc3339(std::chrono::system_clock::time_point(
                                   std::chrono::seconds(n.last_seen))))) +
           "</td><td>" + HtmlEscape(Join(n.failing_checks, ", ")) + "</td><td>" +
           (n.audit_flagged ? "<span class=\"flag\">flagged</span>: " + HtmlEscape(n.audit_reason)
                            : n.audit_seq == 0 ? std::string("no head")
                                               : "seq " + std::to_string(n.audit_seq)) +
           "</td></tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
}

}  // namespace

std::string FleetReportHtml(const FleetReport& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + HtmlEscape(r.catalog_name) + " fleet report " + HtmlEscape(r.time) +
         "</title>\n<style>" + std::string(packs::ReportStyleSheet()) + std::string(kFleetStyle) +
         "</style>\n</head>\n<body>\n";
  out += "<header>\n<h1>" + HtmlEscape(r.catalog_name) + " fleet report</h1>\n<dl class=\"facts\">\n";
  auto fact = [&](std::string_view label, const std::string& value) {
    out += "<dt>" + std::string(label) + "</dt><dd>" + HtmlEscape(value) + "</dd>\n";
  };
  fact(r.historical ? "As it was at" : "Time", r.time);
  if (r.historical) fact("Generated", r.generated);
  fact("Nodes", std::to_string(CountOf(r.node_counts, "total")));
  fact("Default target security level", "SL " + std::to_string(r.default_target_sl));
  if (!r.catalog_version.empty()) fact("Catalogue", r.catalog_name + " (" + r.catalog_version + ")");
  out += "</dl>\n<p class=\"note\">A node not heard from for more than 3 of its check cycles is "
         "<strong>stale</strong>: its requirements show as stale, never as passing.</p>\n"
         "</header>\n";
  RenderSummary(out, r);
  if (!r.trend.empty()) {
    out += "<section id=\"trend\">\n<h2>Trend</h2>\n<p>Pass rate per day (UTC) of every node's "
           "latest verdict of each check at the end of the day.</p>\n" +
           TrendChart(r.trend) + "</section>\n";
  }
  RenderSrs(out, r);
  RenderNodes(out, r);
  if (!r.uncovered.empty()) {
    out += "<section id=\"not-covered\">\n<h2>Requirements without a machine repair or "
           "check</h2>\n<table><thead><tr><th>SR</th><th>Title</th><th>Coverage</th>"
           "<th>Why</th></tr></thead><tbody>\n";
    for (const UncoveredSr& u : r.uncovered) {
      out += "<tr><td>" + HtmlEscape(u.id) + "</td><td>" + HtmlEscape(u.title) + "</td><td>" +
             HtmlBadge(u.coverage) + "</td><td>" + HtmlEscape(u.note) + "</td></tr>\n";
    }
    out += "</tbody></table>\n</section>\n";
  }
  out += "<footer>\n<p>Generated by Vigil " + HtmlEscape(VIGIL_VERSION) + " at " +
         HtmlEscape(r.generated) +
         ". The JSON report (vigil.fleet_report/1) is the record; this page renders it.</p>\n"
         "</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace vigil::server
