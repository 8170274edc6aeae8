// The people's API: its route table, authentication and roles, nodes, tokens and the audit chain.
// Campaigns (queries, their results and stream) are in api_campaigns.cc.
#include "server/api.h"

#include <algorithm>
#include <optional>

#include "server/credentials.h"
#include "server/internal/api_common.h"

namespace vigil::server {
namespace {

using internal::JsonResponse;
using internal::JsonWriter;
using internal::Shown;
using internal::StatusResponse;
using internal::WriteString;
using internal::WriteTime;

constexpr std::string_view kPrefix = "/api/v1/";

enum class Route {
  kNodes,
  kNode,
  kQueries,
  kQuery,
  kQueryStream,
  kTokens,
  kToken,
  kAudit,
  kAuditVerify,
  kConfig,
  kConfigHistory,
  kConfigDiff,
  kConfigRollback,
  kConfigVersion,
  kReport,
  kRemediations,
  kTasks,
  kTask,
};

struct Endpoint {
  Route route;
  std::string_view method;
  Role need;
};

// PROTOCOL.md's table, the part this API serves.
constexpr Endpoint kEndpoints[] = {
    {Route::kNodes, "GET", Role::kViewer},      {Route::kNode, "DELETE", Role::kAdmin},
    {Route::kQueries, "POST", Role::kAnalyst},  {Route::kQueries, "GET", Role::kAnalyst},
    {Route::kQuery, "GET", Role::kAnalyst},     {Route::kQueryStream, "GET", Role::kAnalyst},
    {Route::kTokens, "POST", Role::kAdmin},     {Route::kTokens, "GET", Role::kAdmin},
    {Route::kToken, "DELETE", Role::kAdmin},    {Route::kAudit, "GET", Role::kAdmin},
    {Route::kAuditVerify, "GET", Role::kAdmin},
    {Route::kConfig, "POST", Role::kAdmin},     {Route::kConfigHistory, "GET", Role::kAdmin},
    {Route::kConfigDiff, "GET", Role::kAdmin},  {Route::kConfigRollback, "POST", Role::kAdmin},
    {Route::kConfigVersion, "GET", Role::kAdmin},
    {Route::kReport, "GET", Role::kViewer},
    {Route::kRemediations, "POST", Role::kOperator},
    {Route::kTasks, "POST", Role::kOperator},   {Route::kTasks, "GET", Role::kOperator},
    {Route::kTask, "GET", Role::kOperator},
};

struct Matched {
  Route route;
  std::string pattern;  // "/api/v1/tokens/{id}", for messages
  std::string id;       // the {id} segment, percent-decoded
};

// nullopt for a path that is no route of the API.
Result<std::optional<Matched>> Match(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::optional<Matched>();
  std::vector<std::string_view> parts;
  for (std::string_view rest = path.substr(kPrefix.size());;) {
    size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  for (std::string_view part : parts) {
    if (part.empty()) return std::optional<Matched>();
  }
  auto with_id = [&](Route route, std::string pattern) -> Result<std::optional<Matched>> {
    auto id = internal::PercentDecode(parts[1], false);
    if (!id.ok()) return id.status();
    return std::optional<Matched>(Matched{route, std::move(pattern), std::move(*id)});
  };
  const std::string_view collection = parts[0];
  if (parts.size() == 1) {
    if (collection == "nodes") return std::optional<Matched>({Route::kNodes, "/api/v1/nodes", ""});
    if (collection == "queries") {
      return std::optional<Matched>({Route::kQueries, "/api/v1/queries", ""});
    }
    if (collection == "tokens") {
      return std::optional<Matched>({Route::kTokens, "/api/v1/tokens", ""});
    }
    if (collection == "audit") return std::optional<Matched>({Route::kAudit, "/api/v1/audit", ""});
    if (collection == "config") {
      return std::optional<Matched>({Route::kConfig, "/api/v1/config", ""});
    }
    if (collection == "remediations") {
      return std::optional<Matched>({Route::kRemediations, "/api/v1/remediations", ""});
    }
    if (collection == "tasks") return std::optional<Matched>({Route::kTasks, "/api/v1/tasks", ""});
  } else if (parts.size() == 2) {
    if (collection == "config") {
      if (parts[1] == "history") {
        return std::optional<Matched>({Route::kConfigHistory, "/api/v1/config/history", ""});
      }
      if (parts[1] == "diff") {
        return std::optional<Matched>({Route::kConfigDiff, "/api/v1/config/diff", ""});
      }
      if (parts[1] == "rollback") {
        return std::optional<Matched>({Route::kConfigRollback, "/api/v1/config/rollback", ""});
      }
      return with_id(Route::kConfigVersion, "/api/v1/config/{version}");
    }
    if (collection == "reports" && parts[1] == "iec62443") {
      return std::optional<Matched>({Route::kReport, "/api/v1/reports/iec62443", ""});
    }
    if (collection == "tasks") return with_id(Route::kTask, "/api/v1/tasks/{id}");
    if (collection == "nodes") return with_id(Route::kNode, "/api/v1/nodes/{id}");
    if (collection == "queries") return with_id(Route::kQuery, "/api/v1/queries/{id}");
    if (collection == "tokens") return with_id(Route::kToken, "/api/v1/tokens/{id}");
    if (collection == "audit" && parts[1] == "verify") {
      return std::optional<Matched>({Route::kAuditVerify, "/api/v1/audit/verify", ""});
    }
  } else if (parts.size() == 3 && collection == "queries" && parts[2] == "stream") {
    return with_id(Route::kQueryStream, "/api/v1/queries/{id}/stream");
  }
  return std::optional<Matched>();
}

std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

// 405 naming the methods the route takes (and saying so in Allow).
HttpResponse MethodNotAllowed(const HttpRequest& request, const Matched& matched) {
  std::string allowed;
  for (const Endpoint& endpoint : kEndpoints) {
    if (endpoint.route != matched.route) continue;
    allowed += (allowed.empty() ? "" : ", ") + std::string(endpoint.method);
  }
  HttpResponse response = ErrorResponse(
      405, "method_not_allowed",
      Shown(request.method) + " is not allowed on " + matched.pattern + "; use " + allowed);
  response.headers.emplace_back("Allow", allowed);
  return response;
}

// The caller's token, when it may use `endpoint`: Unauthenticated or PermissionDenied otherwise.
Result<TokenRecord> Authorize(const HubStore& store, const HttpRequest& request,
                              const Endpoint& endpoint, const Matched& matched) {
  const std::string_view header = request.Header("authorization");
  if (header.empty()) {
    return Status::Unauthenticated(std::string(endpoint.method) + " " + matched.pattern +
                                   " needs a token: send 'Authorization: Bearer TOKEN'");
  }
  Result<TokenRecord> token = Authenticate(store, header);
  if (!token.ok()) return token.status();
  if (!RoleAllows(token->role, endpoint.need)) {
    return Status::PermissionDenied(std::string(endpoint.method) + " " + matched.pattern +
                                    " needs the " + std::string(RoleName(endpoint.need)) +
                                    " role; token " + token->id + " has the " +
                                    std::string(RoleName(token->role)) + " role");
  }
  return token;
}

void WriteToken(JsonWriter& w, const TokenRecord& token) {
  w.StartObject();
  w.Key("id");
  WriteString(w, token.id);
  w.Key("name");
  WriteString(w, token.name);
  w.Key("role");
  WriteString(w, RoleName(token.role));
  w.Key("created_at");
  WriteTime(w, token.created_at);
  w.Key("created_by");
  WriteString(w, token.created_by);
  w.Key("revoked");
  w.Bool(token.revoked);
  w.Key("revoked_at");
  WriteTime(w, token.revoked_at);
  w.EndObject();
}

}  // namespace

Api::Api(HubStore& store, Fleet& fleet, ApiLimits limits, ApiServices services)
    : store_(store), fleet_(fleet), limits_(limits), services_(services) {}

bool Api::Serves(std::string_view path) {
  return path.substr(0, kPrefix.size()) == kPrefix && path != kAgentPath;
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const auto [path, query] = SplitTarget(request.target);
  Result<std::optional<Matched>> matched = Match(path);
  if (!matched.ok()) return StatusResponse(matched.status());
  if (!*matched) {
    return ErrorResponse(404, "not_found",
                         "no route for " + Shown(request.method) + " " + Shown(request.target));
  }
  const Matched& route = **matched;
  std::string_view method = request.method;
  if (method == "HEAD") method = "GET";
  const auto endpoint =
      std::find_if(std::begin(kEndpoints), std::end(kEndpoints),
                   [&](const Endpoint& e) { return e.route == route.route && e.method == method; });
  if (endpoint == std::end(kEndpoints)) return MethodNotAllowed(request, route);
  Result<TokenRecord> caller = Authorize(store_, request, *endpoint, route);
  if (!caller.ok()) {
    if (caller.status().code() == StatusCode::kUnauthenticated) ++refused_unauthenticated_;
    if (caller.status().code() == StatusCode::kPermissionDenied) ++refused_forbidden_;
    return StatusResponse(caller.status());
  }

  // Only these routes take query parameters.
  const bool takes_query = route.route == Route::kAudit || route.route == Route::kQueries ||
                           route.route == Route::kQuery || route.route == Route::kConfigDiff ||
                           route.route == Route::kReport || route.route == Route::kTasks;
  if (!takes_query && !query.empty()) {
    auto params = internal::ParseQuery(query, {});
    if (!params.ok()) return StatusResponse(params.status());
  }
  switch (route.route) {
    case Route::kNodes:
      return ListNodes();
    case Route::kNode:
      return RemoveNode(*caller, route.id);
    case Route::kQueries:
      return method == "POST" ? StartQuery(*caller, request) : ListQueries(query);
    case Route::kQuery:
      return QueryResults(route.id, query);
    case Route::kQueryStream:
      return ErrorResponse(400, "malformed",
                           "GET " + route.pattern + " takes a WebSocket upgrade request");
    case Route::kTokens:
      return method == "POST" ? CreateToken(*caller, request) : ListTokens();
    case Route::kToken:
      return RevokeToken(*caller, route.id);
    case Route::kAudit:
      return AuditRecords(query);
    case Route::kAuditVerify:
      return AuditVerify();
    case Route::kConfig:
      return PublishConfig(*caller, request);
    case Route::kConfigHistory:
      return ConfigHistory();
    case Route::kConfigDiff:
      return ConfigDiff(query);
    case Route::kConfigRollback:
      return RollbackConfig(*caller, request);
    case Route::kConfigVersion:
      return ConfigVersion(route.id);
    case Route::kReport:
      return Report(query);
    case Route::kRemediations:
      return StartRemediation(*caller, request);
    case Route::kTasks:
      return method == "POST" ? StartTask(*caller, request) : ListTasks(query);
    case Route::kTask:
      return GetTask(route.id);
  }
  return ErrorResponse(500, "internal", "unrouted " + route.pattern);
}

WebSocketUpgrade Api::Upgrade(const HttpRequest& request) {
  WebSocketUpgrade upgrade;
  const auto [path, query] = SplitTarget(request.target);
  Result<std::optional<Matched>> matched = Match(path);
  if (!matched.ok()) {
    upgrade.refusal = StatusResponse(matched.status());
    return upgrade;
  }
  if (!*matched || (*matched)->route != Route::kQueryStream) {
    upgrade.refusal = ErrorResponse(
        404, "not_found",
        "no WebSocket at " + Shown(path) + "; GET /api/v1/queries/{id}/stream is one");
    return upgrade;
  }
  const Matched& route = **matched;
  const Endpoint stream{Route::kQueryStream, "GET", Role::kAnalyst};
  if (request.method != "GET") {
    upgrade.refusal = MethodNotAllowed(request, route);
    return upgrade;
  }
  Result<TokenRecord> caller = Authorize(store_, request, stream, route);
  if (!caller.ok()) {
    if (caller.status().code() == StatusCode::kUnauthenticated) ++refused_unauthenticated_;
    if (caller.status().code() == StatusCode::kPermissionDenied) ++refused_forbidden_;
    upgrade.refusal = StatusResponse(caller.status());
    return upgrade;
  }
  if (!query.empty()) {
    auto params = internal::ParseQuery(query, {});
    if (!params.ok()) {
      upgrade.refusal = StatusResponse(params.status());
      return upgrade;
    }
  }
  Result<std::optional<CampaignRecord>> campaign = store_.GetCampaign(route.id);
  if (!campaign.ok()) {
    upgrade.refusal = StatusResponse(campaign.status());
    return upgrade;
  }
  if (!*campaign) {
    upgrade.refusal = ErrorResponse(404, "not_found", "no campaign '" + Shown(route.id) + "'");
    return upgrade;
  }
  ++streams_opened_;
  upgrade.kind = WebSocketUpgrade::Kind::kPeer;
  upgrade.peer_session = internal::CampaignStreamFactory(fleet_, route.id);
  return upgrade;
}

std::string Api::Prometheus() const {
  std::string out;
  out +=
      "# HELP vigil_hub_campaign_streams_total Campaign streams (WebSockets) opened.\n"
      "# TYPE vigil_hub_campaign_streams_total counter\n"
      "vigil_hub_campaign_streams_total " +
      std::to_string(streams_opened_.load()) + "\n";
  out +=
      "# HELP vigil_hub_api_refused_total People's API requests refused for their token.\n"
      "# TYPE vigil_hub_api_refused_total counter\n"
      "vigil_hub_api_refused_total{reason=\"unauthenticated\"} " +
      std::to_string(refused_unauthenticated_.load()) +
      "\n"
      "vigil_hub_api_refused_total{reason=\"forbidden\"} " +
      std::to_string(refused_forbidden_.load()) + "\n";
  return out;
}

Status Api::Audit(const TokenRecord& caller, std::string_view action, std::string_view subject,
                  std::string_view detail_json) {
  Result<audit::Record> record = store_.audit().Append(caller.id, action, subject, detail_json);
  if (!record.ok()) {
    return record.status().WithContext("recording " + std::string(action) + " " +
                                       std::string(subject) + " in the audit chain");
  }
  return Status::Ok();
}

HttpResponse Api::ListNodes() {
  Result<std::vector<NodeRecord>> nodes = store_.ListNodes();
  if (!nodes.ok()) return StatusResponse(nodes.status());
  const std::vector<std::string> online = fleet_.OnlineNodes();  // sorted
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const NodeRecord& node : *nodes) {
    w.StartObject();
    w.Key("host_identifier");
    WriteString(w, node.host_identifier);
    w.Key("hostname");
    WriteString(w, node.hostname);
    w.Key("os");
    WriteString(w, node.os);
    w.Key("vigil_version");
    WriteString(w, node.vigil_version);
    w.Key("roles");
    internal::WriteStrings(w, node.roles);
    w.Key("online");
    w.Bool(std::binary_search(online.begin(), online.end(), node.host_identifier));
    w.Key("last_seen");
    WriteTime(w, node.last_seen);
    w.Key("config_version");
    w.Uint64(node.config_version);
    w.Key("config_error");
    WriteString(w, node.config_error);
    w.Key("enrolled_at");
    WriteTime(w, node.enrolled_at);
    w.EndObject();
  }
  w.EndArray();
  return JsonResponse(200, buffer);
}

HttpResponse Api::RemoveNode(const TokenRecord& caller, const std::string& id) {
  Result<std::optional<NodeRecord>> node = store_.GetNode(id);
  if (!node.ok()) return StatusResponse(node.status());
  if (!*node) return ErrorResponse(404, "not_found", "no node '" + Shown(id) + "'");
  if (Status removed = fleet_.RemoveNode(id); !removed.ok()) {
    if (removed.code() == StatusCode::kNotFound) {
      return ErrorResponse(404, "not_found", "no node '" + Shown(id) + "'");
    }
    return StatusResponse(removed);
  }
  rapidjson::StringBuffer detail;
  {
    JsonWriter w(detail);
    w.StartObject();
    w.Key("hostname");
    WriteString(w, (*node)->hostname);
    w.EndObject();
  }
  if (Status s = Audit(caller, "node.remove", id, detail.GetString()); !s.ok()) {
    return StatusResponse(s);
  }
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("host_identifier");
  WriteString(w, id);
  w.Key("removed");
  w.Bool(true);
  w.EndObject();
  return JsonResponse(200, buffer);
}

HttpResponse Api::CreateToken(const TokenRecord& caller, const HttpRequest& request) {
  constexpr std::string_view kWhat = "POST /api/v1/tokens";
  rapidjson::Document doc;
  if (Status s = internal::ParseBody(request, kWhat, doc); !s.ok()) return StatusResponse(s);
  if (Status s = internal::CheckFields(doc, {"role", "name"}, kWhat); !s.ok()) {
    return StatusResponse(s);
  }
  if (!doc.HasMember("role") || !doc["role"].IsString()) {
    return ErrorResponse(
        400, "malformed",
        std::string(kWhat) + ": field 'role' must be a string: viewer, analyst, operator or admin");
  }
  std::string_view role_name(doc["role"].GetString(), doc["role"].GetStringLength());
  std::optional<Role> role = ParseRole(role_name);
  if (!role) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) + ": field 'role': unknown role '" + Shown(role_name) +
                             "' (roles: viewer, analyst, operator, admin)");
  }
  if (!doc.HasMember("name") || !doc["name"].IsString() || doc["name"].GetStringLength() == 0) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) +
                             ": field 'name' must be a non-empty string saying who or what the "
                             "token is for");
  }
  std::string_view name(doc["name"].GetString(), doc["name"].GetStringLength());
  if (name.size() > limits_.max_name_bytes) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) + ": field 'name' is longer than " +
                             std::to_string(limits_.max_name_bytes) + " bytes");
  }
  Result<NewToken> made = server::CreateToken(store_, *role, name, caller.id);
  if (!made.ok()) return StatusResponse(made.status());

  rapidjson::StringBuffer detail;
  {
    JsonWriter w(detail);
    w.StartObject();
    w.Key("role");
    WriteString(w, RoleName(*role));
    w.Key("name");
    WriteString(w, name);
    w.EndObject();
  }
  if (Status s = Audit(caller, "token.create", made->record.id, detail.GetString()); !s.ok()) {
    return StatusResponse(s);
  }
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("id");
  WriteString(w, made->record.id);
  w.Key("token");
  WriteString(w, made->secret);
  w.Key("role");
  WriteString(w, RoleName(made->record.role));
  w.Key("name");
  WriteString(w, made->record.name);
  w.EndObject();
  return JsonResponse(201, buffer);
}

