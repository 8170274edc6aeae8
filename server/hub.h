// vigil-hub's network front: HTTP and the agents' WebSocket on one port, TLS by default.
//
//   HubOptions options;
//   options.state_dir = "/var/lib/vigil-hub";
//   Hub hub(std::move(options));
//   VIGIL_RETURN_IF_ERROR(hub.Start());   // listening when this returns
//   ... hub.port(), hub.tls_fingerprint() ...
//   hub.Stop();
//
// Routes: GET /healthz, GET /metrics, GET /api/v1/agent (WebSocket; each text frame goes to the
// AgentSession made by options.agent_sessions), and the people's API (server/api.h) under
// /api/v1/ when options.store and options.fleet are given. The network runs on options.threads
// threads; each connection is served on its own strand. Boost and OpenSSL stay inside
// server/*.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "engine/status.h"
#include "server/agent_session.h"
#include "server/api.h"
#include "server/metrics.h"

namespace vigil::server {
class Fleet;
class HttpRouter;
class HubStore;
namespace internal {
class Transport;
}  // namespace internal

// Bounds on every input and on what the hub holds per connection.
struct HubLimits {
  size_t max_frame_bytes = 4u << 20;    // an agent message; larger closes it with 1009
  size_t max_body_bytes = 1u << 20;     // an HTTP request body; larger gets 413
  size_t max_header_bytes = 16u << 10;  // an HTTP request head; larger gets 431
  size_t max_send_queue = 1024;         // frames queued to one agent; more drops it
  // Frames queued to one campaign stream; more drops it. Larger than an agent's: a campaign of
  // N nodes replays or sends up to 2N frames (each answer and the totals after it) at once.
  size_t max_stream_queue = 64u << 10;
  std::chrono::seconds http_timeout{30};       // to read a request or write a response, and idle
  std::chrono::seconds handshake_timeout{10};  // TLS and WebSocket handshakes
  std::chrono::seconds ping_interval{20};      // an agent silent this long gets a ping, and is
                                               // dropped when still silent after as long again
};

struct HubOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 address literal
  uint16_t port = 0;                  // 0: the system picks one (see Hub::port())
  std::string state_dir;              // the hub's own directory (tls/ lives there)
  bool insecure = false;              // plain TCP; refused unless `address` is loopback
  std::string tls_cert;               // both or neither; neither: a self-signed certificate
  std::string tls_key;                // in STATE_DIR/tls, made on first start and reused
  int threads = 2;                    // network threads
  HubLimits limits;
  // Makes the session of each agent connection; empty: UnhandledMessages() (agent_errors.h).
  AgentSessionFactory agent_sessions;
  // Borrowed, and must outlive the hub. With both, the people's API is served (and /metrics
  // tells the store's size); without, every /api/v1/ path but the agents' is 404.
  HubStore* store = nullptr;
  Fleet* fleet = nullptr;
  const FleetMetrics* fleet_metrics = nullptr;  // borrowed; added to /metrics when given
  ApiLimits api_limits;
  ApiServices api_services;  // config and tasks, borrowed; null ones answer 503
};

// Creates `dir` and its parents (0700) when absent; FailedPrecondition when it is not a
// directory. Errors name the directory.
Status MakeStateDirectory(const std::string& dir);

// "ADDR:PORT", "[V6ADDR]:PORT" -> (address, port). The address must be an IP literal.
Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view text);
// 127.0.0.0/8, ::1, and ::ffff:127.x.y.z.
bool IsLoopbackAddress(std::string_view address);

// Start() and Stop() are called from one thread (the owner's); port(), tls_*() and metrics()
// may be read from any thread after Start() returned.
class Hub {
 public:
  explicit Hub(HubOptions options);
  ~Hub();  // Stop()s
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Checks the options, prepares the TLS identity and listens. Errors name the address, file or
  // directory at fault: --insecure off loopback, a port in use, an unreadable key.
  Status Start();
  // Stops accepting, closes every connection (agents get close 1001 "going away"), and joins
  // the network threads. Idempotent.
  void Stop();

  uint16_t port() const;
  bool tls() const { return !options_.insecure; }
  // SHA-256 of the served certificate's DER, "AB:CD:..."; empty when insecure.
  const std::string& tls_fingerprint() const { return fingerprint_; }
  const std::string& tls_cert_file() const { return cert_file_; }
  bool tls_cert_generated() const { return cert_generated_; }
  // "https://127.0.0.1:8443" (or http:// when insecure; [v6] in brackets).
  std::string url() const;
  const HubMetrics& metrics() const { return metrics_; }

 private:
  const HubOptions options_;
  HubMetrics metrics_;
  std::string fingerprint_;
  std::string cert_file_;
  bool cert_generated_ = false;
  std::unique_ptr<Api> api_;            // outlives router_, which borrows it
  std::unique_ptr<HttpRouter> router_;  // outlives transport_, which borrows it
  std::unique_ptr<internal::Transport> transport_;
};

}  // namespace vigil::server
