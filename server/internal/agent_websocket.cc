// One WebSocket session: reads frames into its session, writes what the session (or anyone
// holding its channel) sends, one write in flight and a bounded queue behind it. An agent's
// connection (AgentSession) and a person's (PeerSession, the campaign stream) are the same
// machinery; only the agent's is counted as a connected agent and answers binary frames.
#include <boost/beast/websocket.hpp>
#include <deque>
#include <optional>

#include "server/agent_errors.h"
#include "server/internal/sessions.h"

namespace vigil::server::internal {
namespace websocket = beast::websocket;

namespace {

// The strand-side operations the channel reaches through a weak pointer.
class ChannelTarget {
 public:
  virtual ~ChannelTarget() = default;
  virtual void PostEnqueue(std::string text) = 0;
  virtual void PostClose(websocket::close_code code, std::string reason) = 0;
  // Closes with 1000 once the frames queued before it are written.
  virtual void PostCloseAfterQueue(std::string reason) = 0;
  virtual void PostDrop() = 0;
};

// Thread-safe. Counts queued frames itself (atomically, at Send() time) so a full queue is seen
// by the sender at once, not after the strand has caught up.
class Channel : public PeerChannel {
 public:
  Channel(uint64_t id, std::string remote, size_t max_queue, std::weak_ptr<ChannelTarget> target)
      : id_(id), remote_(std::move(remote)), max_queue_(max_queue), target_(std::move(target)) {}

  bool Send(std::string text) override {
    if (!open_.load()) return false;
    std::shared_ptr<ChannelTarget> target = target_.lock();
    if (!target) return false;
    if (queued_.fetch_add(1) >= max_queue_) {
      queued_.fetch_sub(1);
      if (!open_.exchange(false)) return false;  // dropped once
      target->PostDrop();
      return false;
    }
    target->PostEnqueue(std::move(text));
    return true;
  }
  void Close(std::string_view reason) override {
    if (std::shared_ptr<ChannelTarget> target = target_.lock()) {
      target->PostClose(websocket::close_code::policy_error, std::string(reason));
    }
  }
  void CloseNormally(std::string_view reason) override {
    open_.store(false);
    if (std::shared_ptr<ChannelTarget> target = target_.lock()) {
      target->PostCloseAfterQueue(std::string(reason));
    }
  }
  bool open() const override { return open_.load(); }
  uint64_t id() const override { return id_; }
  const std::string& remote_address() const override { return remote_; }

  void Written() { queued_.fetch_sub(1); }
  void MarkClosed() { open_.store(false); }

