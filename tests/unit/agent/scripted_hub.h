// A real in-process hub (server::Hub over TLS with its self-signed certificate) whose side of
// the agent protocol is played by a small scripted session: for tests of the agent's hub link
// and of the daemon with a hub, not of the fleet service.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/wire/messages.h"
#include "server/hub.h"

namespace vigil::agent::scripted {

inline constexpr char kSecret[] = "enroll-s3cret";
inline constexpr char kHubKey[] = "hub-ed25519-public-key";

// What the scripted hub saw and how it answers; shared by its sessions and the test.
struct HubScript {
  std::mutex mutex;
  std::condition_variable changed;
  bool auto_ack = true;
  std::string public_key = kHubKey;  // what welcome.hub_public_key carries
  std::vector<wire::Hello> hellos;
  std::vector<wire::Results> results;
  std::vector<wire::QueryResult> answers;
  std::vector<wire::TaskResult> task_results;
  std::vector<wire::Error> errors;
  std::map<std::string, bool> keys;  // node keys issued
  int issued = 0;
  std::shared_ptr<server::AgentChannel> channel;  // of the last welcomed agent

  // Waits until pred() (under the lock) or `limit`.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, pred);
  }

  // Sends `text` to the last welcomed agent; false when there is none or it is gone.
  bool Send(std::string text) {
    std::shared_ptr<server::AgentChannel> to;
    {
      std::lock_guard lock(mutex);
      to = channel;
    }
    return to != nullptr && to->Send(std::move(text));
  }
};

class ScriptedSession : public server::AgentSession {
 public:
  ScriptedSession(std::shared_ptr<HubScript> script, std::shared_ptr<server::AgentChannel> channel)
      : script_(std::move(script)), channel_(std::move(channel)) {}

  void OnMessage(std::string_view text) override {
    wire::DecodeResult decoded = wire::Decode(text);
    std::lock_guard lock(script_->mutex);
    if (!decoded.ok()) {
      script_->errors.push_back(decoded.error());
    } else if (auto* hello = std::get_if<wire::Hello>(&decoded.message())) {
      script_->hellos.push_back(*hello);
      OnHello(*hello);
    } else if (auto* results = std::get_if<wire::Results>(&decoded.message())) {
      script_->results.push_back(*results);
      if (script_->auto_ack) channel_->Send(wire::Encode(wire::Ack{results->last_seq()}));
    } else if (auto* answer = std::get_if<wire::QueryResult>(&decoded.message())) {
      script_->answers.push_back(*answer);
    } else if (auto* done = std::get_if<wire::TaskResult>(&decoded.message())) {
      script_->task_results.push_back(*done);
    } else if (auto* error = std::get_if<wire::Error>(&decoded.message())) {
      script_->errors.push_back(*error);
    }
    script_->changed.notify_all();
  }

 private:
  void OnHello(const wire::Hello& hello) {
    wire::Welcome welcome;
    welcome.hub_public_key = script_->public_key;
    welcome.server_time = "2026-11-26T00:00:00Z";
    if (hello.node_key) {
      if (!script_->keys.count(*hello.node_key)) {
        channel_->Send(wire::Encode(
            wire::Error{std::string(wire::kNodeInvalid), "unknown node key", ""}));
        return;
      }
    } else if (hello.enroll_secret != kSecret) {
      channel_->Send(wire::Encode(wire::Error{"enroll_refused", "wrong enroll secret", ""}));
      return;
    } else {
      welcome.node_key = "node-key-" + std::to_string(++script_->issued);
      script_->keys[*welcome.node_key] = true;
    }
    channel_->Send(wire::Encode(welcome));
    script_->channel = channel_;
  }

  std::shared_ptr<HubScript> script_;
  std::shared_ptr<server::AgentChannel> channel_;
};

// Starts a hub on loopback (`port` 0: any) whose agent sessions follow `script`.
inline std::unique_ptr<server::Hub> StartScriptedHub(const std::string& state_dir, uint16_t port,
                                                     std::shared_ptr<HubScript> script) {
  server::HubOptions options;
  options.state_dir = state_dir;
  options.port = port;
  options.threads = 1;
  options.agent_sessions = [script](std::shared_ptr<server::AgentChannel> channel) {
    return std::make_unique<ScriptedSession>(script, std::move(channel));
  };
  auto hub = std::make_unique<server::Hub>(std::move(options));
  Status started = hub->Start();
  EXPECT_TRUE(started.ok()) << started.message();
  return started.ok() ? std::move(hub) : nullptr;
}

}  // namespace vigil::agent::scripted
