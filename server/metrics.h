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

}  // namespace vigil::server
