// What the people's API's files (server/api.cc, server/api_campaigns.cc) share: JSON writing,
// request parsing, the mapping of a Status to an HTTP error, and the campaign stream. Boost-free.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"
#include "server/fleet.h"
#include "server/http_routes.h"

namespace vigil::server::internal {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, std::string_view text);
void WriteStrings(JsonWriter& w, const std::vector<std::string>& texts);
// RFC 3339 UTC ("2026-11-25T17:02:00Z"), or null for 0 (never).
void WriteTime(JsonWriter& w, int64_t unix_seconds);
void WriteTimeMs(JsonWriter& w, int64_t unix_milliseconds);

HttpResponse JsonResponse(int status, const rapidjson::StringBuffer& body);
// The HTTP error for a failed call: InvalidArgument 400 malformed, Unauthenticated 401,
// PermissionDenied 403 forbidden, NotFound 404, AlreadyExists and FailedPrecondition 409
// conflict, ResourceExhausted 413 too_large, Unavailable 503, anything else 500 internal.
HttpResponse StatusResponse(const Status& status);

// `text` for a message, cut at 200 bytes: it comes from the network.
std::string Shown(std::string_view text);

// Parses the request body as one JSON object into `doc`. `what` names the request in errors
// ("POST /api/v1/queries"). InvalidArgument when empty, not JSON, or not an object.
Status ParseBody(const HttpRequest& request, std::string_view what, rapidjson::Document& doc);
// InvalidArgument naming the first member of `object` not in `known`.
Status CheckFields(const rapidjson::Value& object, std::initializer_list<std::string_view> known,
                   std::string_view what);

// "%2F" -> "/"; InvalidArgument for a bad escape. '+' stays '+' (paths) unless `plus_is_space`.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}; InvalidArgument naming a parameter not in `known`,
// one given twice, or a bad escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    std::string_view query, std::initializer_list<std::string_view> known);
// A decimal number from `min` to `max`; InvalidArgument naming `what` otherwise.
Result<uint64_t> ParseNumber(std::string_view text, std::string_view what, uint64_t min,
                             uint64_t max);

// Makes the session of GET /api/v1/queries/{id}/stream once its WebSocket is open: it watches
// the campaign and sends its answers, totals and "done", then closes normally.
PeerSessionFactory CampaignStreamFactory(Fleet& fleet, std::string campaign_id);

// {"id",...} of a campaign, the list of expected nodes only with `with_nodes`.
void WriteCampaign(JsonWriter& w, const CampaignRecord& campaign, bool with_nodes);
void WriteTotals(JsonWriter& w, const CampaignTotals& totals);

}  // namespace vigil::server::internal
