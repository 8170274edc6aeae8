// The people's API: the fleet IEC 62443 report, GET /api/v1/reports/iec62443?format=&at=
// (server/fleet_report.h). format: json (default), html, csv or text; at: RFC 3339 or unix
// seconds, the fleet as it was then (a time after now is now). A bad value is 400 naming it.
#include <chrono>
#include <optional>

#include "engine/packs/catalog.h"
#include "packs/bundle.h"
#include "server/api.h"
#include "server/config_service.h"
#include "server/fleet_report.h"
#include "server/internal/api_common.h"

namespace vigil::server {
namespace {

// The built-in IEC 62443-3-3 catalogue, parsed once.
const Result<packs::Catalog>& BuiltinCatalog() {
  static const Result<packs::Catalog> catalog = []() -> Result<packs::Catalog> {
    packs::Bundle bundle;
    if (!packs::AddBuiltinBundle("iec62443", bundle) || !bundle.catalog) {
      return Status::NotFound("the built-in iec62443 bundle has no catalogue");
    }
    return packs::ParseCatalog(bundle.catalog_name, *bundle.catalog);
  }();
  return catalog;
}

}  // namespace

HttpResponse Api::Report(std::string_view query) {
  auto params = internal::ParseQuery(query, {"format", "at"});
  if (!params.ok()) return internal::StatusResponse(params.status());
  std::string format = "json";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  FleetReportLoad load;
  load.now = now;
  for (const auto& [name, value] : *params) {
    if (name == "format") {
      if (value != "json" && value != "html" && value != "csv" && value != "text") {
        return ErrorResponse(400, "malformed",
                             "format must be json, html, csv or text, not '" +
                                 internal::Shown(value) + "'");
      }
      format = value;
    } else {
      Result<int64_t> at = ParseReportTime(value, "at");
      if (!at.ok()) return internal::StatusResponse(at.status());
      if (*at < now) load.at = *at;
    }
  }
  // The published config's catalogue (its catalog.json, or its bundle's), else the built-in one.
  std::optional<packs::Catalog> published;
  if (services_.config != nullptr) {
    if (std::optional<std::string> text = services_.config->Catalog()) {
      Result<packs::Catalog> parsed = packs::ParseCatalog("the published catalog.json", *text);
      if (!parsed.ok()) return internal::StatusResponse(parsed.status());
      published = std::move(*parsed);
    }
  }
  const Result<packs::Catalog>& builtin = BuiltinCatalog();
  if (!published && !builtin.ok()) return internal::StatusResponse(builtin.status());
  const packs::Catalog* catalog = published ? &*published : &*builtin;
  if (!load.at) load.online = fleet_.OnlineNodes();
  if (services_.config != nullptr) {
    load.scope_of = [config = services_.config](const NodeRecord& node) {
      return config->ScopeFor(node.host_identifier, node.hostname);
    };
  }
  Result<FleetReportInput> input = LoadFleetReportInput(store_, *catalog, load);
  if (!input.ok()) return internal::StatusResponse(input.status());
  const FleetReport report = BuildFleetReport(*input);

  HttpResponse response;
  if (format == "html") {
    response.content_type = "text/html; charset=utf-8";
    response.body = FleetReportHtml(report);
  } else if (format == "csv") {
    response.content_type = "text/csv; charset=utf-8";
    response.body = FleetReportCsv(report);
  } else if (format == "text") {
    response.body = FleetReportText(report);
  } else {
    response.content_type = "application/json";
    response.body = FleetReportJson(report);
  }
  return response;
}

}  // namespace vigil::server
