// The people's API of the hub (PROTOCOL.md, "People's API"): nodes, live-query campaigns and
// their stored answers, tokens and the hub's audit chain, over the HubStore and the Fleet.
//
//   Api api(store, fleet);
//   HttpRouter router(metrics, &api, &store);   // the router hands it every /api/v1/ path but
//                                               // the agents' WebSocket
//
// Every request needs `Authorization: Bearer TOKEN`: 401 `unauthenticated` when the token is
// absent, unknown or revoked (with `WWW-Authenticate: Bearer`), 403 `forbidden` naming the role
// the route needs. Route, then method, then token, then role, then the body is checked, so a
// person learns nothing from a request they may not make but the public route table. Every
// action by a person (a query started, a token made or revoked, a node removed) is appended to
// the hub's audit chain with the token id as actor, the action, and what it was done to.
//
// Bodies are JSON objects; an unknown field, a missing one or one of the wrong type is 400
// `malformed` naming it. Errors use PROTOCOL.md's body: {"error": {"code", "message"}}.
//
// Thread safety: Handle() and Upgrade() may run on any thread at once (HubStore and Fleet are
// thread-safe, the counters are atomic). The store and fleet are borrowed and outlive the Api
// and every stream it opened.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/fleet.h"
#include "server/http_routes.h"
#include "server/hub_store.h"

namespace vigil::server {

class ConfigService;
class TaskService;

// What the API serves beyond nodes, campaigns, tokens and the audit chain; each is borrowed
// and may be null (its routes then answer 503 `unavailable`).
struct ApiServices {
  ConfigService* config = nullptr;  // published fleet config (api_config.cc)
  TaskService* tasks = nullptr;     // remediation and tasks (api_tasks.cc)
};

// Bounds on what one request may ask for.
struct ApiLimits {
  size_t max_sql_bytes = 64u << 10;
  size_t max_name_bytes = 200;          // a token's name
  size_t max_target_bytes = 16u << 10;  // a campaign's target
  uint64_t max_timeout_ms = 3'600'000;  // a node's statement time limit
  uint64_t max_deadline_s = 86'400;     // how long a campaign takes answers
  uint64_t max_wait_s = 7 * 86'400;     // how long offline nodes are waited for
  size_t default_campaigns_listed = 50;
  size_t max_campaigns_listed = 1000;
  size_t default_audit_records = 1000;
  size_t max_audit_records = 10'000;
};

class Api {
 public:
  Api(HubStore& store, Fleet& fleet, ApiLimits limits = {}, ApiServices services = {});
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Whether `path` (without its query) is the API's: under /api/v1/, the agents' path aside.
  static bool Serves(std::string_view path);

  HttpResponse Handle(const HttpRequest& request);

  // GET /api/v1/queries/{id}/stream upgrades (for an analyst, to a known campaign) to a
  // WebSocket sending {"type":"result",...}, {"type":"error",...} and {"type":"totals",...}
  // frames as answers arrive, {"type":"done"} at the end, then a normal close (1000). Anything
  // else is refused over HTTP before the handshake.
  WebSocketUpgrade Upgrade(const HttpRequest& request);

  // The API's own lines for /metrics (Prometheus text).
  std::string Prometheus() const;

 private:
  HttpResponse ListNodes();
  HttpResponse RemoveNode(const TokenRecord& caller, const std::string& id);
  HttpResponse StartQuery(const TokenRecord& caller, const HttpRequest& request);
  HttpResponse ListQueries(std::string_view query);
  HttpResponse QueryResults(const std::string& id, std::string_view query);
  HttpResponse CreateToken(const TokenRecord& caller, const HttpRequest& request);
  HttpResponse ListTokens();
  HttpResponse RevokeToken(const TokenRecord& caller, const std::string& id);
  HttpResponse AuditRecords(std::string_view query);
  HttpResponse AuditVerify();
  // api_config.cc
  HttpResponse PublishConfig(const TokenRecord& caller, const HttpRequest& request);
  HttpResponse ConfigHistory();
  HttpResponse ConfigDiff(std::string_view query);
  HttpResponse RollbackConfig(const TokenRecord& caller, const HttpRequest& request);
  HttpResponse ConfigVersion(const std::string& version);
  // api_reports.cc
  HttpResponse Report(std::string_view query);
  // api_tasks.cc
  HttpResponse StartRemediation(const TokenRecord& caller, const HttpRequest& request);
  HttpResponse StartTask(const TokenRecord& caller, const HttpRequest& request);
  HttpResponse ListTasks(std::string_view query);
  HttpResponse GetTask(const std::string& id);

  // Appends the caller's action to the audit chain; the error names the action.
  Status Audit(const TokenRecord& caller, std::string_view action, std::string_view subject,
               std::string_view detail_json);

  HubStore& store_;
  Fleet& fleet_;
  const ApiLimits limits_;
  const ApiServices services_;
  std::atomic<uint64_t> streams_opened_{0};
  std::atomic<uint64_t> refused_unauthenticated_{0};
  std::atomic<uint64_t> refused_forbidden_{0};
};

}  // namespace vigil::server
