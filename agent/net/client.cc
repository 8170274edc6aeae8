// HTTP(S) and WebSocket client over Boost.Beast and OpenSSL. Every operation runs on the
// client's own io_context, driven by the calling thread, with a deadline: a step that does not
// finish in time closes the socket and fails with the URL and the step named.
#include "agent/net/client.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <rapidjson/document.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <type_traits>

namespace vigil::agent::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using PlainStream = beast::tcp_stream;

struct Url {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string base_path;  // "" or "/prefix" (no trailing slash)
  std::string text;       // as given, without a trailing slash
};

// The Host header: "host:port", "[v6]:port".
std::string HostHeader(const Url& url) {
  if (url.host.find(':') != std::string::npos) return "[" + url.host + "]:" + url.port;
  return url.host + ":" + url.port;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(std::string(host), ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return address.to_v6().to_v4().is_loopback();
  }
  return address.is_loopback();
}

bool IsIpLiteral(std::string_view host) {
  boost::system::error_code ec;
  asio::ip::make_address(std::string(host), ec);
  return !ec;
}

Result<Url> ParseUrl(std::string_view text) {
  Url url;
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  url.text = std::string(text);
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("hub URL \"" + url.text + "\": " + std::string(why) +
                                   " (expected https://HOST:PORT or http://HOST:PORT)");
  };
  std::string_view rest = text;
  if (rest.substr(0, 8) == "https://") {
    url.tls = true;
    rest.remove_prefix(8);
  } else if (rest.substr(0, 7) == "http://") {
    url.tls = false;
    rest.remove_prefix(7);
  } else {
    return bad("the scheme must be https or http");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.base_path = std::string(rest.substr(slash));
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  if (port.empty()) {
    url.port = url.tls ? "443" : "80";
  } else {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("the port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    }
    url.port = std::string(port);
  }
  if (!url.tls && !IsLoopbackHost(url.host)) {
    return bad("plain http is allowed only to a loopback host; use https");
  }
  return url;
}

// "ABCD..." from "ab:cd:..": hex digits only, upper case; "" when another character is there.
std::string NormalizeFingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (c != ':') {
      return "";
    }
  }
  return out;
}

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return "";
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i == 0 ? "%02X" : ":%02X", md[i]);
    out += hex;
  }
  return out;
}

std::string Describe(const beast::error_code& ec) {
  if (ec == asio::error::timed_out) return "timed out";
  if (ec == asio::error::operation_aborted) return "cancelled";
  return ec.message();
}

// The transport under a stream: itself, or a WebSocket's next layer.
template <typename Stream>
struct Layers {
  using Transport = Stream;
  static Transport& transport(Stream& s) { return s; }
};
template <typename T>
struct Layers<websocket::stream<T>> {
  using Transport = T;
  static T& transport(websocket::stream<T>& s) { return s.next_layer(); }
};

// One connection's io_context, driven by the calling thread, and the stream over it (a
// transport, or a WebSocket over one).
template <typename Stream>
class Connection {
 public:
  static constexpr bool kTls = std::is_same_v<typename Layers<Stream>::Transport, TlsStream>;

  Connection(const ClientOptions& options, Url url)
      : options_(options), url_(std::move(url)), ssl_ctx_(ssl::context::tls_client) {}

