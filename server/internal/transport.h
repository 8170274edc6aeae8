// The hub's network transport (listener, HTTP sessions, agent WebSockets) behind a Boost-free
// interface: Hub holds one, and only server/internal/*.cc include Beast.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/status.h"
#include "server/agent_session.h"
#include "server/http_routes.h"
#include "server/hub.h"
#include "server/metrics.h"

namespace vigil::server::internal {

struct TransportConfig {
  std::string address;
  uint16_t port = 0;
  bool tls = true;
  std::string cert_file;  // when tls
  std::string key_file;
  int threads = 2;
  HubLimits limits;
  AgentSessionFactory agent_sessions;
  // Borrowed: both outlive the transport.
  HubMetrics* metrics = nullptr;
  const HttpRouter* router = nullptr;
};

// Listening from a successful StartTransport() until Stop() or destruction.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting, closes every connection and joins the network threads. Idempotent.
  virtual void Stop() = 0;
};

// Loads the TLS files, binds, listens and starts the network threads. Errors name the address
// ("listen on 127.0.0.1:8443: Address already in use") or the file.
Result<std::unique_ptr<Transport>> StartTransport(TransportConfig config);

}  // namespace vigil::server::internal
