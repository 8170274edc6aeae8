#include "agent/extension/transport.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <thrift/TApplicationException.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>
#include <thrift/transport/TTransportException.h>
#include <thrift/transport/TVirtualTransport.h>

namespace vigil::agent::extension {
namespace {

using apache::thrift::TConfiguration;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TTransportException;
using Clock = std::chrono::steady_clock;

// A TSocket whose reads and writes share one deadline: before each operation the socket's
// timeout is set to the time left, so a peer that sends one byte at a time cannot stretch a
// call past its limit.
class DeadlineSocket
    : public apache::thrift::transport::TVirtualTransport<DeadlineSocket> {
 public:
  DeadlineSocket(std::shared_ptr<TSocket> socket, Clock::time_point deadline)
      : TVirtualTransport(socket->getConfiguration()),
        socket_(std::move(socket)),
        deadline_(deadline) {}

  bool isOpen() const override { return socket_->isOpen(); }
  bool peek() override { return socket_->peek(); }
  void open() override { socket_->open(); }
  void close() override { socket_->close(); }

  uint32_t read(uint8_t* buf, uint32_t len) {
    socket_->setRecvTimeout(Remaining());
    return socket_->read(buf, len);
  }
  void write(const uint8_t* buf, uint32_t len) {
    socket_->setSendTimeout(Remaining());
    socket_->write(buf, len);
  }
  void flush() override { socket_->flush(); }

 private:
  int Remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) throw TTransportException(TTransportException::TIMED_OUT, "timed out");
    return static_cast<int>(std::min<long long>(left.count(), std::numeric_limits<int>::max()));
  }

  std::shared_ptr<TSocket> socket_;
  const Clock::time_point deadline_;
};

}  // namespace

std::shared_ptr<TConfiguration> LimitedConfiguration(size_t max_bytes) {
  int limit = static_cast<int>(std::min<size_t>(max_bytes, std::numeric_limits<int>::max()));
  return std::make_shared<TConfiguration>(limit, limit);
}

Result<Connection> Connect(const std::string& socket_path, std::chrono::milliseconds timeout,
                           size_t max_frame_bytes) {
  auto deadline = Clock::now() + timeout;
  auto config = LimitedConfiguration(max_frame_bytes);
  auto socket = std::make_shared<TSocket>(socket_path, config);
  socket->setConnTimeout(static_cast<int>(std::max<long long>(timeout.count(), 1)));
  socket->setLinger(false, 0);
  auto bounded = std::make_shared<DeadlineSocket>(socket, deadline);
  auto framed =
      std::make_shared<apache::thrift::transport::TFramedTransport>(bounded, config);
  Connection connection;
  connection.transport = framed;
  connection.protocol =
      std::make_shared<apache::thrift::protocol::TBinaryProtocol>(framed, 0, 0, true, true);
  try {
    framed->open();
  } catch (const apache::thrift::TException& e) {
    return Status::Unavailable(std::string(e.what()));
  }
  return connection;
}

Status ThriftError(std::string_view peer, const apache::thrift::TException& e) {
  const std::string where(peer);
  if (const auto* t = dynamic_cast<const TTransportException*>(&e)) {
    if (t->getType() == TTransportException::TIMED_OUT) {
      return Status::DeadlineExceeded(where + " did not answer in time");
    }
    if (t->getType() == TTransportException::END_OF_FILE) {
      return Status::Unavailable(where + " closed the connection");
    }
    if (t->getType() == TTransportException::CORRUPTED_DATA) {
      return Status::InvalidArgument(where + " sent a frame that is too large or malformed: " +
                                     t->what());
    }
    return Status::Unavailable(where + ": " + t->what());
  }
  if (dynamic_cast<const apache::thrift::protocol::TProtocolException*>(&e) != nullptr) {
    return Status::InvalidArgument(where + " sent a malformed message: " + e.what());
  }
  if (dynamic_cast<const apache::thrift::TApplicationException*>(&e) != nullptr) {
    return Status::InvalidArgument(where + " refused the call: " + e.what());
  }
  return Status::Internal(where + ": " + e.what());
}

static_assert(static_cast<int>(StatusCode::kInternal) == 11,
              "the wire codes of vigil_extension.thrift follow StatusCode's order");

wire::ExtensionStatus ToWire(const Status& status) {
  wire::ExtensionStatus out;
  out.code = static_cast<int32_t>(status.code());
  out.message = status.message();
  return out;
}

Status FromWire(const wire::ExtensionStatus& status) {
  static constexpr StatusCode kCodes[] = {
      StatusCode::kOk,           StatusCode::kInvalidArgument,   StatusCode::kNotFound,
      StatusCode::kAlreadyExists, StatusCode::kPermissionDenied, StatusCode::kFailedPrecondition,
      StatusCode::kResourceExhausted, StatusCode::kDeadlineExceeded, StatusCode::kUnavailable,
      StatusCode::kIoError,      StatusCode::kCorruption,        StatusCode::kInternal,
      StatusCode::kUnauthenticated};
  if (status.code == 0) return Status::Ok();
  StatusCode code = StatusCode::kInternal;
  if (status.code > 0 && static_cast<size_t>(status.code) < std::size(kCodes)) {
    code = kCodes[status.code];
  }
  std::string message = status.message.empty() ? "failed (code " + std::to_string(status.code) +
                                                     ")"
                                               : status.message;
  switch (code) {
    case StatusCode::kInvalidArgument: return Status::InvalidArgument(std::move(message));
    case StatusCode::kNotFound: return Status::NotFound(std::move(message));
    case StatusCode::kAlreadyExists: return Status::AlreadyExists(std::move(message));
    case StatusCode::kPermissionDenied: return Status::PermissionDenied(std::move(message));
    case StatusCode::kFailedPrecondition: return Status::FailedPrecondition(std::move(message));
    case StatusCode::kResourceExhausted: return Status::ResourceExhausted(std::move(message));
    case StatusCode::kDeadlineExceeded: return Status::DeadlineExceeded(std::move(message));
    case StatusCode::kUnavailable: return Status::Unavailable(std::move(message));
    case StatusCode::kIoError: return Status::IoError(std::move(message));
    case StatusCode::kCorruption: return Status::Corruption(std::move(message));
    case StatusCode::kUnauthenticated: return Status::Unauthenticated(std::move(message));
    default: return Status::Internal(std::move(message));
  }
}

}  // namespace vigil::agent::extension
