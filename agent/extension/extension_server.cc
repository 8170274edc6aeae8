#include "agent/extension/extension_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>

#include "agent/extension/extension_table.h"
#include "agent/extension/gen/Daemon.h"
#include "agent/extension/transport.h"

namespace vigil::agent {

using extension::ExtensionLink;
using extension::ExtensionTable;
namespace wire = extension::wire;
using Clock = std::chrono::steady_clock;

namespace {

// Thrift reports every client that disconnects or times out through its global output; the
// server says what matters through options.log instead.
void DiscardThriftOutput(const char*) {}

// A server socket that is listened on by Start(), so that errors reach the caller; the
// server's own listen() call is then a no-op.
class ListeningSocket final : public apache::thrift::transport::TServerSocket {
 public:
  using TServerSocket::TServerSocket;
  void listen() override {
    if (listening_) return;
    TServerSocket::listen();
    listening_ = true;
  }

 private:
  bool listening_ = false;
};

class FramedFactory final : public apache::thrift::transport::TTransportFactory {
 public:
  explicit FramedFactory(size_t max_bytes) : max_bytes_(max_bytes) {}
  std::shared_ptr<apache::thrift::transport::TTransport> getTransport(
      std::shared_ptr<apache::thrift::transport::TTransport> trans) override {
    return std::make_shared<apache::thrift::transport::TFramedTransport>(
        std::move(trans), extension::LimitedConfiguration(max_bytes_));
  }

 private:
  const size_t max_bytes_;
};

// Whether something accepts connections on the UNIX socket at `path`.
Result<bool> Answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::close(fd);
  if (rc == 0) return true;
  if (err == ECONNREFUSED || err == ENOENT) return false;
  return Status::FromErrno(err, "connect " + path);
}

}  // namespace

struct ExtensionServer::Impl {
  Impl(SharedEngine& engine, ExtensionServerOptions options)
      : engine(engine), options(std::move(options)) {}

  void Log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  Result<int64_t> Register(const wire::ExtensionInfo& info,
                           const std::vector<wire::TableSchema>& tables);
  // Takes the extension out of the table and removes its tables from the engine.
  Status Deregister(int64_t uuid, const std::string& why);
  void Housekeeping();
  void Serve();

  SharedEngine& engine;
  const ExtensionServerOptions options;

  std::shared_ptr<ListeningSocket> socket;
  std::unique_ptr<apache::thrift::server::TThreadedServer> server;
  std::thread serve_thread;
  std::thread housekeeping_thread;
  bool started = false;  // owner's thread only
  struct stat socket_stat {};

  struct Registered {
    ExtensionSummary summary;
    std::shared_ptr<ExtensionLink> link;
  };
  mutable std::mutex mutex;
  std::condition_variable wake;
  // Guarded by mutex.
  bool stopping = false;
  bool dead_pending = false;
  int64_t next_uuid = 1;
  std::map<int64_t, Registered> extensions;
};

namespace {

class DaemonHandler final : public wire::DaemonIf {
 public:
  explicit DaemonHandler(ExtensionServer::Impl& impl) : impl_(impl) {}

  void ping(wire::ExtensionStatus& out) override {
    out.code = 0;
    out.message = "vigil " VIGIL_VERSION;
  }

  void query(wire::ExtensionResponse& out, const std::string& sql) override {
    auto result = Run(sql, wire::ExecuteOptions());
    out.status = extension::ToWire(result.status());
    if (!result.ok()) return;
    for (const Row& row : result->rows) {
      std::map<std::string, std::string> cells;
      for (size_t i = 0; i < row.size() && i < result->columns.size(); ++i) {
        if (!row[i].is_null()) cells[result->columns[i]] = row[i].ToString();
      }
      out.response.push_back(std::move(cells));
    }
  }

  void getQueryColumns(wire::ExtensionResponse& out, const std::string& sql) override {
    auto columns = impl_.engine.UseWithin(
        impl_.options.engine_wait,
        [&](Database& db) -> Result<std::vector<std::string>> { return db.Check(sql); });
    out.status = extension::ToWire(columns.status());
    if (!columns.ok()) return;
    for (const std::string& name : *columns) out.response.push_back({{name, ""}});
  }

  void execute(wire::QueryResult& out, const std::string& sql,
               const wire::ExecuteOptions& options) override {
    auto result = Run(sql, options);
    out.status = extension::ToWire(result.status());
    if (!result.ok()) return;
    out.columns = result->columns;
    out.rows_total = static_cast<int64_t>(result->rows_total);
    out.warnings = result->warnings;
    out.rows.reserve(result->rows.size());
    for (const Row& row : result->rows) {
      std::vector<wire::Cell> cells(row.size());
      for (size_t i = 0; i < row.size(); ++i) {
        switch (row[i].type()) {
          case Value::Type::kNull: break;
          case Value::Type::kInteger: cells[i].__set_integer_value(row[i].integer()); break;
          case Value::Type::kReal: cells[i].__set_real_value(row[i].real()); break;
          case Value::Type::kText: cells[i].__set_text_value(row[i].text()); break;
        }
      }
      out.rows.push_back(std::move(cells));
    }
  }

