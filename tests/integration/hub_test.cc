// vigil-hub's network front. The real binary on 127.0.0.1 with a temporary state directory,
// asked with curl and openssl: TLS with a self-signed certificate that is made once and reused,
// its printed fingerprint, --insecure only on loopback, /healthz, /metrics, 404 and 413 bodies.
// Agent WebSockets with a Beast client over TLS: malformed and unknown messages get error
// frames on a connection that stays usable; an oversized frame closes only its connection
// (1009). In process (vigil::server::Hub): a slow consumer is dropped, idle agents are pinged,
// and Stop() says "going away" (1001).
#include "server/hub.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/testing/background.h"
#include "tests/testing/hub_process.h"
#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::ReadFile;
using testing::LineValue;

// `vigil-hub serve ARGS` in the background, its output in files under DIR.
class HubProcess : public testing::HubProcess {
 public:
  HubProcess(const std::string& dir, std::vector<std::string> args)
      : testing::HubProcess(VIGIL_HUB_BIN, dir, std::move(args)) {}
};

struct HttpReply {
  int curl_exit = -1;
  int status = 0;
  std::string body;
  std::string err;
};

// curl URL [extra...]; the status code comes from -w after the body.
HttpReply Curl(const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  ProcessResult run = RunProcess(argv);
  HttpReply reply;
  reply.curl_exit = run.exit_code;
  reply.err = run.err;
  size_t newline = run.out.rfind('\n');
  if (newline != std::string::npos) {
    reply.body = run.out.substr(0, newline);
    reply.status = std::atoi(run.out.c_str() + newline + 1);
  }
  return reply;
}

// {"error": {"code": C, "message": M}} -> C, or "<not an error body>".
std::string ErrorCode(const std::string& body, std::string* message = nullptr) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (!doc.IsObject() || !doc.HasMember("error") || !doc["error"].IsObject() ||
      !doc["error"].HasMember("code") || !doc["error"]["code"].IsString() ||
      !doc["error"].HasMember("message") || !doc["error"]["message"].IsString()) {
    return "<not an error body>";
  }
  if (message) *message = doc["error"]["message"].GetString();
  return doc["error"]["code"].GetString();
}

// The "type", "code" and "ref" of an agent frame.
struct Frame {
  std::string type, code, ref, message;
  int v = 0;
};
Frame ParseFrame(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  Frame frame;
  if (!doc.IsObject()) return frame;
  auto str = [&doc](const char* key) {
    return doc.HasMember(key) && doc[key].IsString() ? std::string(doc[key].GetString()) : "";
  };
  frame.type = str("type");
  frame.code = str("code");
  frame.ref = str("ref");
  frame.message = str("message");
  if (doc.HasMember("v") && doc["v"].IsInt()) frame.v = doc["v"].GetInt();
  return frame;
}

// An agent's WebSocket over TLS, trusting only `ca_file`. Every operation has a time limit.
class AgentClient {
 public:
  AgentClient(uint16_t port, const std::string& ca_file)
      : ctx_(ssl::context::tls_client), ws_(ioc_, ctx_) {
    beast::error_code ec;
    ctx_.load_verify_file(ca_file, ec);
    error_ = ec;
    ctx_.set_verify_mode(ssl::verify_peer);
    if (error_) return;
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    error_ =
        Await([&](auto handler) { beast::get_lowest_layer(ws_).async_connect(endpoint, handler); });
    if (!error_) {
      error_ = Await([&](auto handler) {
        ws_.next_layer().async_handshake(ssl::stream_base::client, handler);
      });
    }
    if (!error_) {
      error_ = Await([&](auto handler) {
        ws_.async_handshake("127.0.0.1:" + std::to_string(port), "/api/v1/agent", handler);
      });
    }
  }

  beast::error_code error() const { return error_; }

  beast::error_code Send(const std::string& text) {
    ws_.text(true);
    return Await([&](auto handler) { ws_.async_write(net::buffer(text), handler); });
  }

  // One frame, or the error that ended the read (websocket::error::closed: see close_code()).
  beast::error_code Read(std::string& text,
                         std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    beast::flat_buffer buffer;
    beast::error_code ec = Await([&](auto handler) { ws_.async_read(buffer, handler); }, limit);
    text = beast::buffers_to_string(buffer.data());
    return ec;
  }

