// The Thrift plumbing every side of the extension socket shares: how a connection is made
// (UNIX socket, framed transport, strict binary protocol, bounded frames), time limits on a
// whole call, and the one place Thrift's exceptions and wire statuses become vigil Statuses.
// Private to agent/extension/.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <thrift/Thrift.h>
#include <thrift/protocol/TProtocol.h>
#include <thrift/transport/TTransport.h>

#include "agent/extension/gen/vigil_extension_types.h"
#include "engine/status.h"

namespace vigil::agent::extension {

// Largest frame a client reads (a query result).
inline constexpr size_t kMaxResponseBytes = size_t{256} << 20;

// A framed binary-protocol connection to a UNIX socket whose every read and write must finish
// before one deadline, however the peer drips its bytes.
struct Connection {
  std::shared_ptr<apache::thrift::transport::TTransport> transport;
  std::shared_ptr<apache::thrift::protocol::TProtocol> protocol;
};

// Connects to `socket_path`. `timeout` bounds the connect and then every call made on the
// connection, from this moment; frames above max_frame_bytes are refused.
Result<Connection> Connect(const std::string& socket_path, std::chrono::milliseconds timeout,
                           size_t max_frame_bytes = kMaxResponseBytes);

// A Thrift configuration whose frames and messages are at most `max_bytes`.
std::shared_ptr<apache::thrift::TConfiguration> LimitedConfiguration(size_t max_bytes);

// Runs fn() and turns a Thrift exception into a Status naming `peer` ("the daemon at PATH"):
// Unavailable for transport failures, DeadlineExceeded for time-outs, InvalidArgument for
// protocol errors (a peer speaking something else).
template <typename F>
Status CatchThrift(std::string_view peer, F&& fn);

// The wire form of a Status and back. Code 0 is success; the others follow StatusCode's
// order (1 invalid argument, 2 not found, ... 11 internal); an unknown code is kInternal.
wire::ExtensionStatus ToWire(const Status& status);
Status FromWire(const wire::ExtensionStatus& status);

// For CatchThrift.
Status ThriftError(std::string_view peer, const apache::thrift::TException& e);

template <typename F>
Status CatchThrift(std::string_view peer, F&& fn) {
  try {
    fn();
    return Status::Ok();
  } catch (const apache::thrift::TException& e) {
    return ThriftError(peer, e);
  } catch (const std::exception& e) {
    return Status::Internal(std::string(peer) + ": " + e.what());
  }
}

}  // namespace vigil::agent::extension