 private:
  const uint64_t id_;
  const std::string remote_;
  const size_t max_queue_;
  const std::weak_ptr<ChannelTarget> target_;
  std::atomic<bool> open_{true};
  std::atomic<size_t> queued_{0};
};

// Lives as long as its pending operations; every member below is touched only on the strand
// of ws_ (the do_/on_ handlers), except through the Post* entry points, which post to it.
template <typename NextLayer>
class WebSocketSession : public ChannelTarget,
                         public Stoppable,
                         public std::enable_shared_from_this<WebSocketSession<NextLayer>> {
 public:
  // An empty `peer_factory` makes an agent's connection; else a person's.
  WebSocketSession(std::shared_ptr<SharedState> state, NextLayer stream, std::string remote,
                   PeerSessionFactory peer_factory)
      : state_(std::move(state)),
        id_(state_->NextId()),
        remote_(std::move(remote)),
        agent_(!peer_factory),
        peer_factory_(std::move(peer_factory)),
        ws_(std::move(stream)) {}

  ~WebSocketSession() override {
    state_->Unregister(id_);
    if (accepted_ && agent_) state_->metrics().connected_agents.fetch_sub(1);
  }

  void Run(UpgradeRequest request) {
    state_->Register(id_, this->weak_from_this());
    const HubLimits& limits = state_->limits();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = limits.handshake_timeout;
    timeout.idle_timeout = 2 * limits.ping_interval;  // Beast pings after half of it
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::server, "vigil-hub");
    }));
    // DoRead() enforces max_frame_bytes itself, so that it knows why it closes and can still
    // close cleanly (1009): after Beast fails a read, its stream can send no close frame. Beast's
    // own check is the backstop for frames announcing absurd sizes: it fails the connection at
    // once (also with 1009) without reading them.
    ws_.read_message_max(4 * limits.max_frame_bytes + (64u << 10));
    ws_.auto_fragment(false);
    ws_.async_accept(request, beast::bind_front_handler(&WebSocketSession::OnAccept, Self()));
  }

  void PostEnqueue(std::string text) override {
    net::post(ws_.get_executor(), [self = Self(), text = std::move(text)]() mutable {
      self->Enqueue(std::move(text));
    });
  }
  void PostClose(websocket::close_code code, std::string reason) override {
    net::post(ws_.get_executor(), [self = Self(), code, reason = std::move(reason)]() mutable {
      self->DoClose(websocket::close_reason(code, reason));
    });
  }
  void PostCloseAfterQueue(std::string reason) override {
    net::post(ws_.get_executor(), [self = Self(), reason = std::move(reason)]() mutable {
      self->DoCloseAfterQueue(websocket::close_reason(websocket::close_code::normal, reason));
    });
  }
  void PostDrop() override {
    net::post(ws_.get_executor(), [self = Self()] { self->DoDrop(); });
  }
  void Shutdown() override { PostClose(websocket::close_code::going_away, "hub stopping"); }

 private:
  std::shared_ptr<WebSocketSession> Self() { return this->shared_from_this(); }

  void OnAccept(beast::error_code ec) {
    if (ec) {
      state_->metrics().errors.fetch_add(1);
      return;
    }
    if (state_->stopping()) {
      DoClose(websocket::close_reason(websocket::close_code::going_away, "hub stopping"));
      DoRead();
      return;
    }
    accepted_ = true;
    const HubLimits& limits = state_->limits();
    channel_ = std::make_shared<Channel>(id_, remote_,
                                         agent_ ? limits.max_send_queue : limits.max_stream_queue,
                                         this->weak_from_this());
    if (agent_) {
      state_->metrics().connected_agents.fetch_add(1);
      const AgentSessionFactory& factory = state_->config().agent_sessions;
      session_ = factory ? factory(channel_) : UnhandledMessages()(channel_);
    } else {
      session_ = peer_factory_(channel_);
      peer_factory_ = nullptr;  // what it captured is not needed any more
    }
    DoRead();
  }

  void DoRead() {
    // At most one byte past the limit, so an oversized message is seen without storing it.
    const size_t room = state_->limits().max_frame_bytes + 1 - buffer_.size();
    reading_ = true;
    ws_.async_read_some(buffer_, room,
                        beast::bind_front_handler(&WebSocketSession::OnRead, Self()));
  }

  void OnRead(beast::error_code ec, size_t bytes) {
    reading_ = false;
    if (ec) {
      if (ec == websocket::error::message_too_big) {  // the backstop, seen as such without TLS
        if (agent_) state_->metrics().dropped_too_large.fetch_add(1);
        state_->metrics().errors.fetch_add(1);
      }
      Finish();
      return;
    }
    HubMetrics& metrics = state_->metrics();
    metrics.bytes_received.fetch_add(bytes);
    if (buffer_.size() > state_->limits().max_frame_bytes) {
      // Close this connection only, with 1009. The close handshake reads and drops the rest
      // of the message (within handshake_timeout).
      if (agent_) metrics.dropped_too_large.fetch_add(1);
      metrics.errors.fetch_add(1);
      buffer_.clear();
      DoClose(websocket::close_reason(
          websocket::close_code::too_big,
          "message larger than " + std::to_string(state_->limits().max_frame_bytes) + " bytes"));
      return;
    }
    if (!ws_.is_message_done()) {
      DoRead();
      return;
    }
    if (agent_) metrics.ws_messages_received.fetch_add(1);
    if (session_ && channel_->open()) {
      if (ws_.got_text()) {
        auto data = buffer_.cdata();
        session_->OnMessage(std::string_view(static_cast<const char*>(data.data()), data.size()));
      } else if (agent_) {
        channel_->Send(AgentErrorFrame(
            "malformed", "binary frames are not accepted; send one JSON object per text frame"));
      }
    }
    buffer_.consume(buffer_.size());
    // Most connections are idle between messages: give the message's memory back rather than
    // keep each one's largest message for the life of the connection.
    buffer_.shrink_to_fit();
    DoRead();
  }

  void Enqueue(std::string text) {
    if (finished_ || closing_) {
      channel_->Written();
      return;
    }
    queue_.push_back(std::move(text));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&WebSocketSession::OnWrite, Self()));
  }

  void OnWrite(beast::error_code ec, size_t bytes) {
    writing_ = false;
    queue_.pop_front();
    channel_->Written();
    if (ec) {
      DiscardQueue();
      return;  // the pending read fails too and finishes the session
    }
    HubMetrics& metrics = state_->metrics();
    if (agent_) metrics.ws_messages_sent.fetch_add(1);
    metrics.bytes_sent.fetch_add(bytes);
    if (pending_close_) {
      websocket::close_reason reason = *pending_close_;
      pending_close_.reset();
      DiscardQueue();
      StartClose(reason);
      return;
    }
    if (!queue_.empty()) {
      DoWrite();
    } else if (close_after_queue_) {
      websocket::close_reason reason = *close_after_queue_;
      close_after_queue_.reset();
      StartClose(reason);
    }
  }

  // A close once the queue is written: what was sent before it still arrives.
  void DoCloseAfterQueue(websocket::close_reason reason) {
    if (finished_ || closing_ || pending_close_) return;
    if (channel_) channel_->MarkClosed();
    if (writing_ || !queue_.empty()) {
      close_after_queue_ = reason;
      return;
    }
    StartClose(reason);
  }

  // A close after the write in flight (Beast allows one write or close at a time).
  void DoClose(websocket::close_reason reason) {
    if (finished_ || closing_) return;
    if (channel_) channel_->MarkClosed();
    if (writing_) {
      pending_close_ = reason;
      return;
    }
    DiscardQueue();
    StartClose(reason);
  }

  void StartClose(websocket::close_reason reason) {
    closing_ = true;
    ws_.async_close(reason, [self = Self()](beast::error_code) {
      // A pending read completes with `closed` (or an error) and finishes the session.
      if (!self->reading_) self->Finish();
    });
  }

  // The agent does not read what it is sent: cut the connection rather than queue more.
  void DoDrop() {
    if (finished_) return;
    if (agent_) state_->metrics().dropped_slow.fetch_add(1);
    state_->metrics().errors.fetch_add(1);
    DiscardQueue();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

  void DiscardQueue() {
    // Keep the frame being written: its buffer is in use until OnWrite.
    size_t keep = writing_ ? 1 : 0;
    while (queue_.size() > keep) {
      queue_.pop_back();
      channel_->Written();
    }
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    if (channel_) channel_->MarkClosed();
    if (session_) {
      session_->OnClose();
      session_.reset();
    }
  }

  const std::shared_ptr<SharedState> state_;
  const uint64_t id_;
  const std::string remote_;
  const bool agent_;
  PeerSessionFactory peer_factory_;  // a person's connection: makes its session once
  websocket::stream<NextLayer> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::optional<websocket::close_reason> pending_close_;      // after the write in flight
  std::optional<websocket::close_reason> close_after_queue_;  // after every queued write
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<AgentSession> session_;  // PeerSession is the same type
  bool accepted_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

}  // namespace

