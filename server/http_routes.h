// The hub's plain HTTP routes, kept apart from the transport so they can grow (the people's API
// comes next) without recompiling Beast. PROTOCOL.md fixes the error body:
// {"error": {"code": "...", "message": "..."}}.
#pragma once

#include <string>
#include <string_view>

#include "server/metrics.h"

namespace vigil::server {

// The path where agents open their WebSocket.
inline constexpr std::string_view kAgentPath = "/api/v1/agent";

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // "/metrics?x=1"
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// {"error":{"code":CODE,"message":MESSAGE}}
std::string ErrorBody(std::string_view code, std::string_view message);
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

// Thread-safe: Handle() only reads the metrics.
class HttpRouter {
 public:
  explicit HttpRouter(const HubMetrics& metrics) : metrics_(metrics) {}

  // GET /healthz, GET /metrics; 404 for an unknown path, 405 for a known path with another
  // method, 400 for GET /api/v1/agent without a WebSocket upgrade (the transport takes those).
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  const HubMetrics& metrics_;
};

}  // namespace vigil::server
