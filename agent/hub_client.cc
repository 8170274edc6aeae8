#include "agent/hub_client.h"

#include <algorithm>
#include <deque>
#include <random>
#include <variant>

#include "agent/agent_status.h"
#include "agent/outbox.h"
#include "agent/shared_engine.h"
#include "engine/signing.h"
#include "engine/sql/database.h"
#include "engine/wire/messages.h"

namespace vigil::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{100};  // how long one Receive() waits; bounds Stop()'s delay
constexpr std::string_view kAgentTarget = "/api/v1/agent";
// `error` codes the hub answers a hello with (besides wire::kNodeInvalid).
constexpr std::string_view kEnrollRefused = "enroll_refused";
constexpr std::string_view kAlreadyEnrolled = "already_enrolled";

wire::ResultItem::Kind WireKind(ItemKind kind) {
  switch (kind) {
    case ItemKind::kLog:
      return wire::ResultItem::Kind::kLog;
    case ItemKind::kVerdict:
      return wire::ResultItem::Kind::kVerdict;
    case ItemKind::kAuditHead:
      return wire::ResultItem::Kind::kAuditHead;
  }
  return wire::ResultItem::Kind::kLog;
}

}  // namespace

Status VerifyPinnedConfig(const store::Store& store, std::string_view config_json) {
  auto pinned = store.Get(store::Family::kConfig, kHubPublicKey);
  if (!pinned.ok()) {
    return Status(pinned.status()).WithContext("reading the pinned hub key in " + store.dir());
  }
  if (!*pinned || (*pinned)->empty()) {
    return Status::FailedPrecondition("cannot be verified: no hub key is pinned in " +
                                      store.dir() + " (the hub's welcome carried none)");
  }
  Result<bool> verified = VerifyConfig(**pinned, config_json);
  if (!verified.ok()) return Status::InvalidArgument("not verified: " + verified.status().message());
  if (!*verified) {
    return Status::PermissionDenied(
        "the signature does not verify against the hub key pinned at enrolment");
  }
  return Status::Ok();
}

// One connection: hello, welcome, then the outbox and the hub's requests until it ends.
class HubClient::Session {
 public:
  enum class End { kBackoff, kLong };

  explicit Session(HubClient& client) : c_(client), url_(client.options_.client.url) {}

  End Run() {
    net::ClientOptions options = c_.options_.client;
    options.cancelled = [this] { return c_.stopping(); };
    auto ws = net::WebSocketClient::Connect(options, kAgentTarget, {});
    if (!ws.ok()) {
      if (!c_.stopping()) c_.Log(LogLevel::kWarning, "hub: " + ws.status().message());
      return End::kBackoff;
    }
    ws_ = std::move(*ws);
    End end = Converse();
    ws_->Close();
    c_.status_.Update([](AgentCounters& counters) { counters.hub_connected = false; });
    return end;
  }

  bool welcomed() const { return welcomed_; }

 private:
  End Converse() {
    std::optional<End> refused;
    if (Status s = SendHello(refused); !s.ok()) {
      c_.Log(LogLevel::kWarning, "hub: " + s.message());
      return End::kBackoff;
    }
    if (refused) return *refused;
    // The welcome, or an error naming why not.
    const SteadyClock::time_point deadline = SteadyClock::now() + c_.options_.client.timeout;
    while (!welcomed_) {
      if (c_.stopping()) return End::kBackoff;
      if (SteadyClock::now() > deadline) {
        c_.Log(LogLevel::kWarning, "hub " + url_ + ": no welcome within " +
                                       std::to_string(c_.options_.client.timeout.count()) +
                                       " ms of hello");
        return End::kBackoff;
      }
      std::optional<End> end = ReceiveOne();
      if (end) return *end;
    }
    while (!c_.stopping()) {
      if (Status s = ReportAdoptedConfig(); !s.ok()) {
        c_.Log(LogLevel::kWarning, "hub: " + s.message());
        return End::kBackoff;
      }
      if (Status s = SendReplies(); !s.ok()) {
        c_.Log(LogLevel::kWarning, "hub: " + s.message());
        return End::kBackoff;
      }
      if (Status s = Pump(); !s.ok()) {
        c_.Log(LogLevel::kWarning, "hub: " + s.message());
        return End::kBackoff;
      }
      std::optional<End> end = ReceiveOne();
      if (end) return *end;
    }
    return End::kBackoff;
  }