void RunAgentWebSocket(std::shared_ptr<SharedState> state, PlainStream stream,
                       UpgradeRequest request, std::string remote) {
  std::make_shared<WebSocketSession<PlainStream>>(std::move(state), std::move(stream),
                                                  std::move(remote), nullptr)
      ->Run(std::move(request));
}

void RunAgentWebSocket(std::shared_ptr<SharedState> state, TlsStream stream, UpgradeRequest request,
                       std::string remote) {
  std::make_shared<WebSocketSession<TlsStream>>(std::move(state), std::move(stream),
                                                std::move(remote), nullptr)
      ->Run(std::move(request));
}

void RunPeerWebSocket(std::shared_ptr<SharedState> state, PlainStream stream,
                      UpgradeRequest request, std::string remote, PeerSessionFactory factory) {
  if (!factory) return;  // the router always gives one; without it there is nothing to serve
  std::make_shared<WebSocketSession<PlainStream>>(std::move(state), std::move(stream),
                                                  std::move(remote), std::move(factory))
      ->Run(std::move(request));
}

void RunPeerWebSocket(std::shared_ptr<SharedState> state, TlsStream stream, UpgradeRequest request,
                      std::string remote, PeerSessionFactory factory) {
  if (!factory) return;
  std::make_shared<WebSocketSession<TlsStream>>(std::move(state), std::move(stream),
                                                std::move(remote), std::move(factory))
      ->Run(std::move(request));
}

}  // namespace vigil::server::internal