HttpResponse Api::ListTokens() {
  Result<std::vector<TokenRecord>> tokens = store_.ListTokens();
  if (!tokens.ok()) return StatusResponse(tokens.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const TokenRecord& token : *tokens) WriteToken(w, token);
  w.EndArray();
  return JsonResponse(200, buffer);
}

HttpResponse Api::RevokeToken(const TokenRecord& caller, const std::string& id) {
  Status revoked = server::RevokeToken(store_, id);
  if (revoked.code() == StatusCode::kNotFound) {
    return ErrorResponse(404, "not_found", "no token '" + Shown(id) + "'");
  }
  if (!revoked.ok()) return StatusResponse(revoked);
  if (Status s = Audit(caller, "token.revoke", id, "{}"); !s.ok()) return StatusResponse(s);
  Result<std::optional<TokenRecord>> token = store_.GetToken(id);
  if (!token.ok()) return StatusResponse(token.status());
  if (!*token) return ErrorResponse(404, "not_found", "no token '" + Shown(id) + "'");
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  WriteToken(w, **token);
  return JsonResponse(200, buffer);
}

HttpResponse Api::AuditRecords(std::string_view query) {
  auto params = internal::ParseQuery(query, {"after", "limit"});
  if (!params.ok()) return StatusResponse(params.status());
  uint64_t after = 0;
  uint64_t limit = limits_.default_audit_records;
  for (const auto& [name, value] : *params) {
    auto number = name == "after"
                      ? internal::ParseNumber(value, "after", 0, UINT64_MAX)
                      : internal::ParseNumber(value, "limit", 1, limits_.max_audit_records);
    if (!number.ok()) return StatusResponse(number.status());
    (name == "after" ? after : limit) = *number;
  }
  std::string body = "[";
  size_t count = 0;
  Status failed;
  Status read = store_.audit().Read(after, [&](const audit::Record& record) {
    Result<std::string> stored = audit::SerializeRecord(record);
    if (!stored.ok()) {
      failed = stored.status();
      return false;
    }
    if (count++ > 0) body += ",";
    body += *stored;
    return count < limit;
  });
  if (!read.ok()) return StatusResponse(read);
  if (!failed.ok()) return StatusResponse(failed);
  body += "]";
  HttpResponse response;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

HttpResponse Api::AuditVerify() {
  Result<audit::Verification> verification = store_.audit().Verify();
  if (!verification.ok()) return StatusResponse(verification.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("intact");
  w.Bool(verification->intact());
  w.Key("records");
  w.Uint64(verification->records);
  w.Key("head");
  w.StartObject();
  w.Key("seq");
  w.Uint64(verification->head.seq);
  w.Key("hash");
  WriteString(w, verification->head.hash);
  w.EndObject();
  w.Key("broken_at");
  if (verification->broken_at) {
    w.Uint64(*verification->broken_at);
  } else {
    w.Null();
  }
  w.Key("problem");
  if (verification->intact()) {
    w.Null();
  } else {
    WriteString(w, "audit chain broken at record " + std::to_string(*verification->broken_at) +
                       ": " + verification->problem);
  }
  w.EndObject();
  return JsonResponse(200, buffer);
}

}  // namespace vigil::server