  Status SendHello(std::optional<End>& refused) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> key,
                           c_.store_.Get(store::Family::kConfig, kHubNodeKey));
    const HubClientOptions& o = c_.options_;
    wire::Hello hello;
    hello.host_identifier = o.host_identifier;
    hello.hostname = o.hostname;
    if (o.cycle.count() > 0) hello.cycle_ms = static_cast<uint64_t>(o.cycle.count());
    hello.os = o.os;
    hello.vigil_version = o.vigil_version;
    if (key && !key->empty()) {
      hello.node_key = *key;
    } else if (!o.enroll_secret.empty()) {
      hello.enroll_secret = o.enroll_secret;
      enrolling_ = true;
    } else {
      c_.Log(LogLevel::kError, "hub " + url_ + ": this node has no node key in " +
                                   c_.store_.dir() +
                                   " and no enroll secret (--enroll-secret-file) to get one");
      refused = End::kLong;
      return Status::Ok();
    }
    AgentCounters counters = c_.status_.counters();
    hello.config_version = counters.config_version;
    told_version_ = counters.config_version;
    hello.roles = counters.roles;
    hello.outbox_next_seq = c_.outbox_.stats().next_seq;
    return ws_->Send(wire::Encode(hello));
  }

  // Waits up to kPoll for one message and handles it; an End when the connection is over.
  std::optional<End> ReceiveOne() {
    auto frame = ws_->Receive(kPoll);
    if (!frame.ok()) {
      c_.Log(LogLevel::kWarning, "hub: " + frame.status().message());
      return End::kBackoff;
    }
    if (!*frame) return std::nullopt;
    wire::DecodeLimits limits;
    limits.max_bytes = c_.options_.client.max_frame_bytes;
    wire::DecodeResult decoded = wire::Decode(**frame, limits);
    if (!decoded.ok()) {
      c_.Log(LogLevel::kWarning, "hub " + url_ + " sent a message that does not decode (" +
                                     decoded.error().code + "): " + decoded.error().message);
      if (!SendOrLog(wire::Encode(decoded.error()))) return End::kBackoff;
      return std::nullopt;
    }
    return std::visit([this](const auto& m) { return Handle(m); }, decoded.message());
  }

  std::optional<End> Handle(const wire::Welcome& welcome) {
    if (welcomed_) return std::nullopt;  // one per connection; a repeat changes nothing
    // Pinned before the node key is kept: an enrolled agent always has the hub's key.
    if (!welcome.hub_public_key.empty()) PinPublicKey(welcome.hub_public_key);
    if (welcome.node_key) {
      if (Status s = c_.store_.Put(store::Family::kConfig, kHubNodeKey, *welcome.node_key);
          !s.ok()) {
        c_.Log(LogLevel::kError, "hub: cannot keep the node key: " + s.message());
        return End::kBackoff;
      }
      c_.Log(LogLevel::kInfo, "enrolled with hub " + url_ + " as " +
                                  c_.options_.host_identifier + "; node key kept in " +
                                  c_.store_.dir());
    } else if (enrolling_) {
      c_.Log(LogLevel::kError, "hub " + url_ + " welcomed an enrolment without a node key");
      return End::kBackoff;
    }
    welcomed_ = true;
    const bool reconnect = c_.ever_welcomed_;
    c_.ever_welcomed_ = true;
    c_.status_.Update([reconnect](AgentCounters& counters) {
      counters.hub_connected = true;
      if (reconnect) ++counters.hub_reconnects;
    });
    OutboxStats stats = c_.outbox_.stats();
    c_.Log(LogLevel::kInfo, "connected to hub " + url_ + " (" + std::to_string(stats.depth) +
                                " outbox items to send)");
    return std::nullopt;
  }

  std::optional<End> Handle(const wire::Ack& ack) {
    if (!welcomed_) return std::nullopt;
    uint64_t seq = ack.seq;
    if (seq > sent_through_) {
      // Never delete what this connection did not send: an ack past it is the hub's mistake.
      c_.Log(LogLevel::kWarning, "hub " + url_ + " acknowledged seq " + std::to_string(seq) +
                                     " but only " + std::to_string(sent_through_) +
                                     " was sent; taking " + std::to_string(sent_through_));
      seq = sent_through_;
    }
    if (Status s = c_.outbox_.Ack(seq); !s.ok()) {
      c_.Log(LogLevel::kError, "outbox: cannot delete acknowledged items: " + s.message());
      return std::nullopt;
    }
    while (!in_flight_.empty() && in_flight_.front() <= seq) in_flight_.pop_front();
    c_.status_.Update([seq](AgentCounters& counters) {
      counters.hub_last_ack_seq = std::max(counters.hub_last_ack_seq, seq);
    });
    return std::nullopt;
  }

  std::optional<End> Handle(const wire::Query& query) {
    if (!SendOrLog(wire::Encode(RunQuery(query)))) return End::kBackoff;
    return std::nullopt;
  }

  std::optional<End> Handle(const wire::Config& config) {
    const std::string version = std::to_string(config.version);
    std::string reason = CheckConfig(config);
    if (reason.empty()) {
      Status taken = c_.options_.on_config
                         ? c_.options_.on_config(config.json)
                         : Status::FailedPrecondition("this agent takes no config from a hub");
      if (!taken.ok()) reason = "config " + version + " not taken: " + taken.message();
    }
    if (!reason.empty()) {
      c_.Log(LogLevel::kError, "refused a config from hub " + url_ + ": " + reason);
      uint64_t running = 0;
      c_.status_.Update([&](AgentCounters& counters) {
        counters.config_error = reason;
        running = counters.config_version;
      });
      wire::Error error{std::string(kConfigRefused), reason, version};
      if (!SendOrLog(wire::Encode(error))) return End::kBackoff;
      // The refusal answers the hub's request; the status says what the node stays on.
      if (!SendOrLog(wire::Encode(wire::ConfigStatus{running, reason}))) return End::kBackoff;
      told_version_ = running;
      return std::nullopt;
    }
    c_.accepted_version_ = config.version;
    c_.status_.Update([](AgentCounters& counters) { counters.config_error.clear(); });
    c_.Log(LogLevel::kInfo, "config " + version + " from hub " + url_ +
                                " verified; adopted at the start of the next cycle");
    return std::nullopt;
  }

  // Why `config` is refused ("" when it is signed by the pinned key and newer than the running
  // config). Only the signature is checked here; the daemon loads the rest.
  std::string CheckConfig(const wire::Config& config) {
    const std::string name = "config " + std::to_string(config.version);
    if (config.signature.empty()) return name + " is unsigned";
    if (Status s = VerifyPinnedConfig(c_.store_, config.json); !s.ok()) {
      return name + ": " + s.message();
    }
    const uint64_t running = std::max(c_.status_.counters().config_version, c_.accepted_version_);
    if (config.version <= running) {
      return name + " is not newer than config " + std::to_string(running) +
             ", which this agent already has";
    }
    return "";
  }

  std::optional<End> Handle(const wire::Task& task) {
    wire::Error error{"", "", task.id};
    if (!c_.options_.on_task) {
      error.code = kTaskUnsupported;
      error.message = "this agent does not run tasks";
    } else {
      std::lock_guard lock(c_.mutex_);
      if (c_.tasks_.size() >= c_.options_.max_queued_tasks) {
        error.code = kBusy;
        error.message = std::to_string(c_.tasks_.size()) + " tasks already wait to run here";
      } else {
        c_.tasks_.push_back(task);
        c_.task_wake_.notify_all();
        return std::nullopt;
      }
    }
    c_.Log(LogLevel::kWarning, "task " + task.id + " from hub not run: " + error.message);
    if (!SendOrLog(wire::Encode(error))) return End::kBackoff;
    return std::nullopt;
  }

  std::optional<End> Handle(const wire::Error& error) {
    const std::string said = error.message.empty() ? error.code : error.code + ": " + error.message;
    if (error.code == wire::kNodeInvalid) {
      if (Status s = c_.store_.Delete(store::Family::kConfig, kHubNodeKey); !s.ok()) {
        c_.Log(LogLevel::kError, "hub: cannot forget the refused node key: " + s.message());
      }
      if (c_.options_.enroll_secret.empty()) {
        c_.Log(LogLevel::kError, "hub " + url_ + " refused this node's key (" + said +
                                     ") and there is no enroll secret (--enroll-secret-file) "
                                     "to enrol again");
        return End::kLong;
      }
      c_.Log(LogLevel::kWarning,
             "hub " + url_ + " refused this node's key (" + said + "); enrolling again");
      return End::kBackoff;
    }
    if (error.code == kEnrollRefused || error.code == kAlreadyEnrolled) {
      c_.Log(LogLevel::kError,
             "hub " + url_ + " refused to enrol " + c_.options_.host_identifier + " (" + said +
                 ")" +
                 (error.code == kAlreadyEnrolled
                      ? "; the hub's admin must allow its re-enrolment"
                      : "; check the enroll secret") +
                 ". Trying again in " +
                 std::to_string(c_.options_.refused_backoff.count() / 1000) + " s");
      return End::kLong;
    }
    c_.Log(LogLevel::kWarning, "hub " + url_ + " answered an error: " + said +
                                   (error.ref.empty() ? "" : " (about " + error.ref + ")"));
    return std::nullopt;
  }

  // Messages only an agent sends: the hub should not; answered as an unknown type.
  template <typename M>
  std::optional<End> Handle(const M& message) {
    wire::Error error{std::string(wire::kUnknownType),
                      std::string(wire::TypeName(wire::Message(message))) +
                          " is not a message an agent accepts",
                      ""};
    if (!SendOrLog(wire::Encode(error))) return End::kBackoff;
    return std::nullopt;
  }

  void PinPublicKey(const std::string& key) {
    auto pinned = c_.store_.Get(store::Family::kConfig, kHubPublicKey);
    if (!pinned.ok()) {
      c_.Log(LogLevel::kError, "hub: cannot read the pinned public key: " +
                                   pinned.status().message());
      return;
    }
    if (!*pinned) {
      if (Status s = c_.store_.Put(store::Family::kConfig, kHubPublicKey, key); !s.ok()) {
        c_.Log(LogLevel::kError, "hub: cannot pin its public key: " + s.message());
        return;
      }
      c_.status_.Update([](AgentCounters& counters) { counters.hub_key_pinned = true; });
      return;
    }
    if (**pinned != key) {
      c_.Log(LogLevel::kWarning, "hub " + url_ +
                                     " presents a public key other than the one pinned at "
                                     "enrolment; keeping the pinned one (configs signed by "
                                     "the new key will be refused)");
    }
  }

  // Tells the hub the config version the node runs once it differs from what this connection
  // last said (the hello's, or a config_status'): the daemon adopts a config between cycles,
  // after the `config` was taken here, so the change shows in the status, not in Handle().
  Status ReportAdoptedConfig() {
    const AgentCounters counters = c_.status_.counters();
    if (counters.config_version == told_version_) return Status::Ok();
    VIGIL_RETURN_IF_ERROR(ws_->Send(
        wire::Encode(wire::ConfigStatus{counters.config_version, counters.config_error})));
    told_version_ = counters.config_version;
    c_.Log(LogLevel::kInfo,
           "told hub " + url_ + " that this node runs config " + std::to_string(told_version_));
    return Status::Ok();
  }

  // Sends the answers the task thread left, oldest first; one that could not be sent stays.
  Status SendReplies() {
    for (;;) {
      std::string reply;
      {
        std::lock_guard lock(c_.mutex_);
        if (c_.replies_.empty()) return Status::Ok();
        reply = std::move(c_.replies_.front());
        c_.replies_.pop_front();
      }
      if (Status s = ws_->Send(reply); !s.ok()) {
        std::lock_guard lock(c_.mutex_);
        c_.replies_.push_front(std::move(reply));
        return s;
      }
    }
  }

  // Sends the outbox, from the oldest item not sent on this connection, while fewer than
  // `window` messages wait for their ack.
  Status Pump() {
    const HubClientOptions& o = c_.options_;
    while (in_flight_.size() < std::max<size_t>(o.window, 1)) {
      // Read before Peek: an item appended after this has a number >= next.
      const uint64_t next = c_.outbox_.stats().next_seq;
      if (next <= sent_through_ + 1) return Status::Ok();  // nothing new
      VIGIL_ASSIGN_OR_RETURN(std::vector<OutboxItem> items,
                             c_.outbox_.Peek(sent_through_, o.batch_items, o.batch_bytes));
      if (items.empty()) {
        // Everything in (sent_through_, next) is gone (dropped to keep the bound).
        sent_through_ = next - 1;
        return Status::Ok();
      }
      // One message per run of consecutive numbers (dropped log items leave gaps).
      size_t n = 1;
      while (n < items.size() && items[n].seq == items[n - 1].seq + 1) ++n;
      wire::Results results;
      results.seq = items[0].seq;
      results.items.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        results.items.push_back({WireKind(items[i].kind), std::move(items[i].json)});
      }
      VIGIL_RETURN_IF_ERROR(ws_->Send(wire::Encode(results)));
      sent_through_ = results.last_seq();
      in_flight_.push_back(sent_through_);
    }
    return Status::Ok();
  }

  wire::QueryResult RunQuery(const wire::Query& query) {
    const HubClientOptions& o = c_.options_;
    QueryOptions options;
    options.timeout = o.statement_timeout;
    if (query.timeout_ms > 0 && milliseconds(query.timeout_ms) < options.timeout) {
      options.timeout = milliseconds(query.timeout_ms);
    }
    uint64_t max_rows = o.max_rows;
    if (query.max_rows > 0) max_rows = std::min<uint64_t>(max_rows, query.max_rows);
    options.max_rows = static_cast<size_t>(max_rows);
    const SteadyClock::time_point start = SteadyClock::now();
    // The cycle may hold the engine for a statement; wait for it as long as the query may run.
    Result<QueryResult> ran = c_.engine_.UseWithin(
        options.timeout, [&](Database& db) { return db.Query(query.sql, options); });
    wire::QueryResult out;
    out.id = query.id;
    if (!ran.ok()) {
      out.status = wire::QueryResult::Status::kError;
      out.error = ran.status().message();
      out.duration_ms =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
      return out;
    }
    out.columns = std::move(ran->columns);
    out.rows = std::move(ran->rows);
    out.rows_total = ran->rows_total;
    out.duration_ms = ran->duration_ms;
    // A frame the hub would refuse is cut to fit; rows_total still says how many there were.
    while (!out.rows.empty() && wire::Encode(out).size() > o.client.max_frame_bytes) {
      out.rows.resize(out.rows.size() / 2);
    }
    return out;
  }

  bool SendOrLog(const std::string& text) {
    if (Status s = ws_->Send(text); !s.ok()) {
      c_.Log(LogLevel::kWarning, "hub: " + s.message());
      return false;
    }
    return true;
  }

  HubClient& c_;
  const std::string url_;
  std::unique_ptr<net::WebSocketClient> ws_;
  bool enrolling_ = false;
  bool welcomed_ = false;
  uint64_t sent_through_ = 0;      // the last seq sent on this connection
  uint64_t told_version_ = 0;      // the config version the hub last heard of on this connection
  std::deque<uint64_t> in_flight_;  // last seq of each results message not yet acknowledged
};

