// The extension socket: a server over a SharedEngine on a temporary socket, real Thrift clients,
// and extensions (an in-process Thrift server, a separate C++ program, the Python example).
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>

#include "agent/extension/extension_client.h"
#include "agent/extension/extension_server.h"
#include "agent/extension/gen/Daemon.h"
#include "agent/extension/gen/Extension.h"
#include "agent/extension/transport.h"
#include "agent/shared_engine.h"
#include "tables/builtin.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace wire = extension::wire;
using Clock = std::chrono::steady_clock;

// Polls `done` until it holds or `limit` passes.
template <typename F>
bool Eventually(F&& done, std::chrono::milliseconds limit = 5000ms) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// ---------------------------------------------------------------------------------------------
// An extension served by a Thrift server on a thread of the test process.

class FakeExtensionHandler final : public wire::ExtensionIf {
 public:
  void ping(wire::ExtensionStatus& out) override { out.code = 0; }

  void call(wire::ExtensionResponse& out, const std::string& registry, const std::string& item,
            const std::map<std::string, std::string>& request) override {
    {
      std::unique_lock lock(mutex);
      ++calls;
      last_item = item;
      last_request = request;
      release.wait(lock, [&] { return !hang || released; });
    }
    out.status.code = 0;
    out.response = rows;
  }

  void Release() {
    std::lock_guard lock(mutex);
    released = true;
    release.notify_all();
  }

  std::vector<std::map<std::string, std::string>> rows;
  std::mutex mutex;
  std::condition_variable release;
  bool hang = false;
  bool released = false;
  int calls = 0;
  std::string last_item;
  std::map<std::string, std::string> last_request;
};

class IdempotentServerSocket final : public apache::thrift::transport::TServerSocket {
 public:
  using TServerSocket::TServerSocket;
  void listen() override {
    if (!listening_) TServerSocket::listen();
    listening_ = true;
  }

 private:
  bool listening_ = false;
};

class FakeExtension {
 public:
  explicit FakeExtension(std::string path) : path_(std::move(path)) {
    handler_ = std::make_shared<FakeExtensionHandler>();
    handler_->rows = {{{"id", "1"}, {"name", "one"}, {"score", "1.5"}},
                      {{"id", "2"}, {"name", "two"}}};
  }
  ~FakeExtension() { Stop(); }

  FakeExtensionHandler& handler() { return *handler_; }
  const std::string& path() const { return path_; }

  void Start() {
    auto socket = std::make_shared<IdempotentServerSocket>(path_);
    socket->listen();
    server_ = std::make_unique<apache::thrift::server::TThreadedServer>(
        std::make_shared<wire::ExtensionProcessor>(handler_), socket,
        std::make_shared<apache::thrift::transport::TFramedTransportFactory>(),
        std::make_shared<apache::thrift::protocol::TBinaryProtocolFactory>());
    thread_ = std::thread([this] { server_->serve(); });
  }
  void Stop() {
    if (!server_) return;
    handler_->Release();
    server_->stop();
    thread_.join();
    server_.reset();
    ::unlink(path_.c_str());
  }

 private:
  std::string path_;
  std::shared_ptr<FakeExtensionHandler> handler_;
  std::unique_ptr<apache::thrift::server::TThreadedServer> server_;
  std::thread thread_;
};

wire::TableSchema ExampleSchema(std::string name) {
  wire::TableSchema schema;
  schema.name = std::move(name);
  schema.description = "Rows served by a test extension.";
  auto column = [](std::string n, wire::ColumnType::type t) {
    wire::ColumnDefinition c;
    c.name = std::move(n);
    c.type = t;
    c.description = "A test column.";
    return c;
  };
  schema.columns = {column("id", wire::ColumnType::BIGINT), column("name", wire::ColumnType::TEXT),
                    column("score", wire::ColumnType::DOUBLE)};
  return schema;
}

// ---------------------------------------------------------------------------------------------

class ExtensionServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_path_ = dir_.path() + "/vigil.sock";
    auto host = Host::Open(testing::FixtureRoot("debian12"));
    ASSERT_TRUE(host.ok()) << host.status().message();
    auto registry = std::make_unique<TableRegistry>();
    ASSERT_TRUE(tables::RegisterBuiltinTables(*registry).ok());
    auto engine = SharedEngine::Open(std::move(host).value(), std::move(registry));
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
  }

  ExtensionServerOptions Options() {
    ExtensionServerOptions options;
    options.socket_path = socket_path_;
    options.call_timeout = 500ms;
    options.ping_interval = 200ms;
    options.client_timeout = 2000ms;
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mutex_);
      log_.emplace_back(line);
    };
    return options;
  }

  void StartServer() {
    server_ = std::make_unique<ExtensionServer>(*engine_, Options());
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  std::unique_ptr<ExtensionClient> Client() {
    auto client = ExtensionClient::Connect(socket_path_, 2000ms);
    EXPECT_TRUE(client.ok()) << client.status().message();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Registers through a raw Thrift client, as any extension would.
  wire::RegistrationResponse Register(const std::string& extension_socket,
                                      std::vector<wire::TableSchema> tables) {
    wire::RegistrationResponse response;
    auto connection = extension::Connect(socket_path_, 5000ms);
    EXPECT_TRUE(connection.ok()) << connection.status().message();
    if (!connection.ok()) return response;
    wire::DaemonClient client(connection->protocol);
    wire::ExtensionInfo info;
    info.name = "fake";
    info.version = "1.0";
    info.socket_path = extension_socket;
    client.registerExtension(response, info, tables);
    return response;
  }

  Result<QueryResult> Execute(const std::string& sql) {
    auto client = Client();
    if (client == nullptr) return Status::Unavailable("no client");
    return client->Execute(sql, QueryOptions{});
  }

  // Declared in the order they must be destroyed last to first: the server logs as it stops.
  testing::TempDir dir_;
  std::string socket_path_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
  std::unique_ptr<SharedEngine> engine_;
  std::unique_ptr<ExtensionServer> server_;
};

TEST(TableRegistryTest, RemoveDropsTheTableAndRefusesAnUnknownName) {
  TableRegistry registry;
  ASSERT_TRUE(tables::RegisterBuiltinTables(registry).ok());
  ASSERT_NE(registry.Find("users"), nullptr);
  EXPECT_TRUE(registry.Remove("users").ok());
  EXPECT_EQ(registry.Find("users"), nullptr);
  Status again = registry.Remove("users");
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_THAT(again.message(), HasSubstr("users"));
}

TEST_F(ExtensionServerTest, SocketIsCreatedWithMode0600AndRemovedOnStop) {
  StartServer();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server_->Stop();
  EXPECT_NE(::stat(socket_path_.c_str(), &st), 0);
}

TEST_F(ExtensionServerTest, RefusesAPathThatIsNotASocket) {
  dir_.WriteFile("/vigil.sock", "a file");
  ExtensionServer server(*engine_, Options());
  Status s = server.Start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(socket_path_));
  EXPECT_THAT(s.message(), HasSubstr("not a socket"));
}

TEST_F(ExtensionServerTest, StartErrorsNameThePath) {
  ExtensionServerOptions missing_dir = Options();
  missing_dir.socket_path = dir_.path() + "/no/such/dir/vigil.sock";
  ExtensionServer server(*engine_, missing_dir);
  Status s = server.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(missing_dir.socket_path));

  ExtensionServerOptions too_long = Options();
  too_long.socket_path = dir_.path() + "/" + std::string(120, 'x');
  ExtensionServer long_server(*engine_, too_long);
  Status l = long_server.Start();
  EXPECT_EQ(l.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(l.message(), HasSubstr("longer than"));
}

