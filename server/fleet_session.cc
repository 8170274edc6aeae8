// An agent's session on the hub: FleetService::Session and FleetService::SessionFactory().
#include <chrono>
#include <mutex>

#include "engine/audit/chain.h"
#include "server/agent_errors.h"
#include "server/credentials.h"
#include "server/fleet_service.h"

namespace vigil::server {
namespace {

// Error codes of the hub's refusals (PROTOCOL.md's `error` message).
constexpr std::string_view kHelloRequired = "hello_required";
constexpr std::string_view kEnrollRefused = "enroll_refused";
constexpr std::string_view kAlreadyEnrolled = "already_enrolled";
constexpr std::string_view kAlreadyAuthenticated = "already_authenticated";
constexpr std::string_view kRateLimited = "rate_limited";
constexpr std::string_view kStoreFailed = "store_failed";
constexpr std::string_view kUnexpectedType = "unexpected_type";
// An agent's: it did not take a `config` (unsigned, mis-signed, older than its own).
constexpr std::string_view kConfigRefused = "config_refused";

constexpr int64_t kTouchIntervalMs = 30'000;  // how often a busy node's last_seen is written
constexpr size_t kMaxHostIdentifier = 255;

}  // namespace

class FleetService::Session : public AgentSession {
 public:
  Session(FleetService& fleet, std::shared_ptr<AgentChannel> channel)
      : fleet_(fleet),
        channel_(std::move(channel)),
        tokens_(fleet.options_.max_messages_per_second),
        refilled_ms_(fleet.Now()) {}

  void OnMessage(std::string_view text) override;
  void OnClose() override {
    // A connection replaced by a newer one (or a removed node) leaves the node's record alone.
    if (host_.empty() || !fleet_.SetOffline(host_, channel_->id())) return;
    const int64_t now = fleet_.Now();
    if (Status status = fleet_.store_.TouchNode(host_, now / 1000, channel_->remote_address());
        !status.ok()) {
      fleet_.Log("node '" + host_ + "': storing last_seen failed: " + status.ToString());
    }
    if (Status status = fleet_.store_.RecordDisconnected(host_, now); !status.ok()) {
      fleet_.Log("node '" + host_ + "': storing its disconnection failed: " + status.ToString());
    }
  }

 private:
  bool TakeToken();
  void Send(std::string text) { channel_->Send(std::move(text)); }
  void Refuse(std::string_view code, const std::string& message, std::string_view log_line);
  void OnHello(wire::Hello& hello);
  void OnResults(const wire::Results& results);
  void OnQueryResult(const wire::QueryResult& result);
  void OnConfigStatus(const wire::ConfigStatus& status);
  void Touch();