HubClient::HubClient(HubClientOptions options, store::Store& store, Outbox& outbox,
                     SharedEngine& engine, AgentStatus& status)
    : options_(std::move(options)),
      store_(store),
      outbox_(outbox),
      engine_(engine),
      status_(status) {}

HubClient::~HubClient() { Stop(); }

void HubClient::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  auto pinned = store_.Get(store::Family::kConfig, kHubPublicKey);
  const bool key_pinned = pinned.ok() && *pinned && !(*pinned)->empty();
  status_.Update([this, key_pinned](AgentCounters& counters) {
    counters.hub_url = options_.client.url;
    counters.hub_key_pinned = key_pinned;
  });
  thread_ = std::thread([this] { Loop(); });
  if (options_.on_task && !task_thread_.joinable()) {
    task_thread_ = std::thread([this] { TaskLoop(); });
  }
}

void HubClient::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  task_wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (task_thread_.joinable()) task_thread_.join();
  std::lock_guard lock(mutex_);
  if (!tasks_.empty()) {
    Log(LogLevel::kWarning, std::to_string(tasks_.size()) +
                                " tasks from the hub dropped unrun: the agent is stopping");
    tasks_.clear();
  }
}

bool HubClient::stopping() const {
  std::lock_guard lock(mutex_);
  return stop_;
}