TEST_F(ExtensionServerTest, RefusesToStartWhereAServerAnswersAndReplacesAStaleSocket) {
  StartServer();
  ExtensionServer second(*engine_, Options());
  Status s = second.Start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("already answers"));
  EXPECT_TRUE(Client() != nullptr);  // the first one is unharmed

  server_->Stop();
  // A socket file nobody listens on, as a killed daemon leaves it.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ExtensionServer third(*engine_, Options());
  Status started = third.Start();
  EXPECT_TRUE(started.ok()) << started.message();
}

TEST_F(ExtensionServerTest, ClientRunsStatementsOnTheDaemonsEngine) {
  StartServer();
  auto result = Execute("SELECT username, uid FROM users WHERE uid < 2 ORDER BY uid");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_THAT(result->columns, ElementsAre("username", "uid"));
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(result->rows[0], (Row{Value("root"), Value(0)}));
  EXPECT_EQ(result->rows[1], (Row{Value("daemon"), Value(1)}));

  auto client = Client();
  ASSERT_NE(client, nullptr);
  QueryOptions capped;
  capped.max_rows = 1;
  auto one = client->Execute("SELECT uid FROM users", capped);
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->rows.size(), 1u);
  EXPECT_GT(one->rows_total, 1u);

  auto columns = client->Columns("SELECT username, uid AS id FROM users");
  ASSERT_TRUE(columns.ok()) << columns.status().message();
  EXPECT_THAT(*columns, ElementsAre("username", "id"));
}

TEST_F(ExtensionServerTest, StatementErrorsCarryTheEnginesCodeAndMessage) {
  StartServer();
  auto bad = Execute("SELECT nope FROM users");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("nope"));
  auto write = Execute("DELETE FROM users");
  EXPECT_EQ(write.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ExtensionServerTest, OsqueryShapedQueryReturnsTextMaps) {
  StartServer();
  auto connection = extension::Connect(socket_path_, 2000ms);
  ASSERT_TRUE(connection.ok());
  wire::DaemonClient client(connection->protocol);
  wire::ExtensionResponse response;
  client.query(response, "SELECT username, uid, NULL AS missing FROM users WHERE uid = 0");
  EXPECT_EQ(response.status.code, 0) << response.status.message;
  ASSERT_EQ(response.response.size(), 1u);
  EXPECT_EQ(response.response[0],
            (std::map<std::string, std::string>{{"uid", "0"}, {"username", "root"}}));
  wire::ExtensionStatus pong;
  client.ping(pong);
  EXPECT_EQ(pong.code, 0);
}

TEST_F(ExtensionServerTest, ConnectingWhereNothingListensNamesThePath) {
  auto client = ExtensionClient::Connect(socket_path_, 500ms);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("cannot connect to " + socket_path_));
}

TEST_F(ExtensionServerTest, ExtensionTableIsServedInSql) {
  StartServer();
  FakeExtension ext(dir_.path() + "/ext.sock");
  ext.Start();
  auto registered = Register(ext.path(), {ExampleSchema("fake_rows")});
  ASSERT_EQ(registered.status.code, 0) << registered.status.message;
  EXPECT_GT(registered.uuid, 0);

  auto result = Execute("SELECT id, name, score FROM fake_rows WHERE name IN ('one', 'two') "
                        "ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(result->rows[0], (Row{Value(1), Value("one"), Value(1.5)}));
  EXPECT_EQ(result->rows[1], (Row{Value(2), Value("two"), Value::Null()}));
  {
    std::lock_guard lock(ext.handler().mutex);
    EXPECT_EQ(ext.handler().last_item, "fake_rows");
    EXPECT_EQ(ext.handler().last_request.at("action"), "generate");
    EXPECT_EQ(ext.handler().last_request.at("constraints"),
              R"({"name":[{"op":"=","values":["one","two"]}]})");
  }
  // Joined with a built-in table, and listed by the introspection tables.
  auto joined = Execute("SELECT u.username FROM fake_rows f JOIN users u ON u.uid + 1 = f.id "
                        "ORDER BY f.id");
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  EXPECT_EQ(joined->rows, (std::vector<Row>{{Value("root")}, {Value("daemon")}}));
  auto listed = Execute("SELECT name FROM vigil_tables WHERE name = 'fake_rows'");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->rows.size(), 1u);

  auto extensions = Client()->Extensions();
  ASSERT_TRUE(extensions.ok());
  ASSERT_EQ(extensions->size(), 1u);
  EXPECT_EQ((*extensions)[0].uuid, registered.uuid);
  EXPECT_THAT((*extensions)[0].tables, ElementsAre("fake_rows"));
}

