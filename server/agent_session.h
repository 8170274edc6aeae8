// The seam between the hub's WebSocket transport and what it does with agent messages.
//
// For each agent connection the transport makes an AgentChannel (its sending side) and asks an
// AgentSessionFactory for an AgentSession (the receiving side). The transport owns the session;
// the session may keep the channel, as may anything that wants to push to that agent later (a
// campaign, a config publish): a channel does not keep its connection alive, and Send() on a
// closed one just returns false. No Boost type appears here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace vigil::server {

// The sending side of one agent connection. Thread-safe: any thread may call any method.
class AgentChannel {
 public:
  virtual ~AgentChannel() = default;

  // Queues one text frame. Returns false when the connection is closed, or when its bounded
  // send queue is full: the agent is then too slow and the connection is dropped (the frame is
  // not sent). Never blocks.
  virtual bool Send(std::string text) = 0;
  // Closes the connection with a WebSocket close frame (1008 policy violation) and `reason`.
  virtual void Close(std::string_view reason) = 0;
  virtual bool open() const = 0;

  // Unique within one hub process, never reused.
  virtual uint64_t id() const = 0;
  // "203.0.113.7:50122" or "[::1]:50122".
  virtual const std::string& remote_address() const = 0;
};

// The receiving side of one agent connection. Called only from the connection's strand, one
// call at a time, so a session needs no lock for its own state; it must not block for long
// (it holds up that connection's reads, and one network thread).
class AgentSession {
 public:
  virtual ~AgentSession() = default;

  // One complete text frame (at most max_frame_bytes). Binary frames are answered by the
  // transport as malformed and never reach the session.
  virtual void OnMessage(std::string_view text) = 0;
  // The connection is gone (closed by either side, dropped, or the hub is stopping). The
  // session is destroyed soon after; its channel's Send() returns false from now on.
  virtual void OnClose() {}
};

// Makes the session for a new connection. Called on the connection's strand.
using AgentSessionFactory =
    std::function<std::unique_ptr<AgentSession>(std::shared_ptr<AgentChannel> channel)>;

}  // namespace vigil::server
