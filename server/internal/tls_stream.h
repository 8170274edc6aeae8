// The server side of a TLS connection, small enough to hold ten thousand idle agents: OpenSSL
// reads and writes the socket itself (non-blocking, through a BIO that sends with
// MSG_NOSIGNAL), and the stream waits for the socket to be ready when OpenSSL asks it to.
//
// Why not asio's ssl::stream: it keeps two 17 KB buffers per connection for its whole life,
// plus a 2 x 17 KB BIO pair, about 53 KB before a byte is read. Here OpenSSL's record buffers
// are released between records, and once a TLS 1.3 handshake is done the records are
// protected by TlsRecords (tls_records.h) and the SSL object is freed: an idle connection
// then holds its keys and little else. Contexts get TlsRecords::PrepareContext() for that.
//
// A Beast stream (AsyncReadStream, AsyncWriteStream) and its own lowest layer: socket(),
// close(), expires_after(), expires_never() as beast::tcp_stream has them, so the HTTP session
// and the WebSocket session use it the way they use the plain stream. A deadline closes the
// socket, and the operation in progress completes with beast::error::timeout.
//
// Threading: like any asio I/O object, one operation of each kind (read, write) at a time, all
// on the socket's executor (a strand). OpenSSL is called on that strand only.
// Includes Beast: include it only from server/internal/sessions.h.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>

#include "server/internal/tls_records.h"

namespace vigil::server::internal {

class TlsStream {
 public:
  using executor_type = boost::asio::any_io_executor;

  // The server side of a new connection; call async_handshake() first.
  TlsStream(boost::asio::ip::tcp::socket socket, SSL_CTX* context);
  TlsStream(TlsStream&&) noexcept = default;
  TlsStream& operator=(TlsStream&&) noexcept = default;
  ~TlsStream();

  executor_type get_executor() { return core_->socket.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return core_->socket; }

  // Closes the socket; operations in progress complete with operation_aborted.
  void close();
  // From now on, the operations in progress and any started later must be done by then.
  void expires_after(std::chrono::steady_clock::duration after);
  void expires_never();

  template <typename Handler>
  auto async_handshake(Handler&& handler) {
    return Start<void(boost::beast::error_code)>(Kind::kHandshake, nullptr, 0, nullptr,
                                                 std::forward<Handler>(handler));
  }