TEST_F(ExtensionServerTest, DeregisterRemovesTheTablesOnce) {
  StartServer();
  FakeExtension ext(dir_.path() + "/ext.sock");
  ext.Start();
  auto registered = Register(ext.path(), {ExampleSchema("fake_rows"), ExampleSchema("fake_more")});
  ASSERT_EQ(registered.status.code, 0) << registered.status.message;
  ASSERT_TRUE(engine_->HasTable("fake_more"));
  auto connection = extension::Connect(socket_path_, 2000ms);
  ASSERT_TRUE(connection.ok());
  wire::DaemonClient client(connection->protocol);
  wire::ExtensionStatus status;
  client.deregisterExtension(status, registered.uuid);
  EXPECT_EQ(status.code, 0) << status.message;
  EXPECT_FALSE(engine_->HasTable("fake_rows"));
  EXPECT_FALSE(engine_->HasTable("fake_more"));
  client.deregisterExtension(status, registered.uuid);
  EXPECT_EQ(extension::FromWire(status).code(), StatusCode::kNotFound);
}

TEST_F(ExtensionServerTest, RegistrationIsRefusedWithAClearReason) {
  StartServer();
  // Nothing listens on the extension's socket.
  auto unreachable = Register(dir_.path() + "/nobody.sock", {ExampleSchema("fake_rows")});
  EXPECT_NE(unreachable.status.code, 0);
  EXPECT_THAT(unreachable.status.message, HasSubstr("nobody.sock"));

  FakeExtension ext(dir_.path() + "/ext.sock");
  ext.Start();
  // A name a built-in table uses.
  auto clash = Register(ext.path(), {ExampleSchema("users")});
  EXPECT_NE(clash.status.code, 0);
  EXPECT_THAT(clash.status.message, HasSubstr("users"));
  // A bad column type.
  wire::TableSchema bad = ExampleSchema("fake_rows");
  bad.columns[0].type = static_cast<wire::ColumnType::type>(42);
  auto typed = Register(ext.path(), {bad});
  EXPECT_THAT(typed.status.message, HasSubstr("unknown column type 42"));
  EXPECT_TRUE(Execute("SELECT count(*) FROM users").ok());
}

TEST_F(ExtensionServerTest, StoppedExtensionIsUnregisteredAndQueriesKeepWorking) {
  StartServer();
  auto ext = std::make_unique<FakeExtension>(dir_.path() + "/ext.sock");
  ext->Start();
  ASSERT_EQ(Register(ext->path(), {ExampleSchema("fake_rows")}).status.code, 0);
  ASSERT_TRUE(Execute("SELECT * FROM fake_rows").ok());
  ext.reset();
  EXPECT_TRUE(Eventually([&] { return !engine_->HasTable("fake_rows"); }));
  EXPECT_TRUE(server_->Extensions().empty());
  auto gone = Execute("SELECT * FROM fake_rows");
  EXPECT_THAT(gone.status().message(), HasSubstr("no such table"));
  EXPECT_TRUE(Execute("SELECT count(*) FROM users").ok());
}