  void registerExtension(wire::RegistrationResponse& out, const wire::ExtensionInfo& info,
                         const std::vector<wire::TableSchema>& tables) override {
    auto uuid = impl_.Register(info, tables);
    out.status = extension::ToWire(uuid.status());
    out.uuid = uuid.ok() ? *uuid : 0;
  }

  void deregisterExtension(wire::ExtensionStatus& out, const int64_t uuid) override {
    out = extension::ToWire(impl_.Deregister(uuid, "it deregistered"));
  }

  void extensions(std::map<int64_t, wire::RegisteredExtension>& out) override {
    std::lock_guard lock(impl_.mutex);
    for (const auto& [uuid, registered] : impl_.extensions) {
      wire::RegisteredExtension& e = out[uuid];
      e.info.name = registered.summary.name;
      e.info.version = registered.summary.version;
      e.info.socket_path = registered.summary.socket_path;
      e.tables = registered.summary.tables;
    }
  }

 private:
  Result<QueryResult> Run(const std::string& sql, const wire::ExecuteOptions& wire_options) {
    QueryOptions options;
    options.timeout = impl_.options.statement_timeout;
    if (wire_options.timeout_ms > 0 && wire_options.timeout_ms < options.timeout.count()) {
      options.timeout = std::chrono::milliseconds(wire_options.timeout_ms);
    }
    if (wire_options.max_rows > 0) options.max_rows = static_cast<size_t>(wire_options.max_rows);
    return impl_.engine.UseWithin(impl_.options.engine_wait, [&](Database& db) {
      return db.Query(sql, options);
    });
  }

  ExtensionServer::Impl& impl_;
};

}  // namespace

Result<int64_t> ExtensionServer::Impl::Register(const wire::ExtensionInfo& info,
                                                const std::vector<wire::TableSchema>& tables) {
  const std::string who = "extension " + (info.name.empty() ? "(unnamed)" : info.name);
  if (info.name.empty()) return Status::InvalidArgument("registerExtension: the name is empty");
  if (info.socket_path.empty() || info.socket_path[0] != '/') {
    return Status::InvalidArgument(who + ": socket_path must be an absolute path, got '" +
                                   info.socket_path + "'");
  }
  if (tables.empty()) return Status::InvalidArgument(who + ": registers no table");
  if (Status s = extension::PingExtension(info.socket_path, options.call_timeout); !s.ok()) {
    return s.WithContext(who + ": not registered");
  }
  auto link = std::make_shared<ExtensionLink>(info.name, info.socket_path, options.call_timeout,
                                              [this] {
                                                std::lock_guard lock(mutex);
                                                dead_pending = true;
                                                wake.notify_all();
                                              });
  ExtensionSummary summary;
  summary.name = info.name;
  summary.version = info.version;
  summary.socket_path = info.socket_path;
  std::vector<std::unique_ptr<Table>> made;
  for (const wire::TableSchema& schema : tables) {
    auto table = ExtensionTable::Make(schema, link);
    if (!table.ok()) return table.status().WithContext(who);
    summary.tables.push_back(schema.name);
    made.push_back(std::move(table).value());
  }
  {
    std::lock_guard lock(mutex);
    if (stopping) return Status::Unavailable("the daemon is stopping");
    summary.uuid = next_uuid++;
  }
  VIGIL_RETURN_IF_ERROR(engine.AddTables(std::move(made)).WithContext(who));
  {
    std::lock_guard lock(mutex);
    extensions[summary.uuid] = Registered{summary, link};
  }
  std::string names;
  for (const std::string& t : summary.tables) names += (names.empty() ? "" : ", ") + t;
  Log(who + " registered (uuid " + std::to_string(summary.uuid) + ", " + info.socket_path +
      "): " + names);
  return summary.uuid;
}

Status ExtensionServer::Impl::Deregister(int64_t uuid, const std::string& why) {
  Registered registered;
  {
    std::lock_guard lock(mutex);
    auto it = extensions.find(uuid);
    if (it == extensions.end()) {
      return Status::NotFound("no extension is registered with uuid " + std::to_string(uuid));
    }
    registered = std::move(it->second);
    extensions.erase(it);
  }
  // Its tables fail fast from now on, even before the engine lets them go.
  registered.link->MarkDead(why);
  Status removed = engine.RemoveTables(registered.summary.tables);
  Log("extension " + registered.summary.name + " unregistered: " + why);
  return removed;
}