  template <typename MutableBuffers, typename Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    // The first buffer with room; Beast reads into one buffer at a time.
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer buffer(*it);
      if (buffer.size() > 0) {
        return Start<void(boost::beast::error_code, std::size_t)>(
            Kind::kRead, buffer.data(), buffer.size(), nullptr, std::forward<Handler>(handler));
      }
    }
    return Start<void(boost::beast::error_code, std::size_t)>(Kind::kRead, nullptr, 0, nullptr,
                                                              std::forward<Handler>(handler));
  }

  template <typename ConstBuffers, typename Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    using Signature = void(boost::beast::error_code, std::size_t);
    // Beast writes a frame as its header and payload in two buffers: gather small ones into
    // one record rather than sending a header alone. The copy lives as long as the write (a
    // retry must offer the same bytes; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move).
    size_t total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && total < kGather; ++it) {
      boost::asio::const_buffer buffer(*it);
      if (buffer.size() == 0) continue;
      if (total == 0 && (buffer.size() >= kGather || IsLast(it, buffers))) {
        return Start<Signature>(Kind::kWrite, const_cast<void*>(buffer.data()), buffer.size(),
                                nullptr, std::forward<Handler>(handler));
      }
      total += std::min(buffer.size(), kGather - total);
    }
    auto gather = std::make_unique_for_overwrite<unsigned char[]>(total);
    const size_t size = boost::asio::buffer_copy(boost::asio::buffer(gather.get(), total), buffers);
    void* data = gather.get();
    return Start<Signature>(Kind::kWrite, data, size, std::move(gather),
                            std::forward<Handler>(handler));
  }

  // Sends close_notify; does not wait for the peer's (nothing more is read from it).
  template <typename Handler>
  auto async_shutdown(Handler&& handler) {
    return Start<void(boost::beast::error_code)>(Kind::kShutdown, nullptr, 0, nullptr,
                                                 std::forward<Handler>(handler));
  }

  // Whether OpenSSL's SSL object was let go after the handshake (TlsRecords has the records).
  bool released_openssl() const { return core_->ssl == nullptr && core_->records != nullptr; }

  // Beast's customization point: what its timeouts and teardown call to cut the connection.
  friend void beast_close_socket(TlsStream& stream) { stream.close(); }

 private:
  enum class Kind { kHandshake, kRead, kWrite, kShutdown };
  static constexpr size_t kGather = 16 * 1024;  // one TLS record

  // What one call into OpenSSL came to.
  struct Step {
    enum { kDone, kWantRead, kWantWrite } next = kDone;
    boost::beast::error_code error;
    size_t bytes = 0;
  };

  // Shared with the timer's handler, which may run after the stream moved or went away.
  struct Core {
    explicit Core(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    ~Core();
    boost::asio::ip::tcp::socket socket;
    SSL* ssl = nullptr;  // until TlsRecords takes over
    std::unique_ptr<TlsRecords> records;
    std::optional<boost::asio::steady_timer> timer;  // made by the first expires_after()
    uint64_t deadline = 0;  // which expires_after() the timer serves
    bool timed_out = false;
  };

  template <typename It, typename Buffers>
  static bool IsLast(It it, const Buffers& buffers) {
    return ++it == boost::asio::buffer_sequence_end(buffers);
  }

  // One attempt at the operation; never blocks.
  static Step Attempt(Core& core, Kind kind, void* data, size_t size);
  static Step AttemptRecords(Core& core, Kind kind, void* data, size_t size);
  // The error an operation completes with after its wait failed with `waited`.
  static boost::beast::error_code AfterWait(const Core& core, boost::beast::error_code waited);

  template <typename Signature>
  struct Operation {
    std::shared_ptr<Core> core;
    Kind kind;
    void* data;
    size_t size;
    std::unique_ptr<unsigned char[]> gather;  // what `data` points into, for a gathered write
    bool waited = false;                      // completing from a handler: complete at once
    std::optional<Step> finished;             // completed before any wait: posted first

    template <typename Self>
    void operator()(Self& self, boost::beast::error_code waited_ec = {}) {
      if (finished) return Complete(self, *finished);
      if (waited_ec) return Complete(self, Step{Step::kDone, AfterWait(*core, waited_ec), 0});
      Step step = Attempt(*core, kind, data, size);
      if (step.next != Step::kDone) {
        waited = true;
        core->socket.async_wait(step.next == Step::kWantRead
                                    ? boost::asio::socket_base::wait_read
                                    : boost::asio::socket_base::wait_write,
                                std::move(self));
        return;
      }
      if (!waited) {
        // An initiating function must not call its handler: go round the executor once.
        finished = step;
        boost::asio::post(core->socket.get_executor(), std::move(self));
        return;
      }
      Complete(self, step);
    }

    template <typename Self>
    void Complete(Self& self, const Step& step) {
      if constexpr (std::is_same_v<Signature, void(boost::beast::error_code)>) {
        self.complete(step.error);
      } else {
        self.complete(step.error, step.bytes);
      }
    }
  };

  template <typename Signature, typename Handler>
  auto Start(Kind kind, void* data, size_t size, std::unique_ptr<unsigned char[]> gather,
             Handler&& handler) {
    return boost::asio::async_compose<Handler, Signature>(
        Operation<Signature>{core_, kind, data, size, std::move(gather), false, std::nullopt}, handler,
        core_->socket);
  }

  std::shared_ptr<Core> core_;
};

// Beast's WebSocket teardown for this stream (found by argument-dependent lookup): close_notify,
// then the socket is closed; what the peer still sends is not read. The synchronous one only
// closes.
void teardown(boost::beast::role_type role, TlsStream& stream, boost::beast::error_code& ec);

template <typename Handler>
void async_teardown(boost::beast::role_type, TlsStream& stream, Handler&& handler) {
  stream.async_shutdown([&stream, handler = std::forward<Handler>(handler)](
                            boost::beast::error_code) mutable {
    stream.close();
    std::move(handler)(boost::beast::error_code{});
  });
}

}  // namespace vigil::server::internal