TEST_F(ExtensionServerTest, HangingExtensionIsTimedOutAndUnregistered) {
  StartServer();
  FakeExtension ext(dir_.path() + "/ext.sock");
  ext.Start();
  ASSERT_EQ(Register(ext.path(), {ExampleSchema("fake_rows")}).status.code, 0);
  {
    std::lock_guard lock(ext.handler().mutex);
    ext.handler().hang = true;
  }
  auto start = Clock::now();
  auto hung = Execute("SELECT * FROM fake_rows");
  auto took = Clock::now() - start;
  EXPECT_FALSE(hung.ok());
  EXPECT_THAT(hung.status().message(), HasSubstr("did not answer in time"));
  EXPECT_LT(took, 1500ms);  // call timeout 500 ms
  EXPECT_TRUE(Eventually([&] { return !engine_->HasTable("fake_rows"); }));
  EXPECT_TRUE(Execute("SELECT count(*) FROM users").ok());
  std::lock_guard lock(log_mutex_);
  EXPECT_THAT(log_, ::testing::Contains(HasSubstr("extension fake unregistered")));
}

// Sends raw bytes to the socket and reports whether the server closed the connection.
bool SendAndExpectClose(const std::string& path, const std::string& bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return false;
  }
  (void)!::write(fd, bytes.data(), bytes.size());
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[256];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
  }
  // Closed with our bytes unread, the connection is reset rather than ended; a timeout
  // (EAGAIN) means the server kept it open.
  bool closed = n == 0 || errno == ECONNRESET;
  ::close(fd);
  return closed;
}

TEST_F(ExtensionServerTest, GarbageOnTheSocketClosesThatClientOnly) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(SendAndExpectClose(socket_path_, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(SendAndExpectClose(socket_path_, std::string("\x7f\xff\xff\xff", 4) + "xxxx"));
  EXPECT_TRUE(SendAndExpectClose(socket_path_, std::string("\x00\x00\x00\x08", 4) +
                                                   std::string("\x80\x01\x00\x01zzzz", 8)));
  auto result = client->Execute("SELECT count(*) FROM users", QueryOptions{});
  ASSERT_TRUE(result.ok()) << result.status().message();
}

TEST_F(ExtensionServerTest, StopReturnsPromptlyWithAnIdleClientConnected) {
  StartServer();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::this_thread::sleep_for(50ms);
  auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, 1000ms);
  ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// Extensions in their own processes.

pid_t Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  return pid;
}

void KillAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST_F(ExtensionServerTest, ExtensionProcessKilledIsUnregistered) {
  StartServer();
  std::string ext_socket = dir_.path() + "/example.sock";
  pid_t pid = Spawn({EXAMPLE_EXTENSION_BIN, "--daemon", socket_path_, "--socket", ext_socket});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(Eventually([&] { return engine_->HasTable("example_rows"); }))
      << "the example extension did not register";
  auto result = Execute("SELECT id, name FROM example_rows ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->rows, (std::vector<Row>{{Value(1), Value("alpha")}, {Value(2), Value("beta")}}));

  KillAndReap(pid);
  EXPECT_TRUE(Eventually([&] { return !engine_->HasTable("example_rows"); }));
  EXPECT_TRUE(Execute("SELECT count(*) FROM users").ok());
}

TEST_F(ExtensionServerTest, PythonExampleExtensionRegistersATable) {
  if (std::system("python3 -c 'import thrift' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 cannot import thrift (Debian package python3-thrift is not "
                    "installed)";
  }
  StartServer();
  std::string ext_socket = dir_.path() + "/python.sock";
  pid_t pid = Spawn({"/usr/bin/env", "python3",
                     VIGIL_SOURCE_DIR "/tests/fixtures/extensions/example_extension.py",
                     "--generated", THRIFT_PY_DIR, "--daemon", socket_path_, "--socket",
                     ext_socket});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(Eventually([&] { return engine_->HasTable("python_rows"); }, 10'000ms));
  auto result = Execute("SELECT id, name FROM python_rows ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->rows, (std::vector<Row>{{Value(1), Value("alpha")}, {Value(2), Value("beta")}}));
  KillAndReap(pid);
  EXPECT_TRUE(Eventually([&] { return !engine_->HasTable("python_rows"); }));
}

}  // namespace
}  // namespace vigil::agent
