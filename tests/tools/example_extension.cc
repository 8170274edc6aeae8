// A Vigil extension in C++: serves the table `example_rows` over its own UNIX socket and
// registers it with a daemon, then serves until killed. The extension tests start it, query
// the table through the daemon, and kill it.
//
//   example_extension --daemon DAEMON_SOCKET --socket OWN_SOCKET [--table NAME]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>
#include <thrift/transport/TSocket.h>

#include "agent/extension/gen/Daemon.h"
#include "agent/extension/gen/Extension.h"

namespace wire = vigil::agent::extension::wire;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TBinaryProtocolFactory;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TFramedTransportFactory;
using apache::thrift::transport::TServerSocket;
using apache::thrift::transport::TSocket;

namespace {

class Handler final : public wire::ExtensionIf {
 public:
  void ping(wire::ExtensionStatus& out) override { out.code = 0; }
  void call(wire::ExtensionResponse& out, const std::string& registry, const std::string& item,
            const std::map<std::string, std::string>& request) override {
    out.status.code = 0;
    out.response = {{{"id", "1"}, {"name", "alpha"}}, {{"id", "2"}, {"name", "beta"}}};
  }
};

// Listened on before serving, so registration never races the socket's creation.
class ListenedSocket final : public TServerSocket {
 public:
  using TServerSocket::TServerSocket;
  void listen() override {
    if (!listening_) TServerSocket::listen();
    listening_ = true;
  }

 private:
  bool listening_ = false;
};

wire::ColumnDefinition Column(std::string name, wire::ColumnType::type type) {
  wire::ColumnDefinition c;
  c.name = std::move(name);
  c.type = type;
  c.description = "An example column.";
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::string daemon;
  std::string own;
  std::string table = "example_rows";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--daemon") daemon = argv[i + 1];
    else if (flag == "--socket") own = argv[i + 1];
    else if (flag == "--table") table = argv[i + 1];
  }
  if (daemon.empty() || own.empty()) {
    std::cerr << "usage: example_extension --daemon SOCKET --socket OWN_SOCKET [--table NAME]\n";
    return 2;
  }
  try {
    ::unlink(own.c_str());
    auto socket = std::make_shared<ListenedSocket>(own);
    socket->listen();
    apache::thrift::server::TThreadedServer server(
        std::make_shared<wire::ExtensionProcessor>(std::make_shared<Handler>()), socket,
        std::make_shared<TFramedTransportFactory>(), std::make_shared<TBinaryProtocolFactory>());
    std::thread serving([&] { server.serve(); });

    auto transport = std::make_shared<TFramedTransport>(std::make_shared<TSocket>(daemon));
    wire::DaemonClient client(std::make_shared<TBinaryProtocol>(transport));
    transport->open();
    wire::ExtensionInfo info;
    info.name = "example";
    info.version = "1.0";
    info.socket_path = own;
    wire::TableSchema schema;
    schema.name = table;
    schema.description = "Two example rows served by the C++ example extension.";
    schema.columns = {Column("id", wire::ColumnType::INTEGER),
                      Column("name", wire::ColumnType::TEXT)};
    wire::RegistrationResponse response;
    client.registerExtension(response, info, {schema});
    transport->close();
    if (response.status.code != 0) {
      std::cerr << "example_extension: registration refused: " << response.status.message << "\n";
      return 1;
    }
    std::cout << "registered " << response.uuid << std::endl;
    serving.join();
  } catch (const std::exception& e) {
    std::cerr << "example_extension: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