bool HubClient::WaitFor(milliseconds delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [this] { return stop_; });
  return !stop_;
}

void HubClient::Log(LogLevel level, const std::string& message) const {
  if (options_.log) options_.log(level, message);
}

void HubClient::TaskLoop() {
  for (;;) {
    wire::Task task;
    {
      std::unique_lock lock(mutex_);
      task_wake_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (stop_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    Log(LogLevel::kInfo, "task " + task.id + " (" + std::string(wire::TaskKindName(task.kind)) +
                             (task.check.empty() ? "" : " " + task.check) +
                             (task.dry_run ? ", dry run" : "") + ") from hub: running");
    Result<wire::TaskResult> result = options_.on_task(task);
    std::string reply;
    if (result.ok()) {
      result->id = task.id;
      Log(LogLevel::kInfo, "task " + task.id + ": " + result->outcome);
      reply = wire::Encode(*result);
    } else {
      Log(LogLevel::kWarning, "task " + task.id + " failed: " + result.status().message());
      reply = wire::Encode(
          wire::Error{std::string(kTaskFailed), result.status().message(), task.id});
    }
    std::lock_guard lock(mutex_);
    replies_.push_back(std::move(reply));
  }
}

void HubClient::Loop() {
  std::mt19937_64 random(std::random_device{}());
  const milliseconds floor = std::max(options_.backoff_min, milliseconds(1));
  milliseconds backoff = floor;
  while (!stopping()) {
    Session session(*this);
    Session::End end = session.Run();
    if (stopping()) break;
    // A connection that was welcomed resets the backoff: only failures in a row grow it.
    if (session.welcomed()) backoff = floor;
    milliseconds delay;
    if (end == Session::End::kLong) {
      delay = options_.refused_backoff;
    } else {
      // Half the backoff plus a random part of the other half, so a fleet that lost its hub
      // at once does not come back at once.
      std::uniform_int_distribution<int64_t> jitter(0, backoff.count() / 2);
      delay = milliseconds(backoff.count() - backoff.count() / 2 + jitter(random));
      backoff = std::min(backoff * 2, std::max(options_.backoff_max, floor));
    }
    if (!WaitFor(delay)) break;
  }
}

}  // namespace vigil::agent
