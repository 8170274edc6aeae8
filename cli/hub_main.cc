// vigil-hub: the fleet's hub. `serve` listens for agents and people until SIGTERM or SIGINT;
// `token` makes and lists people's tokens in the hub's store while the hub is stopped (the first
// admin's token comes from here). Signals are taken by one thread with sigwait(); the network
// threads never see them.
#include <pthread.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "engine/audit/chain.h"
#include "server/config_service.h"
#include "server/credentials.h"
#include "server/fleet_service.h"
#include "server/hub.h"
#include "server/hub_store.h"
#include "server/signing_key.h"
#include "server/task_service.h"

namespace {

using vigil::Result;
using vigil::Status;
using vigil::StatusCode;
using vigil::cli::FlagSet;
using vigil::cli::ParseCount;
namespace server = vigil::server;

constexpr const char* kDefaultStateDir = "/var/lib/vigil-hub";

constexpr const char* kUsage =
    "Usage: vigil-hub COMMAND [OPTIONS]\n"
    "\n"
    "The Vigil hub: agents connect to it over a WebSocket, people ask it about the fleet.\n"
    "\n"
    "Commands:\n"
    "  serve           Listen for agents and people until SIGTERM or SIGINT\n"
    "  token create    Make a person's token (the first admin's) while the hub is stopped\n"
    "  token list      List people's tokens while the hub is stopped\n"
    "\n"
    "Options:\n"
    "  --help          Show this help (vigil-hub COMMAND --help for a command's options)\n"
    "  --version       Print the version\n";

constexpr const char* kServeSummary =
    "Serves HTTP, the agents' WebSocket (/api/v1/agent) and the people's API (/api/v1/...,\n"
    "with a bearer token) on one port, over TLS. Without --tls-cert/--tls-key it makes a\n"
    "self-signed certificate in STATE_DIR/tls on first start (reused afterwards) and prints\n"
    "its SHA-256 fingerprint for agents to pin. --insecure serves plain HTTP and is refused\n"
    "unless the address is a loopback one.\n"
    "\n"
    "State lives in STATE_DIR: the store (STATE_DIR/store: nodes, tokens, campaigns and their\n"
    "answers, evidence and each node's latest verdicts, config versions, tasks, the audit\n"
    "chain; one process at a time), the enroll secret agents present to enroll\n"
    "(STATE_DIR/enroll_secret, made on first start, mode 0600), the Ed25519 key that signs\n"
    "every config version (STATE_DIR/signing/ed25519.pem, made once and never replaced: agents\n"
    "pin its public key when they enroll), and tls/. Make the first admin's token with\n"
    "`vigil-hub token create --role admin` before starting.\n"
    "\n"
    "Routes: GET /healthz; GET /metrics (Prometheus text); GET /api/v1/agent (WebSocket);\n"
    "GET /api/v1/nodes, GET /api/v1/reports/iec62443?format=json|html|csv|text&at=TIME\n"
    "(viewer); POST and GET /api/v1/queries, GET /api/v1/queries/ID?format=json|csv, GET\n"
    "/api/v1/queries/ID/stream (WebSocket) (analyst); POST /api/v1/remediations, POST and GET\n"
    "/api/v1/tasks, GET /api/v1/tasks/ID (operator); POST /api/v1/config (a tar of fleet.yaml\n"
    "and its packs), GET /api/v1/config/history, GET /api/v1/config/VERSION, GET\n"
    "/api/v1/config/diff?from=A&to=B, POST /api/v1/config/rollback, DELETE /api/v1/nodes/ID,\n"
    "POST and GET /api/v1/tokens, DELETE /api/v1/tokens/ID, GET /api/v1/audit?after=SEQ, GET\n"
    "/api/v1/audit/verify (admin).\n"
    "\n"
    "On start it prints `listening URL`, `enroll-secret-file FILE` (never the secret) and,\n"
    "with TLS, `tls-fingerprint SHA256` and `tls-cert FILE` on standard output.\n"
    "\n"
    "Exit status: 0 stopped by a signal, 2 usage error or the hub could not start.";

constexpr const char* kTokenCreateSummary =
    "Makes a token for a person or program and prints it once: only its hash is stored. Roles:\n"
    "viewer (nodes, reports), analyst (+ live queries), operator (+ remediation, tasks), admin\n"
    "(+ config, tokens, audit). The store is one process's at a time, so the hub must be\n"
    "stopped; while it runs, an admin makes tokens with POST /api/v1/tokens instead. The\n"
    "creation is recorded in the hub's audit chain (actor `local`).\n"
    "\n"
    "Prints `id ID`, `role ROLE`, `name NAME` and `token SECRET` on standard output.\n"
    "\n"
    "Exit status: 0 made, 1 the store could not be opened or written, 2 usage error.";

constexpr const char* kTokenListSummary =
    "Lists the tokens in the hub's store (never their secrets), revoked ones included. The hub\n"
    "must be stopped; while it runs, an admin lists them with GET /api/v1/tokens.\n"
    "\n"
    "Exit status: 0 listed, 1 the store could not be opened, 2 usage error.";

std::string StorePath(const std::string& state_dir) { return state_dir + "/store"; }

// Opens the hub's store, saying what to do when a running hub holds it.
Result<std::unique_ptr<server::HubStore>> OpenStore(const std::string& state_dir, bool for_serve) {
  Result<std::unique_ptr<server::HubStore>> store =
      server::OpenEmbeddedHubStore(StorePath(state_dir));
  if (!store.ok() && store.status().code() == StatusCode::kFailedPrecondition) {
    std::string advice =
        for_serve ? "another vigil-hub (serve or token) is using this state directory"
                  : "is vigil-hub serve running with this state directory? Stop it first, or "
                    "use the API while it runs (POST/GET /api/v1/tokens with an admin token)";
    return Status::FailedPrecondition(store.status().message() + "; " + advice);
  }
  return store;
}

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
  flags.Value("state-dir", "DIR",
              "The hub's own directory (store in DIR/store, enroll secret, TLS identity in "
              "DIR/tls)",
              kDefaultStateDir);
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