void ExtensionServer::Impl::Housekeeping() {
  std::unique_lock lock(mutex);
  auto next_ping = Clock::now() + options.ping_interval;
  while (!stopping) {
    wake.wait_until(lock, next_ping, [&] { return stopping || dead_pending; });
    if (stopping) break;
    dead_pending = false;
    const bool ping = Clock::now() >= next_ping;
    if (ping) next_ping = Clock::now() + options.ping_interval;
    std::vector<std::pair<int64_t, std::shared_ptr<ExtensionLink>>> links;
    for (const auto& [uuid, registered] : extensions) links.emplace_back(uuid, registered.link);
    lock.unlock();
    for (const auto& [uuid, link] : links) {
      if (!link->dead() && ping) {
        if (Status s = extension::PingExtension(link->socket_path(), options.call_timeout);
            !s.ok()) {
          link->MarkDead("ping failed: " + s.message());
        }
      }
      if (link->dead()) (void)Deregister(uuid, link->reason());
    }
    lock.lock();
  }
}

void ExtensionServer::Impl::Serve() {
  try {
    server->serve();
  } catch (const std::exception& e) {
    Log(std::string("extension socket stopped serving: ") + e.what());
  }
}

ExtensionServer::ExtensionServer(SharedEngine& engine, ExtensionServerOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {}

ExtensionServer::~ExtensionServer() { Stop(); }

Status ExtensionServer::Start() {
  Impl& impl = *impl_;
  const std::string& path = impl.options.socket_path;
  const std::string where = "extension socket " + path;
  if (impl.started) return Status::FailedPrecondition(where + ": already started");
  if (path.empty()) return Status::InvalidArgument("the extension socket path is empty");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::InvalidArgument(where + ": the path is longer than " +
                                   std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                   " bytes, the limit of a UNIX socket");
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition(where + ": the path exists and is not a socket");
    }
    auto answers = Answers(path);
    if (!answers.ok()) return answers.status().WithContext(where);
    if (*answers) {
      return Status::FailedPrecondition(where + ": a server already answers there (is another "
                                        "vigil daemon running?)");
    }
    if (::unlink(path.c_str()) != 0) {
      return Status::FromErrno(errno, "remove the stale socket " + path);
    }
  } else if (errno != ENOENT) {
    return Status::FromErrno(errno, where);
  }

  apache::thrift::GlobalOutput.setOutputFunction(DiscardThriftOutput);
  impl.socket = std::make_shared<ListeningSocket>(path);
  auto timeout_ms = static_cast<int>(impl.options.client_timeout.count());
  impl.socket->setRecvTimeout(timeout_ms);
  impl.socket->setSendTimeout(timeout_ms);
  impl.socket->setInterruptableChildren(true);
  try {
    impl.socket->listen();
  } catch (const apache::thrift::TException& e) {
    impl.socket.reset();
    return Status::IoError(where + ": cannot listen: " + e.what());
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::stat(path.c_str(), &impl.socket_stat) != 0) {
    Status s = Status::FromErrno(errno, "chmod 0600 " + path);
    impl.socket->close();
    impl.socket.reset();
    ::unlink(path.c_str());
    return s;
  }

  auto handler = std::make_shared<DaemonHandler>(impl);
  auto processor = std::make_shared<wire::DaemonProcessor>(handler);
  const auto bytes = static_cast<int32_t>(impl.options.max_request_bytes);
  auto protocol = std::make_shared<
      apache::thrift::protocol::TBinaryProtocolFactoryT<apache::thrift::transport::TTransport>>(
      bytes, 100'000, true, true);
  impl.server = std::make_unique<apache::thrift::server::TThreadedServer>(
      processor, impl.socket, std::make_shared<FramedFactory>(impl.options.max_request_bytes),
      protocol);
  impl.server->setConcurrentClientLimit(static_cast<int64_t>(impl.options.max_clients));
  {
    std::lock_guard lock(impl.mutex);
    impl.stopping = false;
  }
  impl.serve_thread = std::thread([&impl] { impl.Serve(); });
  impl.housekeeping_thread = std::thread([&impl] { impl.Housekeeping(); });
  impl.started = true;
  impl.Log("extension socket listening on " + path);
  return Status::Ok();
}

void ExtensionServer::Stop() {
  Impl& impl = *impl_;
  if (!impl.started) return;
  impl.started = false;
  {
    std::lock_guard lock(impl.mutex);
    impl.stopping = true;
  }
  impl.wake.notify_all();
  impl.server->stop();
  impl.serve_thread.join();
  impl.housekeeping_thread.join();
  std::vector<int64_t> uuids;
  {
    std::lock_guard lock(impl.mutex);
    for (const auto& [uuid, registered] : impl.extensions) uuids.push_back(uuid);
  }
  for (int64_t uuid : uuids) (void)impl.Deregister(uuid, "the daemon is stopping");
  impl.server.reset();
  impl.socket.reset();
  // Remove the socket file only if it is still the one this server created.
  struct stat st {};
  const std::string& path = impl.options.socket_path;
  if (::lstat(path.c_str(), &st) == 0 && st.st_ino == impl.socket_stat.st_ino &&
      st.st_dev == impl.socket_stat.st_dev) {
    ::unlink(path.c_str());
  }
}

std::vector<ExtensionSummary> ExtensionServer::Extensions() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<ExtensionSummary> out;
  for (const auto& [uuid, registered] : impl_->extensions) out.push_back(registered.summary);
  return out;
}

}  // namespace vigil::agent
