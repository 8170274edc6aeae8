// The listener and the HTTP sessions (plain and TLS) of the hub, the thread pool they run on,
// and the return of the memory a wave of TLS handshakes leaves behind. A WebSocket upgrade the
// router accepts is handed to agent_websocket.cc.
#include <malloc.h>

#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <condition_variable>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>

#include "server/internal/sessions.h"

namespace vigil::server::internal {

void SharedState::Register(uint64_t id, std::weak_ptr<Stoppable> session) {
  std::lock_guard lock(mutex_);
  live_.emplace(id, std::move(session));
}

void SharedState::Unregister(uint64_t id) {
  std::lock_guard lock(mutex_);
  live_.erase(id);
}

void SharedState::ShutdownAll() {
  stopping_.store(true);
  std::vector<std::shared_ptr<Stoppable>> sessions;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : live_) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  for (auto& session : sessions) session->Shutdown();
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  std::string address = endpoint.address().to_string(ec);
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

namespace {

// The HTTP side of one connection, shared by the plain and the TLS session (CRTP: Derived
// provides stream(), DoEof() and the start of the session). Lives as long as its pending
// operations; runs on the connection's strand.
template <typename Derived>
class HttpSession : public Stoppable {
 public:
  HttpSession(std::shared_ptr<SharedState> state, std::string remote, net::any_io_executor executor)
      : state_(std::move(state)),
        id_(state_->NextId()),
        remote_(std::move(remote)),
        executor_(std::move(executor)) {}
  ~HttpSession() override { state_->Unregister(id_); }

  void Shutdown() override {
    net::post(executor_, [self = Self()] {
      if (!self->released_) beast::get_lowest_layer(self->Stream()).close();
    });
  }

 protected:
  Derived& Self_() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> Self() { return Self_().shared_from_this(); }
  auto& Stream() { return Self_().stream(); }

  void Begin() { state_->Register(id_, Self()); }

  void DoRead() {
    const HubLimits& limits = state_->limits();
    parser_.emplace();
    parser_->body_limit(limits.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    beast::get_lowest_layer(Stream()).expires_after(limits.http_timeout);
    http::async_read(Stream(), buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, Self()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream) return Self_().DoEof();
    HubMetrics& metrics = state_->metrics();
    if (ec == http::error::body_limit) {
      metrics.http_requests.fetch_add(1);
      return Reply(ErrorResponse(413, "too_large",
                                 "request body is larger than the limit of " +
                                     std::to_string(state_->limits().max_body_bytes) + " bytes"),
                   /*head=*/false, /*version=*/11, /*keep_alive=*/false);
    }
    if (ec == http::error::header_limit) {
      metrics.http_requests.fetch_add(1);
      return Reply(ErrorResponse(431, "too_large",
                                 "request head is larger than the limit of " +
                                     std::to_string(state_->limits().max_header_bytes) + " bytes"),
                   false, 11, false);
    }
    if (ec && ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::partial_message) {
      metrics.http_requests.fetch_add(1);
      return Reply(ErrorResponse(400, "malformed", "bad HTTP request: " + ec.message()), false, 11,
                   false);
    }
    if (ec) return;  // timeout, reset, or a connection closed mid-request: nobody to answer

    UpgradeRequest request = parser_->release();
    metrics.http_requests.fetch_add(1);
    metrics.bytes_received.fetch_add(request.body().size());
    const bool head = request.method() == http::verb::head;
    std::string_view target(request.target().data(), request.target().size());

    HttpRequest routed;
    routed.method.assign(request.method_string().data(), request.method_string().size());
    routed.target = std::string(target);
    routed.headers.reserve(std::distance(request.begin(), request.end()));
    for (const auto& field : request) {
      std::string name(field.name_string().data(), field.name_string().size());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      routed.headers.emplace_back(std::move(name),
                                  std::string(field.value().data(), field.value().size()));
    }
    const HttpRouter& router = *state_->config().router;

    if (beast::websocket::is_upgrade(request)) {
      if (state_->stopping()) {
        return Reply(ErrorResponse(503, "unavailable", "the hub is stopping"), head,
                     request.version(), false);
      }
      WebSocketUpgrade upgrade = router.Upgrade(routed);
      if (upgrade.kind == WebSocketUpgrade::Kind::kRefused) {
        return Reply(std::move(upgrade.refusal), head, request.version(), false);
      }
      beast::get_lowest_layer(Stream()).expires_never();
      released_ = true;
      if (upgrade.kind == WebSocketUpgrade::Kind::kAgent) {
        RunAgentWebSocket(state_, Self_().ReleaseStream(), std::move(request), remote_);
      } else {
        RunPeerWebSocket(state_, Self_().ReleaseStream(), std::move(request), remote_,
                         std::move(upgrade.peer_session));
      }
      return;
    }

    routed.body = std::move(request.body());
    Reply(router.Handle(routed), head, request.version(), request.keep_alive());
  }

  void Reply(HttpResponse reply, bool head, unsigned version, bool keep_alive) {
    if (reply.status >= 400) state_->metrics().errors.fetch_add(1);
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), version);
    response->set(http::field::server, "vigil-hub");
    response->set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) response->set(name, value);
    response->keep_alive(keep_alive);
    if (head) {
      response->content_length(reply.body.size());
    } else {
      response->body() = std::move(reply.body);
      response->prepare_payload();
    }
    beast::get_lowest_layer(Stream()).expires_after(state_->limits().http_timeout);
    http::async_write(Stream(), *response, [self = Self(), response](beast::error_code ec, size_t) {
      self->OnWrite(ec, response->need_eof());
    });
  }