  auto fail = [](const Status& s) {
    std::cerr << "vigil-hub serve: " << s.message() << "\n";
    return 2;
  };
  // Each agent holds a connection: take every descriptor the system allows (often 1,024 soft,
  // far more hard), so a large fleet is not refused at accept().
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (Status s = server::MakeStateDirectory(options.state_dir); !s.ok()) return fail(s);
  Result<std::unique_ptr<server::HubStore>> store = OpenStore(options.state_dir, true);
  if (!store.ok()) return fail(store.status());
  Result<std::string> secret = server::LoadOrCreateEnrollSecret(options.state_dir);
  if (!secret.ok()) return fail(secret.status());
  Result<vigil::SigningKey> signing_key = server::LoadOrCreateHubSigningKey(options.state_dir);
  if (!signing_key.ok()) return fail(signing_key.status());
  Result<std::unique_ptr<server::ConfigService>> configs = server::ConfigService::Open(
      **store, std::move(*signing_key), options.state_dir + "/config-work");
  if (!configs.ok()) return fail(configs.status());
  server::ConfigService& config = **configs;

  // The fleet and the task service call each other: the fleet reaches the tasks through this
  // pointer, set before the hub takes its first connection.
  server::TaskService* task_service = nullptr;
  server::FleetOptions fleet_options;
  fleet_options.enroll_secret = std::move(*secret);
  fleet_options.hub_public_key = config.public_key();
  fleet_options.config_version = [&config] { return config.current_version(); };
  fleet_options.config_message = [&config](std::string_view host, std::string_view hostname) {
    return config.MessageFor(host, hostname);
  };
  fleet_options.roles_for = [&config](std::string_view host, std::string_view hostname) {
    return config.RolesFor(host, hostname);
  };
  fleet_options.on_task_result = [&task_service](std::string_view host,
                                                 const vigil::wire::TaskResult& result) {
    if (task_service) task_service->OnTaskResult(host, result);
  };
  fleet_options.on_online = [&task_service](std::string_view host) {
    if (task_service) task_service->OnNodeOnline(host);
  };
  Result<std::unique_ptr<server::FleetService>> fleet =
      server::FleetService::Create(**store, std::move(fleet_options));
  if (!fleet.ok()) return fail(fleet.status());
  server::FleetService& fleet_service = **fleet;
  config.OnChange([&fleet_service](uint64_t version) {
    const size_t sent = fleet_service.ConfigChanged();
    std::cerr << "vigil-hub: config version " << version << " is current; sent to " << sent
              << " online node(s)\n";
  });

  server::TaskSeams seams;
  server::HubStore& hub_store = **store;
  seams.failing_nodes = [&hub_store](std::string_view check) {
    return server::NodesFailing(hub_store, check);
  };
  seams.resolve_target = [&fleet_service](std::string_view target) {
    return fleet_service.ResolveTarget(target);
  };
  seams.send = [&fleet_service](std::string_view node, const std::string& frame) {
    return fleet_service.SendToNode(node, frame);
  };
  Result<std::unique_ptr<server::TaskService>> tasks =
      server::OpenTaskService(hub_store, std::move(seams));
  if (!tasks.ok()) return fail(tasks.status());
  task_service = tasks->get();

  options.agent_sessions = fleet_service.SessionFactory();
  options.store = store->get();
  options.fleet = &fleet_service;
  options.fleet_metrics = &fleet_service.metrics();
  options.api_services.config = &config;
  options.api_services.tasks = task_service;
  const std::string secret_file = options.state_dir + "/enroll_secret";

