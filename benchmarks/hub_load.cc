// hub_load: many simulated agents against a real vigil-hub, from one process.
//
// It starts `vigil-hub serve` on loopback with a fresh state dir, makes an admin token with
// `vigil-hub token create`, connects N agents (each a real WebSocket client over TLS speaking
// the real protocol: hello with the enroll secret, welcome, query -> query_result), then
// measures through the people's API what an analyst sees:
//   - the hub's resident memory before the agents and with all of them connected and idle;
//   - live-query latency: for a one-row query to all agents, the time from submitting it
//     (POST /api/v1/queries) to each agent's answer reaching the analyst's stream, and to the
//     last one; median and p99 over every answer of every round;
//   - ingest: a query whose every answer carries R rows; rows per second from submit to the
//     last answer on the stream.
// Results go to standard output as Markdown lines for benchmarks/RESULTS.md.
//
//   hub_load --hub-bin build/cli/vigil-hub --agents 1000 [--rounds 20] [--rows 1000]
//
// The agents do not verify the hub's certificate (it is the one the hub just made, on
// loopback); everything else is what a real agent does. Both processes raise their open-file
// limit; 10,000 agents need about 20,000 descriptors on this machine.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/net/client.h"
#include "engine/wire/messages.h"

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
namespace wire = vigil::wire;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "hub_load: " << message << "\n";
  std::exit(2);
}

// --- the hub process ---------------------------------------------------------------------

struct HubProcess {
  pid_t pid = -1;
  std::string url;
  std::string secret_file;
  std::string fingerprint;
};

std::vector<std::string> RunCapture(const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe(out) != 0) Die("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    Die("cannot run " + argv[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, n);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die(argv[0] + " " + argv[1] + " failed");
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Field(const std::vector<std::string>& lines, const std::string& key) {
  for (const std::string& line : lines) {
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

HubProcess StartHub(const std::string& bin, const std::string& state_dir) {
  int out[2];
  if (::pipe(out) != 0) Die("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<std::string> argv = {bin, "serve", "--listen", "127.0.0.1:0", "--state-dir",
                                   state_dir};
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  HubProcess hub;
  if (posix_spawn(&hub.pid, bin.c_str(), &actions, nullptr, args.data(), environ) != 0) {
    Die("cannot start " + bin);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  // Read what it prints on start, up to the fingerprint (the last line it prints with TLS).
  std::string text;
  char c;
  std::vector<std::string> lines;
  while (hub.fingerprint.empty() && ::read(out[0], &c, 1) == 1) {
    if (c != '\n') {
      text += c;
      continue;
    }
    lines.push_back(text);
    text.clear();
    hub.url = Field(lines, "listening");
    hub.secret_file = Field(lines, "enroll-secret-file");
    hub.fingerprint = Field(lines, "tls-fingerprint");
  }
  ::close(out[0]);
  if (hub.url.empty() || hub.fingerprint.empty()) Die("vigil-hub did not start");
  return hub;
}

uint64_t RssBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

void RaiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// --- simulated agents --------------------------------------------------------------------

struct Shared {
  std::string host;
  std::string port;
  std::string secret;
  size_t rows_per_answer = 1;  // set before each round
  std::atomic<size_t> welcomed{0};
  std::atomic<size_t> failed{0};
  std::atomic<size_t> answered{0};
  std::mutex mutex;
  std::string last_error;  // guarded by mutex
};

// One agent: connect, TLS, WebSocket, hello; then answer every query at once.
class SimAgent : public std::enable_shared_from_this<SimAgent> {
 public:
  SimAgent(net::io_context& io, ssl::context& tls, Shared& shared, std::string id)
      : shared_(shared),
        id_(std::move(id)),
        resolver_(net::make_strand(io)),
        ws_(resolver_.get_executor(), tls) {}

  void Start() {
    resolver_.async_resolve(shared_.host, shared_.port,
                            beast::bind_front_handler(&SimAgent::OnResolve, shared_from_this()));
  }

 private:
  void Fail(const char* step, beast::error_code ec) {
    shared_.failed.fetch_add(1);
    std::lock_guard lock(shared_.mutex);
    shared_.last_error = id_ + ": " + step + ": " + ec.message();
  }

  void OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return Fail("resolve", ec);
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(60));
    beast::get_lowest_layer(ws_).async_connect(
        results, beast::bind_front_handler(&SimAgent::OnConnect, shared_from_this()));
  }

  void OnConnect(beast::error_code ec, tcp::endpoint) {
    if (ec) return Fail("connect", ec);
    ws_.next_layer().async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&SimAgent::OnTlsHandshake, shared_from_this()));
  }

  void OnTlsHandshake(beast::error_code ec) {
    if (ec) return Fail("tls handshake", ec);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.async_handshake(shared_.host + ":" + shared_.port, "/api/v1/agent",
                        beast::bind_front_handler(&SimAgent::OnHandshake, shared_from_this()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return Fail("websocket handshake", ec);
    wire::Hello hello;
    hello.host_identifier = id_;
    hello.hostname = id_;
    hello.os = "linux";
    hello.vigil_version = VIGIL_VERSION;
    hello.enroll_secret = shared_.secret;
    Write(wire::Encode(hello));
    Read();
  }

  void Read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&SimAgent::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) return Fail("read", ec);
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    wire::DecodeResult decoded = wire::Decode(text);
    if (decoded.ok()) {
      const wire::Message& message = decoded.message();
      if (std::holds_alternative<wire::Welcome>(message)) {
        shared_.welcomed.fetch_add(1);
      } else if (const auto* query = std::get_if<wire::Query>(&message)) {
        Answer(*query);
      } else if (const auto* error = std::get_if<wire::Error>(&message)) {
        std::lock_guard lock(shared_.mutex);
        shared_.last_error = id_ + ": hub error " + error->code + ": " + error->message;
      }
    }
    Read();
  }

  void Answer(const wire::Query& query) {
    wire::QueryResult result;
    result.id = query.id;
    result.columns = {"host", "n", "payload"};
    const size_t rows = shared_.rows_per_answer;
    result.rows.reserve(rows);
    for (size_t i = 0; i < rows; ++i) {
      result.rows.push_back({vigil::Value(id_), vigil::Value(static_cast<int64_t>(i)),
                             vigil::Value("row payload of forty bytes, more or less")});
    }
    result.rows_total = rows;
    result.duration_ms = 0.1;
    Write(wire::Encode(result));
    shared_.answered.fetch_add(1);
  }

  void Write(std::string text) {
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) DoWrite();
  }
  void DoWrite() {
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&SimAgent::OnWrite, shared_from_this()));
  }
  void OnWrite(beast::error_code ec, size_t) {
    if (ec) return Fail("write", ec);
    queue_.pop_front();
    if (!queue_.empty()) DoWrite();
  }

  Shared& shared_;
  const std::string id_;
  tcp::resolver resolver_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
};

