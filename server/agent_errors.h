// The agent protocol's error frame, and the session the hub runs until a message has a handler:
// every frame is answered by PROTOCOL.md's rule for messages it cannot handle, and the
// connection stays open.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "server/agent_session.h"

namespace vigil::server {

// {"type":"error","v":1,"code":CODE,"message":MESSAGE} plus "ref" when `ref` is not empty.
std::string AgentErrorFrame(std::string_view code, std::string_view message,
                            std::string_view ref = {});

// The answer to a frame no handler takes: `malformed` when it is not a JSON object or has no
// string "type", else `unknown_type` naming the type. "ref" echoes the frame's string "id".
std::string UnhandledMessageReply(std::string_view text);

// Answers every frame with UnhandledMessageReply().
class UnhandledMessageSession : public AgentSession {
 public:
  explicit UnhandledMessageSession(std::shared_ptr<AgentChannel> channel)
      : channel_(std::move(channel)) {}
  void OnMessage(std::string_view text) override;

 private:
  const std::shared_ptr<AgentChannel> channel_;
};

AgentSessionFactory UnhandledMessages();

}  // namespace vigil::server
