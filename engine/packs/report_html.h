// The check report as one self-contained HTML page for an auditor: no network, no scripts, no
// external fonts or style sheets (inline CSS and SVG only), readable on screen and on paper.
#pragma once

#include <string>
#include <string_view>

#include "engine/packs/catalog.h"
#include "engine/packs/report.h"

namespace vigil::packs {

// Renders `report` against the catalogue it was built over: a header with the host, time,
// Vigil version, target SL and packs (with their SHA-256); summaries per FR (table and bar
// chart) and per SL; every SR grouped by FR with its status, crosswalk ids, checks, evidence
// rows and remediation; the organisational and not-covered SRs with their notes; and the
// evidence SHA-256. Every text taken from the report or the catalogue is HTML-escaped.
std::string ReportHtml(const CheckReport& report, const Catalog& catalog);

// The pieces the fleet report's page shares with this one, so both look alike.
// `text` with & < > " ' escaped, for element content and attribute values.
std::string HtmlEscape(std::string_view text);
// A coloured status label: <span class="badge s-STATUS">status</span>.
std::string HtmlBadge(std::string_view status);
// The page's style sheet (for a <style> element).
std::string_view ReportStyleSheet();

}  // namespace vigil::packs