  void OnWrite(beast::error_code ec, bool close) {
    if (ec) return;
    if (close) return Self_().DoEof();
    DoRead();
  }

  const std::shared_ptr<SharedState> state_;
  const uint64_t id_;
  const std::string remote_;
  const net::any_io_executor executor_;  // the connection's strand
  bool released_ = false;                // the stream went to a WebSocket session
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

class PlainHttpSession : public HttpSession<PlainHttpSession>,
                         public std::enable_shared_from_this<PlainHttpSession> {
 public:
  PlainHttpSession(std::shared_ptr<SharedState> state, tcp::socket socket, std::string remote)
      : HttpSession(std::move(state), std::move(remote), socket.get_executor()),
        stream_(std::move(socket)) {}

  void Run() {
    Begin();
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&PlainHttpSession::DoRead, shared_from_this()));
  }

  PlainStream& stream() { return stream_; }
  PlainStream ReleaseStream() { return std::move(stream_); }

  // Half-close, then read what the client still sends until it closes too: closing at once
  // with unread data would reset the connection and could lose the response just written.
  void DoEof() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    DoDrain();
  }

 private:
  void DoDrain() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) self->DoDrain();
                            });
  }

  PlainStream stream_;
  char drain_[4096];
};

class TlsHttpSession : public HttpSession<TlsHttpSession>,
                       public std::enable_shared_from_this<TlsHttpSession> {
 public:
  TlsHttpSession(std::shared_ptr<SharedState> state, tcp::socket socket, net::ssl::context& ctx,
                 std::string remote)
      : HttpSession(std::move(state), std::move(remote), socket.get_executor()),
        stream_(std::move(socket), ctx.native_handle()) {}

  void Run() {
    Begin();
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_)
          .expires_after(self->state_->limits().handshake_timeout);
      self->stream_.async_handshake(
          beast::bind_front_handler(&TlsHttpSession::OnHandshake, self));
    });
  }

  TlsStream& stream() { return stream_; }
  TlsStream ReleaseStream() { return std::move(stream_); }

  void DoEof() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  void OnHandshake(beast::error_code ec) {
    state_->CountHandshake();
    if (ec) {
      // An agent or browser that does not trust the certificate ends up here.
      state_->metrics().errors.fetch_add(1);
      return;
    }
    DoRead();
  }

  TlsStream stream_;
};

// Accepts connections, each onto its own strand, until the acceptor is closed.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<SharedState> state,
           std::optional<net::ssl::context>& tls)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), state_(std::move(state)), tls_(tls) {}

  Status Listen(const tcp::endpoint& endpoint, const std::string& shown) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("listen on " + shown + ": " + ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    return Status::Ok();
  }

  // Fixed by Listen(); safe to read from any thread afterwards.
  uint16_t port() const { return port_; }

  void Run() { DoAccept(); }

  void Close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors, most likely: keep serving the connections there are.
      state_->metrics().errors.fetch_add(1);
      std::cerr << "vigil-hub: accept: " << ec.message() << "\n";
    } else {
      beast::error_code remote_ec;
      std::string remote = EndpointText(socket.remote_endpoint(remote_ec));
      if (tls_) {
        std::make_shared<TlsHttpSession>(state_, std::move(socket), *tls_, std::move(remote))
            ->Run();
      } else {
        std::make_shared<PlainHttpSession>(state_, std::move(socket), std::move(remote))->Run();
      }
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const std::shared_ptr<SharedState> state_;
  std::optional<net::ssl::context>& tls_;
  uint16_t port_ = 0;
};