  FleetService& fleet_;
  const std::shared_ptr<AgentChannel> channel_;
  std::string host_;  // the authenticated node; empty before its hello
  bool closed_ = false;
  double tokens_;
  int64_t refilled_ms_;
  int64_t touched_ms_ = 0;
};

bool FleetService::Session::TakeToken() {
  const uint32_t rate = fleet_.options_.max_messages_per_second;
  if (rate == 0) return true;
  const int64_t now = fleet_.Now();
  if (now > refilled_ms_) {
    tokens_ = std::min<double>(rate, tokens_ + static_cast<double>(now - refilled_ms_) * rate / 1000);
    refilled_ms_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void FleetService::Session::Refuse(std::string_view code, const std::string& message,
                                   std::string_view log_line) {
  fleet_.metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
  fleet_.Log(std::string(log_line) + " from " + channel_->remote_address());
  Send(AgentErrorFrame(code, message));
  channel_->Close(message);
  closed_ = true;
}

void FleetService::Session::OnMessage(std::string_view text) {
  if (closed_) return;
  if (!TakeToken()) {
    fleet_.metrics_.rate_limited.fetch_add(1, std::memory_order_relaxed);
    Send(AgentErrorFrame(kRateLimited,
                         "more than " + std::to_string(fleet_.options_.max_messages_per_second) +
                             " messages in a second: this one was not processed"));
    return;
  }
  wire::DecodeResult decoded = wire::Decode(text, fleet_.options_.decode_limits);
  if (!decoded.ok()) {
    fleet_.metrics_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    Send(wire::Encode(decoded.error()));
    return;
  }
  wire::Message message = std::move(decoded).message();
  if (host_.empty()) {
    if (auto* hello = std::get_if<wire::Hello>(&message)) {
      OnHello(*hello);
    } else {
      Send(AgentErrorFrame(kHelloRequired, "the first message must be a hello, not " +
                                               std::string(wire::TypeName(message))));
      channel_->Close("the first message must be a hello");
      closed_ = true;
    }
    return;
  }
  Touch();
  if (std::holds_alternative<wire::Hello>(message)) {
    Send(AgentErrorFrame(kAlreadyAuthenticated, "this connection has said hello already"));
  } else if (auto* results = std::get_if<wire::Results>(&message)) {
    OnResults(*results);
  } else if (auto* answer = std::get_if<wire::QueryResult>(&message)) {
    OnQueryResult(*answer);
  } else if (auto* task = std::get_if<wire::TaskResult>(&message)) {
    if (fleet_.options_.on_task_result) {
      fleet_.options_.on_task_result(host_, *task);
    } else {
      fleet_.Log("node '" + host_ + "': task_result for task '" + task->id + "' (" +
                 task->outcome + ") ignored; this hub runs no tasks");
    }
  } else if (auto* status = std::get_if<wire::ConfigStatus>(&message)) {
    OnConfigStatus(*status);
  } else if (auto* error = std::get_if<wire::Error>(&message)) {
    if (error->code == kConfigRefused) {
      fleet_.metrics_.configs_refused.fetch_add(1, std::memory_order_relaxed);
    }
    fleet_.Log("node '" + host_ + "' reports " + error->code + ": " + error->message +
               (error->ref.empty() ? "" : " (ref " + error->ref + ")"));
  } else {
    Send(AgentErrorFrame(kUnexpectedType, std::string(wire::TypeName(message)) +
                                              " is a message the hub sends, not one it takes"));
  }
}

void FleetService::Session::OnHello(wire::Hello& hello) {
  if (hello.host_identifier.empty() || hello.host_identifier.size() > kMaxHostIdentifier) {
    Send(AgentErrorFrame(wire::kMalformed, "hello: field \"host_identifier\" must have 1 to " +
                                               std::to_string(kMaxHostIdentifier) +
                                               " characters"));
    return;
  }
  HubStore& store = fleet_.store_;
  const int64_t now = fleet_.Now();
  const std::string& host = hello.host_identifier;
  wire::Welcome welcome;
  welcome.hub_public_key = fleet_.options_.hub_public_key;
  welcome.server_time =
      audit::FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(now)));
  NodeRecord node;
  // From the lookup to the write: neither an enrolment of the same host, nor SetRunning's
  // write of an older connection, nor RemoveNode comes in between (a removed node must not be
  // written back by a hello that read it before).
  std::unique_lock<std::mutex> writing(fleet_.node_write_mu_);
  if (hello.node_key) {
    auto found = store.FindNodeByKeyHash(SecretHash(*hello.node_key));
    if (!found.ok()) {
      fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
      Send(AgentErrorFrame(kStoreFailed, "looking up the node key failed: " +
                                             found.status().message()));
      return;
    }
    if (!found.value() || found.value()->host_identifier != host) {
      Refuse(wire::kNodeInvalid, "the node key is not valid for host '" + host + "'",
             "node key refused for host '" + host + "'" +
                 (found.value() ? " (it belongs to '" + found.value()->host_identifier + "')"
                                : std::string(" (unknown key)")));
      return;
    }
    node = std::move(*found.value());
  } else {
    if (!EnrollSecretMatches(fleet_.options_.enroll_secret, hello.enroll_secret.value_or(""))) {
      Refuse(kEnrollRefused, "enrollment refused: the enroll secret is wrong",
             "enrollment of host '" + host + "' refused: wrong enroll secret");
      return;
    }
    auto existing = store.GetNode(host);
    if (!existing.ok()) {
      fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
      Send(AgentErrorFrame(kStoreFailed, "looking up the node failed: " +
                                             existing.status().message()));
      return;
    }
    if (existing.value()) {
      Refuse(kAlreadyEnrolled,
             "host '" + host + "' is already enrolled; to enroll it again an admin must remove "
             "the node first (vigilctl nodes remove " + host + ")",
             "enrollment of host '" + host + "' refused: already enrolled");
      return;
    }
    const std::string key = NewSecret("vgn_");
    node.host_identifier = host;
    node.key_hash = SecretHash(key);
    node.enrolled_at = now / 1000;
    welcome.node_key = key;
  }
  node.hostname = hello.hostname;
  node.os = hello.os;
  node.vigil_version = hello.vigil_version;
  node.roles = std::move(hello.roles);
  if (fleet_.options_.roles_for && fleet_.options_.config_version &&
      fleet_.options_.config_version() > 0) {
    node.roles = fleet_.options_.roles_for(host, node.hostname);
  }
  node.config_version = hello.config_version;
  if (hello.cycle_ms && *hello.cycle_ms > 0) node.cycle_ms = *hello.cycle_ms;
  node.last_seen = now / 1000;
  node.remote_address = channel_->remote_address();
  if (Status status = store.PutNode(node); !status.ok()) {
    fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
    Send(AgentErrorFrame(kStoreFailed, "storing the node failed: " + status.message()));
    return;
  }
  writing.unlock();
  if (Status status = store.RecordConnected(host, now); !status.ok()) {
    fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
    fleet_.Log("node '" + host + "': storing its connection failed: " + status.ToString());
  }
  if (welcome.node_key) {
    fleet_.metrics_.nodes_enrolled.fetch_add(1, std::memory_order_relaxed);
    fleet_.Log("node '" + host + "' enrolled from " + channel_->remote_address());
  }
  host_ = host;
  touched_ms_ = now;
  Send(wire::Encode(welcome));
  fleet_.SetOnline(host_, node.hostname, node.config_version, channel_);
  fleet_.SendConfig(host_, node.hostname, node.config_version, channel_);
  fleet_.SendPendingQueries(host_, channel_);
  if (fleet_.options_.on_online) fleet_.options_.on_online(host_);
}

void FleetService::Session::Touch() {
  const int64_t now = fleet_.Now();
  if (now - touched_ms_ < kTouchIntervalMs) return;
  touched_ms_ = now;
  if (Status status = fleet_.store_.TouchNode(host_, now / 1000, channel_->remote_address());
      !status.ok()) {
    fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
    fleet_.Log("node '" + host_ + "': storing last_seen failed: " + status.ToString());
  }
}

void FleetService::Session::OnResults(const wire::Results& results) {
  std::vector<std::string> items;
  items.reserve(results.items.size());
  for (const wire::ResultItem& item : results.items) items.push_back(item.json);
  auto ack = fleet_.store_.StoreEvidence(host_, results.seq, items);
  if (!ack.ok()) {
    fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
    Send(AgentErrorFrame(kStoreFailed, "storing results failed: " + ack.status().message(),
                         std::to_string(results.seq)));
    return;
  }
  fleet_.metrics_.evidence_items_stored.fetch_add(ack->stored, std::memory_order_relaxed);
  Send(wire::Encode(wire::Ack{ack->acked_seq}));
}

void FleetService::Session::OnQueryResult(const wire::QueryResult& result) {
  if (Status status = fleet_.TakeAnswer(host_, result); !status.ok()) {
    fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
    Send(AgentErrorFrame(kStoreFailed, "storing the answer failed: " + status.message(),
                         result.id));
  }
}

// The version the node runs now, as it says after adopting or refusing a config, and the
// refusal's reason: what `vigilctl nodes` shows. A refusal names the version the node stays on,
// so the record keeps what the node runs either way. A hello keeps the stored reason (it does
// not carry one); the next config_status replaces it.
void FleetService::Session::OnConfigStatus(const wire::ConfigStatus& status) {
  Result<bool> changed =
      fleet_.SetRunning(host_, channel_, status.config_version, status.config_error);
  if (!changed.ok()) {
    fleet_.metrics_.store_errors.fetch_add(1, std::memory_order_relaxed);
    Send(AgentErrorFrame(
        kStoreFailed, "storing the node's config version failed: " + changed.status().message()));
    return;
  }
  if (*changed) {
    fleet_.Log("node '" + host_ + "' runs config " + std::to_string(status.config_version) +
               (status.config_error.empty() ? "" : "; it refused a newer one: " +
                                                       status.config_error));
  }
}

AgentSessionFactory FleetService::SessionFactory() {
  return [this](std::shared_ptr<AgentChannel> channel) -> std::unique_ptr<AgentSession> {
    return std::make_unique<Session>(*this, std::move(channel));
  };
}

}  // namespace vigil::server
