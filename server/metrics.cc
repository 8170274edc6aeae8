#include "server/metrics.h"

#include <string_view>

namespace vigil::server {
namespace {

void Metric(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <typename T>
void Sample(std::string& out, std::string_view name, std::string_view labels,
            const std::atomic<T>& value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value.load(std::memory_order_relaxed))).append("\n");
}

}  // namespace

std::string HubMetrics::Prometheus() const {
  std::string out;
  Metric(out, "vigil_hub_connected_agents", "gauge", "Agent WebSocket connections now open.");
  Sample(out, "vigil_hub_connected_agents", "", connected_agents);
  Metric(out, "vigil_hub_http_requests_total", "counter", "HTTP requests read.");
  Sample(out, "vigil_hub_http_requests_total", "", http_requests);
  Metric(out, "vigil_hub_ws_messages_total", "counter", "Agent WebSocket messages.");
  Sample(out, "vigil_hub_ws_messages_total", "direction=\"received\"", ws_messages_received);
  Sample(out, "vigil_hub_ws_messages_total", "direction=\"sent\"", ws_messages_sent);
  Metric(out, "vigil_hub_bytes_received_total", "counter",
         "Bytes of HTTP bodies and WebSocket messages received.");
  Sample(out, "vigil_hub_bytes_received_total", "", bytes_received);
  Metric(out, "vigil_hub_bytes_sent_total", "counter", "Bytes of WebSocket messages sent.");
  Sample(out, "vigil_hub_bytes_sent_total", "", bytes_sent);
  Metric(
      out, "vigil_hub_errors_total", "counter",
      "HTTP error responses, failed TLS or WebSocket handshakes, connections dropped by a limit.");
  Sample(out, "vigil_hub_errors_total", "", errors);
  Metric(out, "vigil_hub_agents_dropped_total", "counter",
         "Agent connections the hub closed because of a limit.");
  Sample(out, "vigil_hub_agents_dropped_total", "reason=\"slow_consumer\"", dropped_slow);
  Sample(out, "vigil_hub_agents_dropped_total", "reason=\"frame_too_large\"", dropped_too_large);
  return out;
}

std::string FleetMetrics::Prometheus() const {
  std::string out;
  Metric(out, "vigil_hub_online_nodes", "gauge", "Agents connected and authenticated now.");
  Sample(out, "vigil_hub_online_nodes", "", online_nodes);
  Metric(out, "vigil_hub_nodes_enrolled_total", "counter", "Nodes enrolled.");
  Sample(out, "vigil_hub_nodes_enrolled_total", "", nodes_enrolled);
  Metric(out, "vigil_hub_auth_failures_total", "counter",
         "Agent hellos refused: a wrong enroll secret, an unknown key, an enrolled host.");
  Sample(out, "vigil_hub_auth_failures_total", "", auth_failures);
  Metric(out, "vigil_hub_campaigns_started_total", "counter", "Live-query campaigns started.");
  Sample(out, "vigil_hub_campaigns_started_total", "", campaigns_started);
  Metric(out, "vigil_hub_queries_sent_total", "counter", "Live queries handed to agents.");
  Sample(out, "vigil_hub_queries_sent_total", "", queries_sent);
  Metric(out, "vigil_hub_answers_total", "counter", "Live-query answers from agents.");
  Sample(out, "vigil_hub_answers_total", "outcome=\"stored\"", answers_stored);
  Sample(out, "vigil_hub_answers_total", "outcome=\"ignored\"", answers_ignored);
  Metric(out, "vigil_hub_evidence_items_total", "counter", "Evidence items stored.");
  Sample(out, "vigil_hub_evidence_items_total", "", evidence_items_stored);
  Metric(out, "vigil_hub_configs_sent_total", "counter", "Config messages sent to agents.");
  Sample(out, "vigil_hub_configs_sent_total", "", configs_sent);
  Metric(out, "vigil_hub_configs_refused_total", "counter",
         "Config messages agents refused (unsigned, mis-signed or older than theirs).");
  Sample(out, "vigil_hub_configs_refused_total", "", configs_refused);
  Metric(out, "vigil_hub_agent_messages_refused_total", "counter",
         "Agent messages not processed.");
  Sample(out, "vigil_hub_agent_messages_refused_total", "reason=\"rate_limited\"", rate_limited);
  Sample(out, "vigil_hub_agent_messages_refused_total", "reason=\"malformed\"",
         malformed_messages);
  Metric(out, "vigil_hub_store_errors_total", "counter",
         "Store calls that failed while handling an agent message.");
  Sample(out, "vigil_hub_store_errors_total", "", store_errors);
  return out;
}

}  // namespace vigil::server
