// The hub's counters, exported as Prometheus text on GET /metrics.
// Thread-safe: every member is an atomic, updated by the network threads without a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace vigil::server {

struct HubMetrics {
  std::atomic<int64_t> connected_agents{0};       // open agent WebSockets
  std::atomic<uint64_t> http_requests{0};         // HTTP requests read, upgrades included
  std::atomic<uint64_t> ws_messages_received{0};  // agent frames read
  std::atomic<uint64_t> ws_messages_sent{0};      // agent frames written
  std::atomic<uint64_t> bytes_received{0};        // HTTP bodies and WebSocket payloads
  std::atomic<uint64_t> bytes_sent{0};            // WebSocket payloads
  std::atomic<uint64_t> dropped_slow{0};          // agents dropped: their send queue was full
  std::atomic<uint64_t> dropped_too_large{0};     // agents closed (1009): an oversized frame
  // HTTP error responses, failed TLS or WebSocket handshakes, connections dropped by a limit.
  std::atomic<uint64_t> errors{0};

  // The Prometheus text exposition (version 0.0.4) of every counter.
  std::string Prometheus() const;
};

// The fleet service's counters (server/fleet_service.h), appended to /metrics after HubMetrics.
struct FleetMetrics {
  std::atomic<int64_t> online_nodes{0};          // authenticated agent connections
  std::atomic<uint64_t> nodes_enrolled{0};       // enrollments accepted by this process
  std::atomic<uint64_t> auth_failures{0};        // hellos refused: secret, key, already enrolled
  std::atomic<uint64_t> campaigns_started{0};
  std::atomic<uint64_t> queries_sent{0};         // `query` messages handed to an agent
  std::atomic<uint64_t> answers_stored{0};       // first answers of a node to a campaign
  std::atomic<uint64_t> answers_ignored{0};      // late, duplicate, or from a node not asked
  std::atomic<uint64_t> evidence_items_stored{0};
  std::atomic<uint64_t> configs_sent{0};         // `config` messages handed to an agent
  std::atomic<uint64_t> configs_refused{0};      // agents' `config_refused` errors
  std::atomic<uint64_t> rate_limited{0};         // agent messages refused: over the rate limit
  std::atomic<uint64_t> malformed_messages{0};   // agent messages the codec refused
  std::atomic<uint64_t> store_errors{0};         // store calls that failed for an agent message

  std::string Prometheus() const;
};

}  // namespace vigil::server
