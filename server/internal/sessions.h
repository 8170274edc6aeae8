// What the transport's two Beast files share: the state every session sees, and the hand-over
// of an upgraded HTTP connection to a WebSocket session. Includes Beast: include it only from
// server/internal/transport.cc and server/internal/agent_websocket.cc.
#pragma once

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/internal/tls_stream.h"
#include "server/internal/transport.h"

namespace vigil::server::internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using PlainStream = beast::tcp_stream;
using UpgradeRequest = http::request<http::string_body>;

// A live connection the hub closes when it stops. Shutdown() may be called from any thread.
class Stoppable {
 public:
  virtual ~Stoppable() = default;
  virtual void Shutdown() = 0;
};

// Shared by every session of one transport; outlives them (sessions hold a shared_ptr).
// Thread-safe: the config is fixed before the first session, the registry is under mutex_.
class SharedState {
 public:
  explicit SharedState(TransportConfig config) : config_(std::move(config)) {}

  const TransportConfig& config() const { return config_; }
  const HubLimits& limits() const { return config_.limits; }
  HubMetrics& metrics() const { return *config_.metrics; }

  uint64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  // TLS handshakes ended so far, well or not (TransportImpl returns their memory after a wave).
  void CountHandshake() { handshakes_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t handshakes() const { return handshakes_.load(std::memory_order_relaxed); }
  bool stopping() const { return stopping_.load(); }

  // Sessions register when they start and unregister in their destructor.
  void Register(uint64_t id, std::weak_ptr<Stoppable> session);
  void Unregister(uint64_t id);
  // Marks the transport as stopping and shuts every registered session down.
  void ShutdownAll();

 private:
  const TransportConfig config_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;
  std::map<uint64_t, std::weak_ptr<Stoppable>> live_;  // guarded by mutex_
};

// "127.0.0.1:50122", "[::1]:50122".
std::string EndpointText(const tcp::endpoint& endpoint);

// Takes over a connection whose request asked for the agent WebSocket upgrade; the stream's
// timer must be off (expires_never). Defined in agent_websocket.cc for both stream types.
void RunAgentWebSocket(std::shared_ptr<SharedState> state, PlainStream stream,
                       UpgradeRequest request, std::string remote);
void RunAgentWebSocket(std::shared_ptr<SharedState> state, TlsStream stream, UpgradeRequest request,
                       std::string remote);

// The same for a person's WebSocket (the router accepted it and made `factory`). It has the
// agents' bounded queue and limits but is not counted as an agent.
void RunPeerWebSocket(std::shared_ptr<SharedState> state, PlainStream stream,
                      UpgradeRequest request, std::string remote, PeerSessionFactory factory);
void RunPeerWebSocket(std::shared_ptr<SharedState> state, TlsStream stream, UpgradeRequest request,
                      std::string remote, PeerSessionFactory factory);

}  // namespace vigil::server::internal
