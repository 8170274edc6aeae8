// The hub's HTTP routes, kept apart from the transport so they can grow without recompiling
// Beast: /healthz, /metrics, the agents' WebSocket, and the people's API (server/api.h) when the
// hub has one. PROTOCOL.md fixes the error body: {"error": {"code": "...", "message": "..."}}.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/agent_session.h"
#include "server/metrics.h"

namespace vigil::server {

class Api;
class HubStore;
struct FleetMetrics;

// The path where agents open their WebSocket.
inline constexpr std::string_view kAgentPath = "/api/v1/agent";

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // "/metrics?x=1"
  // Field names in lower case, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of the field `lower_name` ("authorization"), or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::string body;
};

// {"error":{"code":CODE,"message":MESSAGE}}
std::string ErrorBody(std::string_view code, std::string_view message);
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

// The sending side of a WebSocket a person opened (the campaign stream). Thread-safe, like
// AgentChannel, whose bounded queue it shares: a client that does not read is dropped.
class PeerChannel : public AgentChannel {
 public:
  // Closes with 1000 (normal closure) once every frame sent before this call is written;
  // Send() returns false from now on.
  virtual void CloseNormally(std::string_view reason) = 0;
};

// The receiving side of a person's WebSocket has the same contract as an agent's session.
using PeerSession = AgentSession;
using PeerSessionFactory =
    std::function<std::unique_ptr<PeerSession>(std::shared_ptr<PeerChannel> channel)>;

// What to do with a request asking for a WebSocket upgrade, decided before the handshake.
struct WebSocketUpgrade {
  enum class Kind {
    kRefused,  // answer `refusal` (401, 403, 404, ...) over HTTP and do not upgrade
    kAgent,    // the agents' WebSocket (the transport's AgentSessionFactory)
    kPeer,     // a person's WebSocket: `peer_session` makes its session
  };
  Kind kind = Kind::kRefused;
  HttpResponse refusal;
  PeerSessionFactory peer_session;
};

// Thread-safe: Handle() and Upgrade() may run on any network thread at once. The metrics, the
// API and the store are borrowed and outlive the router.
class HttpRouter {
 public:
  // `api` may be null: every /api/v1/ path but the agents' is then 404. `store` and
  // `fleet_metrics` (each may be null) add the store's size and the fleet's counters to
  // /metrics.
  explicit HttpRouter(const HubMetrics& metrics, Api* api = nullptr,
                      const HubStore* store = nullptr, const FleetMetrics* fleet_metrics = nullptr)
      : metrics_(metrics), api_(api), store_(store), fleet_metrics_(fleet_metrics) {}

  // GET /healthz, GET /metrics, the people's API; 404 for an unknown path, 405 for a known path
  // with another method, 400 for GET /api/v1/agent without a WebSocket upgrade.
  HttpResponse Handle(const HttpRequest& request) const;

  // A request with `Upgrade: websocket`: the agents' path, a path of the API, or 404.
  WebSocketUpgrade Upgrade(const HttpRequest& request) const;

 private:
  const HubMetrics& metrics_;
  Api* const api_;
  const HubStore* const store_;
  const FleetMetrics* const fleet_metrics_;
};

}  // namespace vigil::server