  // Resolves, connects, and (for TLS) handshakes and checks the hub's certificate.
  Status Open() {
    if constexpr (kTls) {
      VIGIL_RETURN_IF_ERROR(ConfigureTls());
      stream_.emplace(ioc_, ssl_ctx_);
    } else {
      stream_.emplace(ioc_);
    }
    tcp::resolver resolver(ioc_);
    // Shared with the handler, which may run after a timeout (a lookup cannot be interrupted).
    auto endpoints = std::make_shared<tcp::resolver::results_type>();
    beast::error_code ec = Await(
        [&](auto handler) {
          resolver.async_resolve(url_.host, url_.port,
                                 [endpoints, handler](beast::error_code e, auto results) mutable {
                                   *endpoints = std::move(results);
                                   handler(e);
                                 });
        },
        [&] { resolver.cancel(); });
    if (ec) return Fail("cannot resolve " + url_.host, ec);
    std::vector<tcp::endpoint> targets;
    for (const auto& entry : *endpoints) {
      if (url_.tls || entry.endpoint().address().is_loopback()) {
        targets.push_back(entry.endpoint());
      }
    }
    if (targets.empty()) {
      return Status::InvalidArgument(url_.text + ": " + url_.host +
                                     " resolves to no loopback address; plain http is allowed "
                                     "only to loopback");
    }
    ec = Await([&](auto handler) {
      beast::get_lowest_layer(*stream_).async_connect(
          targets, [handler](beast::error_code e, const tcp::endpoint&) mutable { handler(e); });
    });
    if (ec) return Fail("cannot connect", ec);
    if constexpr (kTls) {
      TlsStream& tls = Layers<Stream>::transport(*stream_);
      if (!IsIpLiteral(url_.host)) {
        SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str());
      }
      ec = Await([&](auto handler) { tls.async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        long verify = SSL_get_verify_result(tls.native_handle());
        if (verify != X509_V_OK) {
          return Status::Unavailable(url_.text + ": TLS: the hub's certificate is not trusted (" +
                                     X509_verify_cert_error_string(verify) + ")" +
                                     (options_.tls.ca_file.empty()
                                          ? ""
                                          : " by the CA file " + options_.tls.ca_file));
        }
        return Fail("TLS handshake failed", ec);
      }
      if (!options_.tls.pinned_sha256.empty()) VIGIL_RETURN_IF_ERROR(CheckPin());
    }
    return Status::Ok();
  }

  // Runs the operation `start(handler)` until its handler ran or the options' timeout passed;
  // on timeout the socket is closed (and `cancel` called) and timed_out returned.
  template <typename Start>
  beast::error_code Await(Start start, std::function<void()> cancel = {}) {
    return AwaitFor(options_.timeout, std::move(start), std::move(cancel));
  }

