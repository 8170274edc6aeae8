// A small HTTP(S) and WebSocket client for talking to the hub (DESIGN.md, "Wire protocol";
// PROTOCOL.md): the agent's hub link, vigilctl and the load generator use it. This header is
// Boost-free; client.cc is the only file on the agent side that includes Beast.
//
// Trust: with `tls.ca_file`, the hub's chain must verify against that CA file and the host name
// must match; with `tls.pinned_sha256`, the hub's leaf certificate must have that SHA-256
// fingerprint (of its DER, "AB:CD:..", as vigil-hub prints it; case and colons do not matter)
// and nothing else is checked; with neither, the system's default CAs and the host name.
// Plain "http://" URLs are allowed only to a loopback host, like the hub's --insecure.
//
// Every error names the URL and what failed: resolving, connecting, the TLS handshake or
// verification, the HTTP status of a refused upgrade with the body's `error.message`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace vigil::agent::net {

struct ClientTls {
  std::string ca_file;        // trust this CA file
  std::string pinned_sha256;  // or exactly this certificate ("AB:CD:..", SHA-256 of the DER)
};

struct ClientOptions {
  std::string url;  // "https://host:port" or "http://host:port" (plain only to loopback)
  ClientTls tls;
  // Each network step (resolve, connect, handshake, one HTTP exchange) must finish within it.
  std::chrono::milliseconds timeout{10'000};
  size_t max_frame_bytes = 4u << 20;  // largest WebSocket message or HTTP body accepted
  // Optional: polled every ~100 ms while a step waits; when it returns true the step fails at
  // once (Unavailable "...: cancelled"), so an owner can stop promptly mid-connect.
  std::function<bool()> cancelled;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Checks what can be checked without the network, as Connect and HttpCall will: the URL
// (scheme, host, port; plain http only to a loopback host) and the fingerprint's form.
// InvalidArgument naming what is wrong.
Status CheckOptions(const ClientOptions& options);

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One HTTP request on a fresh connection (`target` is the path and query, e.g. "/api/v1/nodes").
// Any reply with a status is a success here, 4xx and 5xx included; errors are for the network,
// TLS, and bodies over max_frame_bytes.
Result<HttpReply> HttpCall(const ClientOptions& options, std::string_view method,
                           std::string_view target, const Headers& headers, std::string_view body,
                           std::string_view content_type = "application/json");

// The `error.message` of a hub's JSON error body ({"error":{"code":..,"message":..}}), else the
// body itself (cut to a few hundred bytes).
std::string ErrorMessageOf(std::string_view body);

// One WebSocket connection. Not thread-safe: one thread drives it (to stop promptly, receive
// with short timeouts and check a flag in between).
class WebSocketClient {
 public:
  // Connects, verifies the hub per `options.tls` and upgrades on `target` with `headers`.
  static Result<std::unique_ptr<WebSocketClient>> Connect(const ClientOptions& options,
                                                          std::string_view target,
                                                          const Headers& headers);
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Sends one text frame (within options.timeout).
  Status Send(std::string_view text);
  // The next text frame, nullopt when none came within `timeout`; an error once the connection
  // is closed (the peer's close reason in the message) or broken.
  Result<std::optional<std::string>> Receive(std::chrono::milliseconds timeout);
  // Closes the connection (a close frame when possible). Idempotent.
  void Close();

  const std::string& url() const;

  struct Impl;  // opaque: Beast's stream lives in client.cc

 private:
  explicit WebSocketClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent::net