Result<net::ssl::context> MakeTlsContext(const TransportConfig& config) {
  net::ssl::context ctx(net::ssl::context::tls_server);
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  // An idle connection gives its TLS read and write buffers back (about 34 KB each; TlsStream
  // sets it on each connection too): thousands of agents sit idle between questions.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  // Agents hold one connection for days and people's calls are few: resuming sessions saves
  // little, while a server-side session cache and tickets cost memory and work per connection.
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);
  // No tickets either, and after a TLS 1.3 handshake the SSL object goes (TlsRecords).
  TlsRecords::PrepareContext(ctx.native_handle());
  beast::error_code ec;
  ctx.use_certificate_chain_file(config.cert_file, ec);
  if (ec)
    return Status::InvalidArgument("TLS certificate " + config.cert_file + ": " + ec.message());
  ctx.use_private_key_file(config.key_file, net::ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("TLS key " + config.key_file + ": " + ec.message());
  return ctx;
}

class TransportImpl : public Transport {
 public:
  explicit TransportImpl(TransportConfig config)
      : state_(std::make_shared<SharedState>(std::move(config))),
        work_(net::make_work_guard(ioc_)) {}

  ~TransportImpl() override { Stop(); }

  Status Start() {
    const TransportConfig& config = state_->config();
    const std::string shown = config.address.find(':') == std::string::npos
                                  ? config.address + ":" + std::to_string(config.port)
                                  : "[" + config.address + "]:" + std::to_string(config.port);
    beast::error_code ec;
    net::ip::address address = net::ip::make_address(config.address, ec);
    if (ec) {
      return Status::InvalidArgument("listen address '" + config.address +
                                     "' is not an IP address");
    }
    if (config.tls) {
      auto ctx = MakeTlsContext(config);
      if (!ctx.ok()) return ctx.status();
      tls_.emplace(std::move(*ctx));
    }
    listener_ = std::make_shared<Listener>(ioc_, state_, tls_);
    VIGIL_RETURN_IF_ERROR(listener_->Listen(tcp::endpoint(address, config.port), shown));
    listener_->Run();
    const int threads = std::max(1, config.threads);
    running_ = threads;  // before any thread runs, so Stop() never sees 0 too early
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { RunThread(); });
    }
    if (config.tls) trimmer_ = std::thread([this] { ReturnHandshakeMemory(); });
    return Status::Ok();
  }

  uint16_t port() const override { return listener_ ? listener_->port() : 0; }

  void Stop() override {
    if (stopped_ || threads_.empty()) {
      stopped_ = true;
      return;
    }
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    listener_->Close();
    state_->ShutdownAll();
    work_.reset();
    // Closing handshakes get a moment; a peer that does not answer is cut off.
    {
      std::unique_lock lock(mutex_);
      done_.wait_for(lock, std::chrono::seconds(3), [this] { return running_ == 0; });
    }
    ioc_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    trim_cv_.notify_all();
    if (trimmer_.joinable()) trimmer_.join();
  }

 private:
  // A TLS handshake allocates tens of KB and frees nearly all of it when done, but glibc keeps
  // what it freed: after a wave of connections (every agent reconnecting to a restarted hub)
  // that is many MB resident for nothing (about 10 KB per agent at 1,000 agents). Once a wave
  // has paused for a second, malloc_trim gives the free pages back. On its own thread: it
  // takes a few milliseconds (30 with 10,000 agents connected); a person's few calls are no
  // wave and never wait for it.
  void ReturnHandshakeMemory() {
    constexpr auto kTick = std::chrono::milliseconds(250);
    constexpr int kQuietTicks = 4;     // a second without a handshake ends a wave
    constexpr uint64_t kWave = 64;     // handshakes since the last trim that make one
    uint64_t trimmed_at = state_->handshakes();
    uint64_t seen = trimmed_at;
    int quiet = 0;
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      trim_cv_.wait_for(lock, kTick);
      const uint64_t now = state_->handshakes();
      if (now != seen) {
        seen = now;
        quiet = 0;
      } else if (now - trimmed_at >= kWave && ++quiet >= kQuietTicks) {
        trimmed_at = now;
        lock.unlock();
        ::malloc_trim(0);
        lock.lock();
      }
    }
  }

  void RunThread() {
    for (;;) {
      try {
        ioc_.run();
        break;
      } catch (const std::exception& e) {
        // A handler threw (out of memory, most likely): log it and keep serving.
        std::cerr << "vigil-hub: network thread: " << e.what() << "\n";
      }
    }
    std::lock_guard lock(mutex_);
    if (--running_ == 0) done_.notify_all();
  }

  net::io_context ioc_;
  const std::shared_ptr<SharedState> state_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::optional<net::ssl::context> tls_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  std::thread trimmer_;
  bool stopped_ = false;  // read by the trimmer under mutex_

  std::mutex mutex_;
  std::condition_variable done_;
  std::condition_variable trim_cv_;
  int running_ = 0;  // guarded by mutex_
};

}  // namespace

Result<std::unique_ptr<Transport>> StartTransport(TransportConfig config) {
  auto transport = std::make_unique<TransportImpl>(std::move(config));
  VIGIL_RETURN_IF_ERROR(transport->Start());
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace vigil::server::internal
