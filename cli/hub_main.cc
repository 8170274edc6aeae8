// vigil-hub: the fleet's hub. `serve` listens for agents and people until SIGTERM or SIGINT.
// Signals are taken by one thread with sigwait(); the network threads never see them.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "server/hub.h"

namespace {

using vigil::Status;
using vigil::cli::FlagSet;
using vigil::cli::ParseCount;

constexpr const char* kUsage =
    "Usage: vigil-hub COMMAND [OPTIONS]\n"
    "\n"
    "The Vigil hub: agents connect to it over a WebSocket, people ask it about the fleet.\n"
    "\n"
    "Commands:\n"
    "  serve           Listen for agents and people until SIGTERM or SIGINT\n"
    "\n"
    "Options:\n"
    "  --help          Show this help (vigil-hub COMMAND --help for a command's options)\n"
    "  --version       Print the version\n";

constexpr const char* kServeSummary =
    "Serves HTTP and the agents' WebSocket (/api/v1/agent) on one port, over TLS. Without\n"
    "--tls-cert/--tls-key it makes a self-signed certificate in STATE_DIR/tls on first start\n"
    "(reused afterwards) and prints its SHA-256 fingerprint for agents to pin. --insecure\n"
    "serves plain HTTP and is refused unless the address is a loopback one. Routes now:\n"
    "GET /healthz, GET /metrics (Prometheus text), GET /api/v1/agent (WebSocket; agent\n"
    "messages are answered with an error frame until their handlers arrive).\n"
    "\n"
    "On start it prints `listening URL` and, with TLS, `tls-fingerprint SHA256` and\n"
    "`tls-cert FILE` on standard output.\n"
    "\n"
    "Exit status: 0 stopped by a signal, 2 usage error or the hub could not start.";

Status ParseSize(FlagSet& flags, const char* name, size_t& out) {
  auto value = ParseCount(*flags.Get(name), std::string("--") + name);
  if (!value.ok()) return value.status();
  if (*value <= 0) return Status::InvalidArgument(std::string("--") + name + " must be > 0");
  out = static_cast<size_t>(*value);
  return Status::Ok();
}

int RunServe(const std::vector<std::string>& args) {
  FlagSet flags("vigil-hub serve [OPTIONS]", kServeSummary);
  flags.Value("listen", "ADDR:PORT", "Where to listen ([::1]:PORT for IPv6; port 0: any free one)",
              "0.0.0.0:8443");
  flags.Value("state-dir", "DIR", "The hub's own directory (TLS identity in DIR/tls)",
              "/var/lib/vigil-hub");
  flags.Value("tls-cert", "FILE", "PEM certificate (chain) to serve; needs --tls-key");
  flags.Value("tls-key", "FILE", "PEM private key of --tls-cert");
  flags.Bool("insecure", "Plain HTTP without TLS; only on a loopback address");
  flags.Value("threads", "N", "Network threads", "2");
  flags.Value("max-frame-bytes", "N",
              "Largest agent message; a larger one closes that "
              "connection (WebSocket close 1009)",
              std::to_string(4u << 20));
  flags.Value("max-body-bytes", "N", "Largest HTTP request body; larger gets 413",
              std::to_string(1u << 20));
  flags.Value("max-send-queue", "N",
              "Messages queued to one agent before it is dropped as too "
              "slow",
              "1024");
  auto usage = [](const std::string& message) {
    std::cerr << "vigil-hub serve: " << message << "\n(vigil-hub serve --help for usage)\n";
    return 2;
  };
  if (Status s = flags.Parse(args); !s.ok()) return usage(s.message());
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (!flags.positionals().empty()) {
    return usage("unexpected argument '" + flags.positionals()[0] + "'");
  }

  vigil::server::HubOptions options;
  auto listen = vigil::server::ParseListenAddress(*flags.Get("listen"));
  if (!listen.ok()) return usage("--listen: " + listen.status().message());
  options.address = listen->first;
  options.port = listen->second;
  options.state_dir = *flags.Get("state-dir");
  options.tls_cert = flags.Get("tls-cert").value_or("");
  options.tls_key = flags.Get("tls-key").value_or("");
  options.insecure = flags.IsSet("insecure");
  auto threads = ParseCount(*flags.Get("threads"), "--threads");
  if (!threads.ok()) return usage(threads.status().message());
  if (*threads < 1 || *threads > 256) return usage("--threads must be from 1 to 256");
  options.threads = static_cast<int>(*threads);
  for (auto [name, field] : {std::pair{"max-frame-bytes", &options.limits.max_frame_bytes},
                             std::pair{"max-body-bytes", &options.limits.max_body_bytes},
                             std::pair{"max-send-queue", &options.limits.max_send_queue}}) {
    if (Status s = ParseSize(flags, name, *field); !s.ok()) return usage(s.message());
  }

  // Every thread the hub starts inherits this mask; only this thread takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  vigil::server::Hub hub(std::move(options));
  if (Status s = hub.Start(); !s.ok()) {
    std::cerr << "vigil-hub serve: " << s.message() << "\n";
    return 2;
  }
  std::cout << "listening " << hub.url() << "\n";
  if (hub.tls()) {
    std::cout << "tls-fingerprint " << hub.tls_fingerprint() << "\n";
    std::cout << "tls-cert " << hub.tls_cert_file() << "\n";
    if (hub.tls_cert_generated()) {
      std::cerr << "vigil-hub: made a self-signed certificate, " << hub.tls_cert_file()
                << "; agents pin its fingerprint or trust that file\n";
    }
  }
  std::cout.flush();

  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  std::cerr << "vigil-hub: " << (received == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping\n";
  hub.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << "vigil-hub " << VIGIL_VERSION << "\n";
    return 0;
  }
  if (command == "serve") return RunServe(rest);
  std::cerr << "vigil-hub: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
