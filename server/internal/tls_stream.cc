// The OpenSSL side of TlsStream: the socket BIO, one non-blocking attempt at an operation, the
// deadline.
#include "server/internal/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <cstdint>
#include <new>

namespace vigil::server::internal {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a connection the peer
// closed; this one sends with MSG_NOSIGNAL. The descriptor is the BIO's data.
int Descriptor(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

bool WouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

int SocketWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(Descriptor(bio), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && WouldBlock(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int SocketRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(Descriptor(bio), data, static_cast<size_t>(size), 0);
  if (n < 0 && WouldBlock(errno)) BIO_set_retry_read(bio);
  return static_cast<int>(n);  // 0: the peer closed
}

long SocketControl(BIO*, int command, long, void*) {  // NOLINT(runtime/int): OpenSSL's type
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "vigil socket");
    if (m != nullptr) {
      BIO_meth_set_write(m, SocketWrite);
      BIO_meth_set_read(m, SocketRead);
      BIO_meth_set_ctrl(m, SocketControl);
    }
    return m;
  }();
  return method;
}

// An OpenSSL failure as an error code (OpenSSL's error queue is emptied).
beast::error_code OpenSslError(int ssl_error, int saved_errno) {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int)
  ERR_clear_error();
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return net::error::eof;  // the peer's close_notify
  if (code != 0) {
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return net::ssl::error::stream_truncated;
    }
    return beast::error_code(static_cast<int>(code), net::error::get_ssl_category());
  }
  if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
    return beast::error_code(saved_errno, beast::system_category());
  }
  return net::ssl::error::stream_truncated;  // the connection ended without close_notify
}

}  // namespace

TlsStream::Core::~Core() {
  if (ssl != nullptr) SSL_free(ssl);
}

TlsStream::TlsStream(net::ip::tcp::socket socket, SSL_CTX* context)
    : core_(std::make_shared<Core>(std::move(socket))) {
  beast::error_code ignored;
  core_->socket.non_blocking(true, ignored);
  const BIO_METHOD* method = SocketMethod();
  SSL* ssl = method != nullptr ? SSL_new(context) : nullptr;
  BIO* bio = ssl != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    if (ssl != nullptr) SSL_free(ssl);
    return;  // every operation fails with no_memory
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(core_->socket.native_handle())));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(ssl);
  core_->ssl = ssl;
  core_->records = TlsRecords::Watch(ssl);
}

TlsStream::~TlsStream() {
  if (core_ && core_->timer) core_->timer->cancel();  // its handler holds the core
}

void TlsStream::close() {
  if (core_->timer) core_->timer->cancel();
  beast::error_code ignored;
  core_->socket.close(ignored);
}

void TlsStream::expires_after(std::chrono::steady_clock::duration after) {
  Core& core = *core_;
  if (!core.timer) core.timer.emplace(core.socket.get_executor());
  core.timer->expires_after(after);
  const uint64_t deadline = ++core.deadline;
  core.timer->async_wait([core = core_, deadline](beast::error_code ec) {
    if (ec || core->deadline != deadline) return;  // cancelled, or a later deadline now
    core->timed_out = true;
    beast::error_code ignored;
    core->socket.close(ignored);
  });
}

void TlsStream::expires_never() {
  ++core_->deadline;
  if (core_->timer) core_->timer->cancel();
}

TlsStream::Step TlsStream::Attempt(Core& core, Kind kind, void* data, size_t size) {
  Step step;
  // A closed socket's descriptor number may already belong to another connection: OpenSSL
  // must not touch it again.
  if (!core.socket.is_open()) {
    step.error = core.timed_out ? beast::error_code(beast::error::timeout)
                                : beast::error_code(net::error::bad_descriptor);
    return step;
  }
  if (core.ssl == nullptr) {
    if (core.records) return AttemptRecords(core, kind, data, size);
    step.error = net::error::no_memory;
    return step;
  }
  if ((kind == Kind::kRead || kind == Kind::kWrite) && size == 0) return step;
  ERR_clear_error();
  int result = 0;
  switch (kind) {
    case Kind::kHandshake:
      result = SSL_do_handshake(core.ssl);
      break;
    case Kind::kRead:
      result = SSL_read_ex(core.ssl, data, size, &step.bytes);
      break;
    case Kind::kWrite:
      result = SSL_write_ex(core.ssl, data, size, &step.bytes);
      break;
    case Kind::kShutdown:
      result = SSL_shutdown(core.ssl);
      if (result >= 0) return step;  // 0: ours is sent; the peer's is not waited for
      break;
  }
  const int saved_errno = errno;
  if (result == 1) {
    if (kind == Kind::kHandshake && core.records) {
      if (core.records->TakeOver(core.ssl)) {
        SSL_free(core.ssl);
        core.ssl = nullptr;
      } else {
        core.records.reset();
      }
    }
    return step;
  }
  const int ssl_error = SSL_get_error(core.ssl, result);
  if (ssl_error == SSL_ERROR_WANT_READ) {
    ERR_clear_error();
    if (kind != Kind::kShutdown) step.next = Step::kWantRead;
    return step;
  }
  if (ssl_error == SSL_ERROR_WANT_WRITE) {
    ERR_clear_error();
    step.next = Step::kWantWrite;
    return step;
  }
  step.bytes = 0;
  step.error = OpenSslError(ssl_error, saved_errno);
  return step;
}

TlsStream::Step TlsStream::AttemptRecords(Core& core, Kind kind, void* data, size_t size) {
  const int socket = core.socket.native_handle();
  TlsRecords::Io io;
  switch (kind) {
    case Kind::kHandshake:
      return Step{};  // done already
    case Kind::kRead:
      io = core.records->Read(socket, data, size);
      break;
    case Kind::kWrite:
      io = core.records->Write(socket, data, size);
      break;
    case Kind::kShutdown:
      io = core.records->Shutdown(socket);
      break;
  }
  Step step;
  switch (io.result) {
    case TlsRecords::Io::kOk:
      step.bytes = io.bytes;
      break;
    case TlsRecords::Io::kWantRead:
      step.next = Step::kWantRead;
      break;
    case TlsRecords::Io::kWantWrite:
      step.next = Step::kWantWrite;
      break;
    case TlsRecords::Io::kEof:
      step.error = net::error::eof;
      break;
    case TlsRecords::Io::kTruncated:
      step.error = net::ssl::error::stream_truncated;
      break;
    case TlsRecords::Io::kSystem:
      step.error = beast::error_code(static_cast<int>(io.code), beast::system_category());
      break;
    case TlsRecords::Io::kProtocol:
      step.error = beast::error_code(static_cast<int>(io.code), net::error::get_ssl_category());
      break;
  }
  return step;
}

beast::error_code TlsStream::AfterWait(const Core& core, beast::error_code waited) {
  if (core.timed_out) return beast::error::timeout;
  return waited;
}

void teardown(beast::role_type, TlsStream& stream, beast::error_code& ec) {
  // Only when a WebSocket stream is torn down synchronously, which the hub never asks for:
  // the connection goes without close_notify.
  stream.close();
  ec = {};
}

}  // namespace vigil::server::internal