  // Sends `text` and reads the answer as a frame.
  Frame Ask(const std::string& text) {
    Frame failed;
    if (auto ec = Send(text)) {
      failed.type = "<send failed: " + ec.message() + ">";
      return failed;
    }
    std::string reply;
    if (auto ec = Read(reply)) {
      failed.type = "<read failed: " + ec.message() + ">";
      return failed;
    }
    return ParseFrame(reply);
  }

  int close_code() const { return ws_.reason().code; }
  void OnControl(std::function<void(websocket::frame_type)> callback) {
    ws_.control_callback(
        [callback](websocket::frame_type kind, beast::string_view) { callback(kind); });
  }

 private:
  template <typename Start>
  beast::error_code Await(Start start, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(limit);
    if (!result) {
      beast::get_lowest_layer(ws_).close();
      ioc_.restart();
      ioc_.run();
      return net::error::timed_out;
    }
    return *result;
  }

  net::io_context ioc_;
  ssl::context ctx_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  beast::error_code error_;
};

// Polls GET /metrics (trusting `cert`) until it contains `line`; returns the last body.
std::string MetricsWith(const std::string& base, const std::string& cert, const std::string& line) {
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body = Curl(base + "/metrics", {"--cacert", cert}).body;
    if (body.find(line) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return body;
}

class HubBinaryTest : public ::testing::Test {
 protected:
  std::string State() const { return temp_.path() + "/state"; }
  std::vector<std::string> Tls() const {
    return {"--listen", "127.0.0.1:0", "--state-dir", State()};
  }
  std::string Https(const HubProcess& hub, const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(hub.port()) + path;
  }

  TempDir temp_;
};

TEST_F(HubBinaryTest, ServesHealthzOverTlsTrustedOnlyWithItsCertificate) {
  HubProcess hub(temp_.path(), Tls());
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  EXPECT_EQ(hub.url(), "https://127.0.0.1:" + std::to_string(hub.port()));
  EXPECT_EQ(hub.cert(), State() + "/tls/cert.pem");
  EXPECT_THAT(hub.err(), HasSubstr("made a self-signed certificate"));

  HttpReply trusted = Curl(Https(hub, "/healthz"), {"--cacert", hub.cert()});
  EXPECT_EQ(trusted.curl_exit, 0) << trusted.err;
  EXPECT_EQ(trusted.status, 200);
  EXPECT_EQ(trusted.body, "ok");

  HttpReply untrusted = Curl(Https(hub, "/healthz"));
  EXPECT_EQ(untrusted.curl_exit, 60) << untrusted.err;  // peer certificate cannot be verified
  EXPECT_THAT(untrusted.err, HasSubstr("certificate"));

  struct stat key;
  ASSERT_EQ(::stat((State() + "/tls/key.pem").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  EXPECT_EQ(hub.Terminate(), 0) << hub.err();
}

TEST_F(HubBinaryTest, PrintedFingerprintIsTheCertificatesSha256) {
  HubProcess hub(temp_.path(), Tls());
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  ProcessResult openssl =
      RunProcess({"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", hub.cert()});
  ASSERT_EQ(openssl.exit_code, 0) << openssl.err;
  std::string expected = openssl.out.substr(openssl.out.find('=') + 1);
  while (!expected.empty() && expected.back() == '\n') expected.pop_back();
  EXPECT_EQ(hub.fingerprint().size(), 95u);
  EXPECT_EQ(hub.fingerprint(), expected);
}

TEST_F(HubBinaryTest, RestartReusesTheCertificate) {
  std::string fingerprint, cert;
  {
    HubProcess first(temp_.path(), Tls());
    ASSERT_TRUE(first.WaitListening()) << first.err();
    fingerprint = first.fingerprint();
    cert = ReadFile(first.cert());
    ASSERT_EQ(first.Terminate(), 0) << first.err();
  }
  HubProcess second(temp_.path(), Tls());
  ASSERT_TRUE(second.WaitListening()) << second.err();
  EXPECT_EQ(second.fingerprint(), fingerprint);
  EXPECT_EQ(ReadFile(second.cert()), cert);
  EXPECT_THAT(second.err(), Not(HasSubstr("made a self-signed certificate")));
  HttpReply trusted = Curl(Https(second, "/healthz"), {"--cacert", second.cert()});
  EXPECT_EQ(trusted.status, 200) << trusted.err;
}

TEST_F(HubBinaryTest, OperatorCertificateIsServedAndAForeignKeyIsRefused) {
  // Two self-signed identities made by two hubs; then one hub is given the other's key.
  for (const char* dir : {"/a", "/b"}) {
    HubProcess hub(temp_.path(), {"--listen", "127.0.0.1:0", "--state-dir", temp_.path() + dir});
    ASSERT_TRUE(hub.WaitListening()) << hub.err();
  }
  const std::string cert = temp_.path() + "/a/tls/cert.pem";
  HubProcess own(temp_.path(), {"--listen", "127.0.0.1:0", "--state-dir", State(), "--tls-cert",
                                cert, "--tls-key", temp_.path() + "/a/tls/key.pem"});
  ASSERT_TRUE(own.WaitListening()) << own.err();
  EXPECT_EQ(own.cert(), cert);
  EXPECT_EQ(Curl(Https(own, "/healthz"), {"--cacert", cert}).status, 200);

  const std::string foreign = temp_.path() + "/b/tls/key.pem";
  ProcessResult refused =
      RunProcess({VIGIL_HUB_BIN, "serve", "--listen", "127.0.0.1:0", "--state-dir",
                  temp_.path() + "/c", "--tls-cert", cert, "--tls-key", foreign});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("TLS key " + foreign + " does not belong to the certificate"));
}

TEST_F(HubBinaryTest, InsecureIsRefusedOffLoopback) {
  ProcessResult run = RunProcess(
      {VIGIL_HUB_BIN, "serve", "--insecure", "--listen", "0.0.0.0:0", "--state-dir", State()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--insecure"));
  EXPECT_THAT(run.err, HasSubstr("only on a loopback address; 0.0.0.0:0 is not one"));
  EXPECT_EQ(run.out, "");
}

TEST_F(HubBinaryTest, InsecureOnLoopbackServesPlainHttp) {
  HubProcess hub(temp_.path(), {"--insecure", "--listen", "127.0.0.1:0", "--state-dir", State()});
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  EXPECT_EQ(hub.url(), "http://127.0.0.1:" + std::to_string(hub.port()));
  EXPECT_EQ(hub.fingerprint(), "");
  HttpReply reply = Curl("http://127.0.0.1:" + std::to_string(hub.port()) + "/healthz");
  EXPECT_EQ(reply.status, 200) << reply.err;
  EXPECT_EQ(reply.body, "ok");
  struct stat st;
  EXPECT_NE(::stat((State() + "/tls").c_str(), &st), 0) << "no certificate is made for plain HTTP";
}

TEST_F(HubBinaryTest, BadListenAddressAndPortInUseAreNamed) {
  ProcessResult bad =
      RunProcess({VIGIL_HUB_BIN, "serve", "--listen", "hub.example:8443", "--state-dir", State()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("'hub.example' is not an IPv4 or IPv6 address"));

  HubProcess hub(temp_.path(), Tls());
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  const std::string taken = "127.0.0.1:" + std::to_string(hub.port());
  ProcessResult busy =
      RunProcess({VIGIL_HUB_BIN, "serve", "--listen", taken, "--state-dir", temp_.path() + "/other"});
  EXPECT_EQ(busy.exit_code, 2);
  EXPECT_THAT(busy.err, HasSubstr("listen on " + taken + ": Address already in use"));
}

TEST_F(HubBinaryTest, MetricsNameEveryCounter) {
  HubProcess hub(temp_.path(), Tls());
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  ASSERT_EQ(Curl(Https(hub, "/healthz"), {"--cacert", hub.cert()}).status, 200);
  HttpReply metrics = Curl(Https(hub, "/metrics"), {"--cacert", hub.cert()});
  ASSERT_EQ(metrics.status, 200) << metrics.err;
  for (const char* name : {"vigil_hub_connected_agents 0\n", "vigil_hub_http_requests_total 2\n",
                           "vigil_hub_ws_messages_total{direction=\"received\"} 0\n",
                           "vigil_hub_bytes_received_total 0\n", "vigil_hub_errors_total",
                           "# TYPE vigil_hub_http_requests_total counter\n"}) {
    EXPECT_THAT(metrics.body, HasSubstr(name));
  }
}

TEST_F(HubBinaryTest, UnknownPathIs404WithTheErrorBody) {
  HubProcess hub(temp_.path(), Tls());
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  HttpReply reply = Curl(Https(hub, "/api/v1/nothing?x=1"), {"--cacert", hub.cert()});
  EXPECT_EQ(reply.status, 404);
  std::string message;
  EXPECT_EQ(ErrorCode(reply.body, &message), "not_found") << reply.body;
  EXPECT_EQ(message, "no route for GET /api/v1/nothing?x=1");

  HttpReply post = Curl(Https(hub, "/healthz"), {"--cacert", hub.cert(), "-d", "x"});
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(ErrorCode(post.body), "method_not_allowed") << post.body;

  HttpReply plain_get = Curl(Https(hub, "/api/v1/agent"), {"--cacert", hub.cert()});
  EXPECT_EQ(plain_get.status, 400);
  EXPECT_EQ(ErrorCode(plain_get.body), "malformed") << plain_get.body;
}

TEST_F(HubBinaryTest, BodyOverTheLimitIs413) {
  std::vector<std::string> args = Tls();
  args.insert(args.end(), {"--max-body-bytes", "1024"});
  HubProcess hub(temp_.path(), args);
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  temp_.WriteFile("/big", std::string(4096, 'x'));
  temp_.WriteFile("/small", std::string(1024, 'x'));
  HttpReply big = Curl(Https(hub, "/api/v1/queries"),
                       {"--cacert", hub.cert(), "--data-binary", "@" + temp_.path() + "/big"});
  EXPECT_EQ(big.status, 413) << big.err;
  std::string message;
  EXPECT_EQ(ErrorCode(big.body, &message), "too_large") << big.body;
  EXPECT_THAT(message, HasSubstr("1024 bytes"));
  HttpReply small = Curl(Https(hub, "/api/v1/queries"),
                         {"--cacert", hub.cert(), "--data-binary", "@" + temp_.path() + "/small"});
  // Within the limit: routed, and refused for want of a token.
  EXPECT_EQ(small.status, 401) << small.err;
  EXPECT_EQ(ErrorCode(small.body), "unauthenticated") << small.body;
}

TEST_F(HubBinaryTest, MalformedAndUnknownMessagesGetErrorFramesAndTheConnectionStays) {
  HubProcess hub(temp_.path(), Tls());
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  AgentClient agent(hub.port(), hub.cert());
  ASSERT_FALSE(agent.error()) << agent.error().message();

  Frame malformed = agent.Ask("this is not JSON");
  EXPECT_EQ(malformed.type, "error");
  EXPECT_EQ(malformed.v, 1);
  EXPECT_EQ(malformed.code, "malformed");
  EXPECT_THAT(malformed.message, HasSubstr("not JSON"));

  EXPECT_EQ(agent.Ask("[1, 2]").code, "malformed");
  EXPECT_EQ(agent.Ask(R"({"v": 1})").code, "malformed");

  Frame incomplete = agent.Ask(R"({"type": "hello", "v": 1, "host_identifier": "a"})");
  EXPECT_EQ(incomplete.type, "error");
  EXPECT_EQ(incomplete.code, "malformed");
  EXPECT_THAT(incomplete.message, HasSubstr("hello"));

  Frame unknown = agent.Ask(R"({"type": "gossip", "v": 1, "id": "c-17"})");
  EXPECT_EQ(unknown.code, "unknown_type");
  EXPECT_THAT(unknown.message, HasSubstr("gossip"));
  EXPECT_EQ(unknown.ref, "c-17");

  std::string metrics =
      MetricsWith(hub.url(), hub.cert(), "vigil_hub_ws_messages_total{direction=\"sent\"} 5\n");
  EXPECT_THAT(metrics, HasSubstr("vigil_hub_connected_agents 1\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_hub_ws_messages_total{direction=\"received\"} 5\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_hub_ws_messages_total{direction=\"sent\"} 5\n"));
}

TEST_F(HubBinaryTest, OversizedFrameClosesOnlyThatConnection) {
  std::vector<std::string> args = Tls();
  args.insert(args.end(), {"--max-frame-bytes", "65536"});
  HubProcess hub(temp_.path(), args);
  ASSERT_TRUE(hub.WaitListening()) << hub.err();
  AgentClient big(hub.port(), hub.cert());
  AgentClient other(hub.port(), hub.cert());
  ASSERT_FALSE(big.error()) << big.error().message();
  ASSERT_FALSE(other.error()) << other.error().message();

  // Exactly the limit is accepted.
  std::string at_limit = R"({"type":"x","v":1,"pad":")";
  at_limit += std::string(65536 - at_limit.size() - 2, 'p') + "\"}";
  ASSERT_EQ(at_limit.size(), 65536u);
  EXPECT_EQ(big.Ask(at_limit).code, "unknown_type");

  ASSERT_FALSE(big.Send(std::string(65537, 'x')));
  std::string reply;
  beast::error_code ec = big.Read(reply);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(big.close_code(), 1009);

  EXPECT_EQ(other.Ask(R"({"type": "hello", "v": 1})").code, "malformed");
  std::string metrics = MetricsWith(hub.url(), hub.cert(), "vigil_hub_connected_agents 1\n");
  EXPECT_THAT(metrics, HasSubstr("vigil_hub_connected_agents 1\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_hub_agents_dropped_total{reason=\"frame_too_large\"} 1\n"));
}

TEST_F(HubBinaryTest, HelpTellsTheFlags) {
  ProcessResult help = RunProcess({VIGIL_HUB_BIN, "serve", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--listen", "0.0.0.0:8443", "--state-dir", "/var/lib/vigil-hub",
                           "--tls-cert", "--tls-key", "--insecure", "--max-frame-bytes"}) {
    EXPECT_THAT(help.out, HasSubstr(flag));
  }
}

// In process: a session that answers "big" with `burst` frames of 256 KiB, anything else with
// two frames of 16 bytes.
class BurstSession : public server::AgentSession {
 public:
  BurstSession(std::shared_ptr<server::AgentChannel> channel, int burst, std::atomic<int>& sent,
               std::atomic<int>& refused)
      : channel_(std::move(channel)), burst_(burst), sent_(sent), refused_(refused) {}
  void OnMessage(std::string_view text) override {
    const bool big = text == "big";
    for (int i = 0, n = big ? burst_ : 2; i < n; ++i) {
      if (channel_->Send(std::string(big ? 256 << 10 : 16, 'r'))) {
        ++sent_;
      } else {
        ++refused_;
      }
    }
  }

 private:
  std::shared_ptr<server::AgentChannel> channel_;
  const int burst_;
  std::atomic<int>& sent_;
  std::atomic<int>& refused_;
};

class InProcessHubTest : public ::testing::Test {
 protected:
  server::HubOptions Options() {
    server::HubOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.state_dir = temp_.path() + "/state";
    return options;
  }
  std::string Cert() const { return temp_.path() + "/state/tls/cert.pem"; }
  TempDir temp_;
};

TEST_F(InProcessHubTest, SlowConsumerIsDroppedWithoutHarmToOthers) {
  std::atomic<int> sent{0}, refused{0};
  server::HubOptions options = Options();
  options.limits.max_send_queue = 4;
  options.agent_sessions = [&](std::shared_ptr<server::AgentChannel> channel) {
    return std::make_unique<BurstSession>(std::move(channel), 50, sent, refused);
  };
  server::Hub hub(std::move(options));
  ASSERT_TRUE(hub.Start().ok());

  AgentClient slow(hub.port(), Cert());
  AgentClient fine(hub.port(), Cert());
  ASSERT_FALSE(slow.error()) << slow.error().message();
  ASSERT_FALSE(fine.error()) << fine.error().message();
  // "big" asks for 50 frames of 256 KiB at once; the queue holds 4.
  ASSERT_FALSE(slow.Send("big"));
  std::string frame;
  beast::error_code ec;
  int read = 0;
  while (!(ec = slow.Read(frame, std::chrono::seconds(10)))) ++read;
  EXPECT_NE(ec, net::error::timed_out);
  EXPECT_LE(read, 4);
  EXPECT_EQ(sent.load(), 4);
  EXPECT_EQ(refused.load(), 46);
  EXPECT_EQ(hub.metrics().dropped_slow.load(), 1u);

  ASSERT_FALSE(fine.Send("a"));
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(fine.Read(frame)) << "frame " << i;
    EXPECT_EQ(frame.size(), 16u);
  }
  EXPECT_EQ(hub.metrics().connected_agents.load(), 1);
}

TEST_F(InProcessHubTest, FrameOverTheDefaultFourMebibytesIsClosedWith1009) {
  server::Hub hub(Options());
  ASSERT_TRUE(hub.Start().ok());
  AgentClient agent(hub.port(), Cert());
  AgentClient other(hub.port(), Cert());
  ASSERT_FALSE(agent.error()) << agent.error().message();
  ASSERT_FALSE(other.error()) << other.error().message();
  ASSERT_FALSE(agent.Send(std::string((4u << 20) + 1, 'x')));
  std::string frame;
  beast::error_code ec = agent.Read(frame);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(agent.close_code(), 1009);
  EXPECT_EQ(other.Ask("{}").code, "malformed");
  EXPECT_EQ(hub.metrics().dropped_too_large.load(), 1u);
}

TEST_F(InProcessHubTest, IdleAgentIsPingedAndStopSaysGoingAway) {
  server::HubOptions options = Options();
  options.limits.ping_interval = std::chrono::seconds(1);
  server::Hub hub(std::move(options));
  ASSERT_TRUE(hub.Start().ok());
  EXPECT_FALSE(hub.tls_fingerprint().empty());

  AgentClient agent(hub.port(), Cert());
  ASSERT_FALSE(agent.error()) << agent.error().message();
  std::atomic<int> pings{0};
  agent.OnControl([&pings](websocket::frame_type kind) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  std::string frame;
  // Nothing arrives but pings (answered by the client's read), so the read times out.
  EXPECT_EQ(agent.Read(frame, std::chrono::milliseconds(3500)), net::error::timed_out);
  EXPECT_GE(pings.load(), 2);

  AgentClient second(hub.port(), Cert());
  ASSERT_FALSE(second.error()) << second.error().message();
  std::thread stopper([&hub] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    hub.Stop();
  });
  beast::error_code ec = second.Read(frame, std::chrono::seconds(10));
  stopper.join();
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(second.close_code(), 1001);
}

TEST_F(InProcessHubTest, KeyWithoutCertificateIsNotReplaced) {
  temp_.WriteFile("/state/tls/key.pem", "a key an agent may have pinned\n");
  server::Hub hub(Options());
  Status status = hub.Start();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr(temp_.path() + "/state/tls/key.pem exists but " +
                                          temp_.path() + "/state/tls/cert.pem does not"));
  EXPECT_EQ(ReadFile(temp_.path() + "/state/tls/key.pem"), "a key an agent may have pinned\n");
}

TEST(ListenAddressTest, ParsesAndNamesWhatIsWrong) {
  auto v4 = server::ParseListenAddress("0.0.0.0:8443");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "0.0.0.0");
  EXPECT_EQ(v4->second, 8443);
  auto v6 = server::ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(server::ParseListenAddress("127.0.0.1").status().message(),
            "listen address '127.0.0.1': expected ADDR:PORT (an IPv6 address in brackets)");
  EXPECT_EQ(server::ParseListenAddress("127.0.0.1:70000").status().message(),
            "listen address '127.0.0.1:70000': port '70000' is not a number from 0 to 65535");
  EXPECT_TRUE(server::IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(server::IsLoopbackAddress("127.8.0.1"));
  EXPECT_TRUE(server::IsLoopbackAddress("::1"));
  EXPECT_TRUE(server::IsLoopbackAddress("::ffff:127.0.0.1"));
  EXPECT_FALSE(server::IsLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(server::IsLoopbackAddress("::"));
  EXPECT_FALSE(server::IsLoopbackAddress("10.0.0.1"));
}

}  // namespace
}  // namespace vigil