  // `cancellable`: whether options.cancelled may cut the wait short (not for a closing
  // handshake, which is what a cancelled owner does next).
  template <typename Start>
  beast::error_code AwaitFor(std::chrono::milliseconds limit, Start start,
                             std::function<void()> cancel = {}, bool cancellable = true) {
    auto result = std::make_shared<std::optional<beast::error_code>>();
    start([result](beast::error_code ec, auto&&...) { *result = ec; });
    const Clock::time_point deadline = Clock::now() + limit;
    bool cancelled = false;
    while (!*result && Clock::now() < deadline) {
      if (cancellable && options_.cancelled && options_.cancelled()) {
        cancelled = true;
        break;
      }
      RunOneUntil(std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
    }
    if (*result) return **result;
    broken_ = true;
    if (cancel) cancel();
    CloseSocket();
    while (!*result) {
      if (!RunOneUntil(Clock::now() + std::chrono::seconds(1))) break;
    }
    return cancelled ? asio::error::operation_aborted : asio::error::timed_out;
  }

  // Runs at most one handler; false when there was nothing to run.
  bool RunOneUntil(Clock::time_point deadline) {
    if (ioc_.stopped()) ioc_.restart();
    return ioc_.run_one_until(deadline) > 0;
  }

  void Poll() {
    if (ioc_.stopped()) ioc_.restart();
    ioc_.poll();
  }

  void CloseSocket() {
    if (!stream_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().close(ignored);
  }

  Status Fail(std::string_view what, const beast::error_code& ec) const {
    return Status::Unavailable(url_.text + ": " + std::string(what) + ": " + Describe(ec));
  }

  Stream& stream() { return *stream_; }
  const Url& url() const { return url_; }
  const ClientOptions& options() const { return options_; }
  asio::io_context& ioc() { return ioc_; }
  bool broken() const { return broken_; }
  void set_broken() { broken_ = true; }

 private:
  Status ConfigureTls() {
    beast::error_code ec;
    const ClientTls& tls = options_.tls;
    if (!tls.pinned_sha256.empty()) {
      if (NormalizeFingerprint(tls.pinned_sha256).size() != 64) {
        return Status::InvalidArgument("pinned hub fingerprint \"" + tls.pinned_sha256 +
                                       "\" is not a SHA-256 (64 hex digits, colons allowed)");
      }
      // Checked against the leaf after the handshake (CheckPin), before anything is sent.
      ssl_ctx_.set_verify_mode(ssl::verify_none);
      return Status::Ok();
    }
    if (!tls.ca_file.empty()) {
      ssl_ctx_.load_verify_file(tls.ca_file, ec);
      if (ec) {
        return Status::InvalidArgument("CA file " + tls.ca_file + ": cannot load: " +
                                       ec.message());
      }
    } else {
      ssl_ctx_.set_default_verify_paths(ec);
      if (ec) return Fail("cannot load the system's CA certificates", ec);
    }
    ssl_ctx_.set_verify_mode(ssl::verify_peer);
    ssl_ctx_.set_verify_callback(ssl::host_name_verification(url_.host));
    return Status::Ok();
  }

  Status CheckPin() {
    X509* cert = SSL_get1_peer_certificate(Layers<Stream>::transport(*stream_).native_handle());
    if (cert == nullptr) {
      CloseSocket();
      return Status::Unavailable(url_.text + ": TLS: the hub sent no certificate");
    }
    std::string actual = Fingerprint(cert);
    X509_free(cert);
    if (NormalizeFingerprint(actual) != NormalizeFingerprint(options_.tls.pinned_sha256)) {
      CloseSocket();
      broken_ = true;
      return Status::PermissionDenied(url_.text + ": TLS: certificate fingerprint " + actual +
                                      " does not match the pinned " + options_.tls.pinned_sha256);
    }
    return Status::Ok();
  }

  const ClientOptions options_;
  const Url url_;
  asio::io_context ioc_{1};
  ssl::context ssl_ctx_;
  std::optional<Stream> stream_;
  bool broken_ = false;
};

template <typename Stream>
Result<HttpReply> DoHttpCall(const ClientOptions& options, Url url, std::string_view method,
                             std::string_view target, const Headers& headers,
                             std::string_view body, std::string_view content_type) {
  Connection<Stream> conn(options, std::move(url));
  VIGIL_RETURN_IF_ERROR(conn.Open());
  const std::string where = conn.url().text + std::string(target);
  http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) {
    return Status::InvalidArgument("HTTP method \"" + std::string(method) + "\" is unknown");
  }
  http::request<http::string_body> request(verb, conn.url().base_path + std::string(target), 11);
  request.set(http::field::host, HostHeader(conn.url()));
  request.set(http::field::user_agent, "vigil");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put) {
    request.set(http::field::content_type,
                beast::string_view(content_type.data(), content_type.size()));
    request.body() = std::string(body);
  }
  request.prepare_payload();
  beast::error_code ec = conn.Await(
      [&](auto handler) { http::async_write(conn.stream(), request, handler); });
  if (ec) return Status::Unavailable(where + ": cannot send the request: " + Describe(ec));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_frame_bytes);
  parser.header_limit(64u << 10);
  ec = conn.Await(
      [&](auto handler) { http::async_read(conn.stream(), buffer, parser, handler); });
  if (ec == http::error::body_limit) {
    return Status::ResourceExhausted(where + ": the reply's body is over " +
                                     std::to_string(options.max_frame_bytes) + " bytes");
  }
  if (ec) return Status::Unavailable(where + ": cannot read the reply: " + Describe(ec));
  auto& response = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  reply.content_type = std::string(response[http::field::content_type]);
  reply.body = std::move(response.body());
  conn.CloseSocket();
  return reply;
}

}  // namespace

