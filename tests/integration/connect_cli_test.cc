// `vigil sql|shell --connect SOCKET`: statements sent to a running daemon's extension socket.
// The test hosts the socket itself (a SharedEngine over a fixture root and an ExtensionServer),
// so the rows prove where they came from: the fixture, not this machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/extension/extension_server.h"
#include "agent/shared_engine.h"
#include "tables/builtin.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunProcess;

ProcessResult Vigil(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), VIGIL_BIN);
  return RunProcess(args, input);
}

class ConnectCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = dir_.path() + "/vigil.sock";
    auto host = Host::Open(testing::FixtureRoot("debian12"));
    ASSERT_TRUE(host.ok());
    auto registry = std::make_unique<TableRegistry>();
    ASSERT_TRUE(tables::RegisterBuiltinTables(*registry).ok());
    auto engine = agent::SharedEngine::Open(std::move(host).value(), std::move(registry));
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    agent::ExtensionServerOptions options;
    options.socket_path = socket_;
    server_ = std::make_unique<agent::ExtensionServer>(*engine_, options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  testing::TempDir dir_;
  std::string socket_;
  std::unique_ptr<agent::SharedEngine> engine_;
  std::unique_ptr<agent::ExtensionServer> server_;
};

TEST_F(ConnectCliTest, SqlRunsOnTheDaemonInEveryFormat) {
  ProcessResult list = Vigil({"sql", "--connect", socket_,
                              "SELECT username, uid FROM users WHERE uid < 2 ORDER BY uid"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, "root|0\ndaemon|1\n");

  ProcessResult json = Vigil({"sql", "--connect", socket_, "--json",
                              "SELECT username, uid FROM users WHERE uid = 0"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr(R"({"username": "root", "uid": 0})"));

  ProcessResult capped = Vigil({"sql", "--connect", socket_, "--max-rows", "1",
                                "SELECT uid FROM users ORDER BY uid"});
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  EXPECT_EQ(capped.out, "0\n");
  EXPECT_THAT(capped.err, HasSubstr("printed 1 of"));
}

TEST_F(ConnectCliTest, StatementErrorsComeBackFromTheDaemon) {
  ProcessResult r = Vigil({"sql", "--connect", socket_, "SELECT nope FROM users"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("nope"));
}

TEST_F(ConnectCliTest, NothingListeningIsAClearError) {
  std::string missing = dir_.path() + "/nobody.sock";
  ProcessResult r = Vigil({"sql", "--connect", missing, "SELECT 1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot connect to " + missing));
}

TEST_F(ConnectCliTest, ConnectWithRootIsAUsageError) {
  ProcessResult r = Vigil({"sql", "--connect", socket_, "--root", dir_.path(), "SELECT 1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--connect and --root"));
  ProcessResult shell = Vigil({"shell", "--connect", socket_, "--root", dir_.path()}, "");
  EXPECT_EQ(shell.exit_code, 2);
}

TEST_F(ConnectCliTest, ShellRunsStatementsAndDotCommandsOnTheDaemon) {
  ProcessResult r = Vigil({"shell", "--connect", socket_},
                          ".tables vigil_col\n"
                          ".schema vigil_tables\n"
                          "SELECT username FROM users WHERE uid = 0;\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  => vigil_columns\n"));
  EXPECT_THAT(r.out, HasSubstr("CREATE TABLE vigil_tables(name TEXT INDEX, description TEXT"));
  EXPECT_THAT(r.out, HasSubstr("root\n"));
}

}  // namespace
}  // namespace vigil
