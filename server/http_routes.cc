#include "server/http_routes.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "server/api.h"
#include "server/hub_store.h"

namespace vigil::server {
namespace {

// A request target for a message, shortened: it comes from the network.
std::string Shown(std::string_view target) {
  constexpr size_t kMax = 200;
  if (target.size() <= kMax) return std::string(target);
  return std::string(target.substr(0, kMax)) + "...";
}

std::string_view PathOf(const HttpRequest& request) {
  std::string_view path = request.target;
  return path.substr(0, path.find('?'));
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = ErrorBody(code, message);
  return response;
}

HttpResponse HttpRouter::Handle(const HttpRequest& request) const {
  const std::string_view path = PathOf(request);
  const bool get = request.method == "GET" || request.method == "HEAD";

  if (path == "/healthz" || path == "/metrics" || path == kAgentPath) {
    if (!get) {
      return ErrorResponse(
          405, "method_not_allowed",
          request.method + " is not allowed on " + std::string(path) + "; use GET");
    }
  }
  if (path == "/healthz") {
    HttpResponse response;
    response.body = "ok";
    return response;
  }
  if (path == "/metrics") {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics_.Prometheus();
    if (store_) {
      response.body +=
          "# HELP vigil_hub_store_bytes Approximate bytes of the hub's store on disk.\n"
          "# TYPE vigil_hub_store_bytes gauge\n"
          "vigil_hub_store_bytes " +
          std::to_string(store_->ApproximateBytes()) + "\n";
    }
    if (fleet_metrics_) response.body += fleet_metrics_->Prometheus();
    if (api_) response.body += api_->Prometheus();
    return response;
  }
  if (path == kAgentPath) {
    return ErrorResponse(400, "malformed",
                         std::string(kAgentPath) + " takes a WebSocket upgrade request");
  }
  if (api_ && Api::Serves(path)) return api_->Handle(request);
  return ErrorResponse(404, "not_found",
                       "no route for " + request.method + " " + Shown(request.target));
}

WebSocketUpgrade HttpRouter::Upgrade(const HttpRequest& request) const {
  const std::string_view path = PathOf(request);
  if (path == kAgentPath) {
    WebSocketUpgrade upgrade;
    upgrade.kind = WebSocketUpgrade::Kind::kAgent;
    return upgrade;
  }
  if (api_ && Api::Serves(path)) return api_->Upgrade(request);
  WebSocketUpgrade refused;
  refused.refusal = ErrorResponse(404, "not_found", "no WebSocket at " + Shown(path));
  return refused;
}

}  // namespace vigil::server