std::string ErrorMessageOf(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    auto error = doc.FindMember("error");
    if (error != doc.MemberEnd() && error->value.IsObject()) {
      auto message = error->value.FindMember("message");
      if (message != error->value.MemberEnd() && message->value.IsString()) {
        return message->value.GetString();
      }
    }
  }
  constexpr size_t kMax = 300;
  std::string text(body.substr(0, kMax));
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (body.size() > kMax) text += "...";
  return text;
}

Status CheckOptions(const ClientOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(Url url, ParseUrl(options.url));
  if (!options.tls.pinned_sha256.empty() &&
      NormalizeFingerprint(options.tls.pinned_sha256).size() != 64) {
    return Status::InvalidArgument("pinned hub fingerprint \"" + options.tls.pinned_sha256 +
                                   "\" is not a SHA-256 (64 hex digits, colons allowed)");
  }
  if (!url.tls && (!options.tls.ca_file.empty() || !options.tls.pinned_sha256.empty())) {
    return Status::InvalidArgument("hub URL \"" + url.text +
                                   "\" is plain http: a CA file or fingerprint needs https");
  }
  return Status::Ok();
}

Result<HttpReply> HttpCall(const ClientOptions& options, std::string_view method,
                           std::string_view target, const Headers& headers, std::string_view body,
                           std::string_view content_type) {
  VIGIL_ASSIGN_OR_RETURN(Url url, ParseUrl(options.url));
  if (url.tls) {
    return DoHttpCall<TlsStream>(options, std::move(url), method, target, headers, body,
                                 content_type);
  }
  return DoHttpCall<PlainStream>(options, std::move(url), method, target, headers, body,
                                 content_type);
}

struct WebSocketClient::Impl {
  virtual ~Impl() = default;
  virtual Status Send(std::string_view text) = 0;
  virtual Result<std::optional<std::string>> Receive(std::chrono::milliseconds timeout) = 0;
  virtual void Close() = 0;
  std::string url;
};

namespace {

// A WebSocket over Connection<Stream>. A read, once started, stays pending across Receive()
// calls that time out, so no frame is lost and pings are answered while it waits.
template <typename Stream>
class WebSocketImpl : public WebSocketClient::Impl {
 public:
  WebSocketImpl(const ClientOptions& options, Url url) : conn_(options, std::move(url)) {
    this->url = conn_.url().text;
  }
  ~WebSocketImpl() override { Close(); }