  // Declared after the store, the config, the fleet and the tasks, so it is gone before them.
  server::Hub hub(std::move(options));
  if (Status s = hub.Start(); !s.ok()) return fail(s);
  std::cout << "listening " << hub.url() << "\n";
  std::cout << "enroll-secret-file " << secret_file << "\n";
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
  hub.Stop();  // no session or stream outlives the fleet service
  return 0;
}

int RunTokenCreate(const std::vector<std::string>& args) {
  FlagSet flags("vigil-hub token create --role ROLE [OPTIONS]", kTokenCreateSummary);
  flags.Value("role", "ROLE", "viewer, analyst, operator or admin (required)");
  flags.Value("name", "NAME", "Who or what the token is for", "local");
  flags.Value("state-dir", "DIR", "The hub's directory", kDefaultStateDir);
  auto usage = [](const std::string& message) {
    std::cerr << "vigil-hub token create: " << message
              << "\n(vigil-hub token create --help for usage)\n";
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
  if (!flags.Get("role")) return usage("--role is required (viewer, analyst, operator, admin)");
  std::optional<server::Role> role = server::ParseRole(*flags.Get("role"));
  if (!role) {
    return usage("--role: unknown role '" + *flags.Get("role") +
                 "' (viewer, analyst, operator, admin)");
  }
  const std::string name = *flags.Get("name");
  if (name.empty()) return usage("--name must not be empty");
  const std::string state_dir = *flags.Get("state-dir");
  auto fail = [](const Status& s) {
    std::cerr << "vigil-hub token create: " << s.message() << "\n";
    return 1;
  };
  if (Status s = server::MakeStateDirectory(state_dir); !s.ok()) return fail(s);
  Result<std::unique_ptr<server::HubStore>> store = OpenStore(state_dir, false);
  if (!store.ok()) return fail(store.status());
  Result<server::NewToken> token = server::CreateToken(**store, *role, name, "local");
  if (!token.ok()) return fail(token.status());
  rapidjson::StringBuffer detail;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(detail);
    w.StartObject();
    w.Key("role");
    w.String(std::string(server::RoleName(*role)).c_str());
    w.Key("name");
    w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.EndObject();
  }
  auto audited =
      (*store)->audit().Append("local", "token.create", token->record.id, detail.GetString());
  if (!audited.ok()) return fail(audited.status());
  std::cout << "id " << token->record.id << "\n"
            << "role " << server::RoleName(token->record.role) << "\n"
            << "name " << token->record.name << "\n"
            << "token " << token->secret << "\n";
  std::cerr << "vigil-hub: the token is shown this once (only its hash is kept); send it as "
               "'Authorization: Bearer TOKEN'\n";
  return 0;
}

int RunTokenList(const std::vector<std::string>& args) {
  FlagSet flags("vigil-hub token list [OPTIONS]", kTokenListSummary);
  flags.Value("state-dir", "DIR", "The hub's directory", kDefaultStateDir);
  auto usage = [](const std::string& message) {
    std::cerr << "vigil-hub token list: " << message
              << "\n(vigil-hub token list --help for usage)\n";
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
  auto fail = [](const Status& s) {
    std::cerr << "vigil-hub token list: " << s.message() << "\n";
    return 1;
  };
  Result<std::unique_ptr<server::HubStore>> store = OpenStore(*flags.Get("state-dir"), false);
  if (!store.ok()) return fail(store.status());
  Result<std::vector<server::TokenRecord>> tokens = (*store)->ListTokens();
  if (!tokens.ok()) return fail(tokens.status());
  auto time = [](int64_t seconds) {
    return vigil::audit::FormatRfc3339(
        std::chrono::system_clock::time_point(std::chrono::seconds(seconds)));
  };
  std::printf("%-16s  %-8s  %-7s  %-20s  %-16s  %s\n", "ID", "ROLE", "REVOKED", "CREATED",
              "CREATED_BY", "NAME");
  for (const server::TokenRecord& token : *tokens) {
    std::printf("%-16s  %-8s  %-7s  %-20s  %-16s  %s\n", token.id.c_str(),
                std::string(server::RoleName(token.role)).c_str(), token.revoked ? "yes" : "no",
                time(token.created_at).c_str(), token.created_by.c_str(), token.name.c_str());
  }
  return 0;
}

int RunToken(const std::vector<std::string>& args) {
  const std::string what = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (what == "create") return RunTokenCreate(rest);
  if (what == "list") return RunTokenList(rest);
  if (what == "--help" || what == "-h") {
    std::cout << "Usage: vigil-hub token create --role ROLE [--name NAME] [--state-dir DIR]\n"
                 "       vigil-hub token list [--state-dir DIR]\n";
    return 0;
  }
  std::cerr << "vigil-hub token: expected `create` or `list`"
            << (what.empty() ? "" : ", not '" + what + "'") << "\n";
  return 2;
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
  if (command == "token") return RunToken(rest);
  std::cerr << "vigil-hub: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