// --- the analyst's side ------------------------------------------------------------------

struct RoundTimes {
  std::vector<double> answer_ms;  // submit -> each answer on the stream
  double last_ms = 0;             // submit -> the last answer
  uint64_t answered = 0;
  uint64_t failed = 0;
  uint64_t rows = 0;
};

RoundTimes RunCampaign(const vigil::agent::net::ClientOptions& options, const std::string& token,
                       const std::string& sql, size_t expected) {
  const vigil::agent::net::Headers auth = {{"Authorization", "Bearer " + token}};
  RoundTimes times;
  const auto start = Clock::now();
  auto created = vigil::agent::net::HttpCall(
      options, "POST", "/api/v1/queries", auth,
      "{\"sql\":\"" + sql + "\",\"target\":\"all\",\"deadline_s\":120}");
  if (!created.ok() || created->status != 201) {
    Die("POST /api/v1/queries: " +
        (created.ok() ? created->body : created.status().message()));
  }
  const std::string marker = "\"id\":\"";
  const size_t at = created->body.find(marker);
  if (at == std::string::npos) Die("no campaign id in " + created->body);
  const std::string id =
      created->body.substr(at + marker.size(),
                           created->body.find('"', at + marker.size()) - at - marker.size());
  vigil::agent::net::ClientOptions stream_options = options;
  stream_options.max_frame_bytes = 64u << 20;
  auto stream = vigil::agent::net::WebSocketClient::Connect(
      stream_options, "/api/v1/queries/" + id + "/stream", auth);
  if (!stream.ok()) Die(stream.status().message());
  while (times.answered + times.failed < expected) {
    auto frame = (*stream)->Receive(std::chrono::seconds(60));
    if (!frame.ok()) Die("stream: " + frame.status().message());
    if (!*frame) Die("stream: nothing for 60 s");
    const std::string& text = **frame;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (text.rfind("{\"type\":\"result\"", 0) == 0) {
      times.answer_ms.push_back(ms);
      times.last_ms = ms;
      ++times.answered;
      // Rows in the frame: one per "],[" plus one.
      const size_t rows_at = text.find("\"rows\":[");
      if (rows_at != std::string::npos && text.compare(rows_at + 8, 1, "]") != 0) {
        uint64_t rows = 1;
        for (size_t p = text.find("],[", rows_at); p != std::string::npos;
             p = text.find("],[", p + 3)) {
          ++rows;
        }
        times.rows += rows;
      }
    } else if (text.rfind("{\"type\":\"error\"", 0) == 0) {
      ++times.failed;
      times.last_ms = ms;
    } else if (text == "{\"type\":\"done\"}") {
      break;
    }
  }
  (*stream)->Close();
  return times;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string hub_bin;
  size_t agents = 1000;
  size_t rounds = 20;
  size_t rows = 1000;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--hub-bin") {
      hub_bin = next();
    } else if (arg == "--agents") {
      agents = std::stoul(next());
    } else if (arg == "--rounds") {
      rounds = std::stoul(next());
    } else if (arg == "--rows") {
      rows = std::stoul(next());
    } else if (arg == "--threads") {
      threads = std::stoi(next());
    } else if (arg == "--help") {
      std::cout << "Usage: hub_load --hub-bin PATH [--agents N] [--rounds N] [--rows N] "
                   "[--threads N]\n";
      return 0;
    } else {
      Die("unknown argument " + arg + " (see --help)");
    }
  }
  if (hub_bin.empty()) Die("--hub-bin PATH (the vigil-hub to measure) is required");
  RaiseFileLimit();
  ::signal(SIGPIPE, SIG_IGN);

  const std::string state_dir =
      (std::filesystem::temp_directory_path() / ("hub_load." + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(state_dir);
  const auto token_lines = RunCapture(
      {hub_bin, "token", "create", "--role", "admin", "--name", "hub_load", "--state-dir",
       state_dir});
  const std::string token = Field(token_lines, "token");
  if (token.empty()) Die("vigil-hub token create printed no token");

  HubProcess hub = StartHub(hub_bin, state_dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t rss_idle = RssBytes(hub.pid);

  Shared shared;
  {
    std::ifstream secret(hub.secret_file);
    std::getline(secret, shared.secret);
  }
  const std::string host_port = hub.url.substr(hub.url.find("://") + 3);
  shared.host = host_port.substr(0, host_port.rfind(':'));
  shared.port = host_port.substr(host_port.rfind(':') + 1);

  net::io_context io;
  ssl::context tls(ssl::context::tls_client);
  tls.set_verify_mode(ssl::verify_none);
  SSL_CTX_set_mode(tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  auto work = net::make_work_guard(io);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&io] { io.run(); });

  const auto connect_start = Clock::now();
  std::vector<std::shared_ptr<SimAgent>> fleet;
  for (size_t i = 0; i < agents; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "load-%05zu", i);
    fleet.push_back(std::make_shared<SimAgent>(io, tls, shared, id));
    fleet.back()->Start();
    // Connect in waves so the hub's accept queue is not the thing measured.
    if (i % 200 == 199) {
      while (shared.welcomed.load() + shared.failed.load() + 400 < i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  while (shared.welcomed.load() + shared.failed.load() < agents) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (Clock::now() - connect_start > std::chrono::minutes(10)) Die("agents did not connect");
  }
  const double connect_s =
      std::chrono::duration<double>(Clock::now() - connect_start).count();
  if (shared.failed.load() > 0) {
    Die(std::to_string(shared.failed.load()) + " agents failed; last: " + shared.last_error);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const uint64_t rss_connected = RssBytes(hub.pid);

  vigil::agent::net::ClientOptions options;
  options.url = hub.url;
  options.tls.pinned_sha256 = hub.fingerprint;
  options.timeout = std::chrono::seconds(60);

  // One-row queries to all.
  shared.rows_per_answer = 1;
  std::vector<double> answers;
  std::vector<double> lasts;
  for (size_t r = 0; r < rounds; ++r) {
    RoundTimes round = RunCampaign(options, token, "SELECT 1", agents);
    if (round.answered != agents) {
      Die("round " + std::to_string(r) + ": " + std::to_string(round.answered) + " of " +
          std::to_string(agents) + " answered");
    }
    answers.insert(answers.end(), round.answer_ms.begin(), round.answer_ms.end());
    lasts.push_back(round.last_ms);
  }

  // Ingest: every agent answers with `rows` rows.
  shared.rows_per_answer = rows;
  RoundTimes ingest = RunCampaign(options, token, "SELECT * FROM many_rows", agents);
  const double ingest_rows_per_s =
      static_cast<double>(ingest.rows) / (ingest.last_ms / 1000.0);
  const uint64_t rss_after = RssBytes(hub.pid);

  ::kill(hub.pid, SIGTERM);
  int status = 0;
  ::waitpid(hub.pid, &status, 0);
  work.reset();
  io.stop();
  for (auto& t : pool) t.join();
  std::filesystem::remove_all(state_dir);

  const double per_agent_kb =
      (static_cast<double>(rss_connected) - static_cast<double>(rss_idle)) / 1024.0 /
      static_cast<double>(agents);
  std::printf("| agents | %zu |\n", agents);
  std::printf("| connect + enroll all | %.1f s |\n", connect_s);
  std::printf("| hub RSS idle / connected | %.1f MB / %.1f MB |\n", rss_idle / 1048576.0,
              rss_connected / 1048576.0);
  std::printf("| hub memory per connected idle agent | %.1f KB |\n", per_agent_kb);
  std::printf("| one-row query to all, each answer (%zu rounds): median / p99 | %.0f ms / "
              "%.0f ms |\n",
              rounds, Percentile(answers, 0.5), Percentile(answers, 0.99));
  std::printf("| one-row query to all, last answer: median / p99 | %.0f ms / %.0f ms |\n",
              Percentile(lasts, 0.5), Percentile(lasts, 0.99));
  std::printf("| ingest: %zu agents x %zu rows | %llu rows in %.0f ms = %.0f rows/s |\n",
              agents, rows, static_cast<unsigned long long>(ingest.rows), ingest.last_ms,
              ingest_rows_per_s);
  std::printf("| hub RSS after ingest | %.1f MB |\n", rss_after / 1048576.0);
  return 0;
}