  Status Open(std::string_view target, const Headers& headers) {
    VIGIL_RETURN_IF_ERROR(conn_.Open());
    ws_ = &conn_.stream();
    const std::string where = url + std::string(target);
    // The deadline of each step is the connection's; a silent hub is found by pings.
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = conn_.options().timeout;
    timeout.idle_timeout = std::chrono::seconds(60);
    timeout.keep_alive_pings = true;
    ws_->set_option(timeout);
    ws_->set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "vigil");
      for (const auto& [name, value] : headers) request.set(name, value);
    }));
    ws_->read_message_max(conn_.options().max_frame_bytes);
    ws_->auto_fragment(false);
    websocket::response_type response;
    beast::error_code ec = conn_.Await([&](auto handler) {
      ws_->async_handshake(response, HostHeader(conn_.url()),
                           conn_.url().base_path + std::string(target), handler);
    });
    if (ec == websocket::error::upgrade_declined) {
      return Status::Unavailable(where + ": the hub refused the WebSocket upgrade: HTTP " +
                                 std::to_string(response.result_int()) + ": " +
                                 ErrorMessageOf(response.body()));
    }
    if (ec) return Status::Unavailable(where + ": WebSocket handshake failed: " + Describe(ec));
    open_ = true;
    return Status::Ok();
  }

  Status Send(std::string_view text) override {
    VIGIL_RETURN_IF_ERROR(CheckOpen());
    ws_->text(true);
    beast::error_code ec = conn_.Await([&](auto handler) {
      ws_->async_write(asio::buffer(text.data(), text.size()), handler);
    });
    if (ec) {
      open_ = false;
      return Status::Unavailable(url + ": cannot send: " + Describe(ec));
    }
    return Status::Ok();
  }

  Result<std::optional<std::string>> Receive(std::chrono::milliseconds timeout) override {
    VIGIL_RETURN_IF_ERROR(CheckOpen());
    if (!read_pending_) {
      read_pending_ = true;
      read_result_.reset();
      ws_->async_read(buffer_, [this](beast::error_code ec, size_t) {
        read_pending_ = false;
        read_result_ = ec;
      });
    }
    const Clock::time_point deadline = Clock::now() + timeout;
    while (read_pending_ && Clock::now() < deadline) conn_.RunOneUntil(deadline);
    if (read_pending_) return std::optional<std::string>();
    beast::error_code ec = *read_result_;
    if (ec) {
      open_ = false;
      if (ec == websocket::error::closed) {
        const websocket::close_reason& reason = ws_->reason();
        std::string text = url + ": the hub closed the connection (code " +
                           std::to_string(reason.code);
        if (!reason.reason.empty()) text += ": " + std::string(reason.reason.c_str());
        return Status::Unavailable(text + ")");
      }
      if (ec == websocket::error::message_too_big) {
        return Status::ResourceExhausted(url + ": the hub sent a message over " +
                                         std::to_string(conn_.options().max_frame_bytes) +
                                         " bytes");
      }
      return Status::Unavailable(url + ": connection lost: " + Describe(ec));
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return std::optional<std::string>(std::move(text));
  }

  void Close() override {
    if (!ws_) return;
    if (open_ && !conn_.broken()) {
      open_ = false;
      conn_.AwaitFor(std::min<std::chrono::milliseconds>(conn_.options().timeout,
                                                         std::chrono::seconds(2)),
                     [&](auto handler) {
                       ws_->async_close(websocket::close_code::normal, handler);
                     },
                     {}, /*cancellable=*/false);
    }
    open_ = false;
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    // Let the handlers that the close made ready (a pending read's) run; others are destroyed
    // with the io_context, never run.
    conn_.Poll();
    ws_ = nullptr;
  }

 private:
  Status CheckOpen() const {
    if (!open_) return Status::Unavailable(url + ": the connection is closed");
    return Status::Ok();
  }

  Connection<websocket::stream<Stream>> conn_;
  websocket::stream<Stream>* ws_ = nullptr;  // conn_'s stream, once open
  beast::flat_buffer buffer_;
  bool open_ = false;
  bool read_pending_ = false;
  std::optional<beast::error_code> read_result_;
};

}  // namespace

WebSocketClient::WebSocketClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocketClient::~WebSocketClient() = default;

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::Connect(const ClientOptions& options,
                                                                  std::string_view target,
                                                                  const Headers& headers) {
  VIGIL_ASSIGN_OR_RETURN(Url url, ParseUrl(options.url));
  std::unique_ptr<Impl> impl;
  if (url.tls) {
    auto ws = std::make_unique<WebSocketImpl<TlsStream>>(options, std::move(url));
    VIGIL_RETURN_IF_ERROR(ws->Open(target, headers));
    impl = std::move(ws);
  } else {
    auto ws = std::make_unique<WebSocketImpl<PlainStream>>(options, std::move(url));
    VIGIL_RETURN_IF_ERROR(ws->Open(target, headers));
    impl = std::move(ws);
  }
  return std::unique_ptr<WebSocketClient>(new WebSocketClient(std::move(impl)));
}

Status WebSocketClient::Send(std::string_view text) { return impl_->Send(text); }

Result<std::optional<std::string>> WebSocketClient::Receive(std::chrono::milliseconds timeout) {
  return impl_->Receive(timeout);
}

void WebSocketClient::Close() { impl_->Close(); }

const std::string& WebSocketClient::url() const { return impl_->url; }

}  // namespace vigil::agent::net
