// vigilctl remediate, task package-upgrade and tasks: work dispatched from the hub to nodes
// (POST /api/v1/remediations, POST /api/v1/tasks, GET /api/v1/tasks[/{id}]), followed node by
// node until it is done.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/output.h"
#include "cli/vigilctl_client.h"
#include "cli/vigilctl_commands.h"

namespace vigil::cli::ctl {
namespace {

constexpr auto kPollEvery = std::chrono::milliseconds(1000);

// The options every dispatching command shares.
void AddDispatchFlags(FlagSet& flags) {
  flags.Value("target", "TARGET", "Only these nodes: all, role:NAME, or host globs (a,b*)");
  flags.Bool("dry-run", "Plan only: nodes say what they would change, and change nothing");
  flags.Value("batch", "N", "Nodes sent at once; the next batch when these have answered", "10");
  flags.Value("max-failures", "N", "Failures tolerated; one more stops sending further batches",
              "0");
  flags.Value("node-timeout", "DURATION", "How long a node has to answer (10m by default)");
  flags.Bool("no-wait", "Print the task id and return without following it");
  flags.Bool("verbose", "Show each node's changes (diffs and commands)");
  flags.Bool("json", "Print the hub's JSON");
}

// The shared fields of the request body, from the flags; a usage message when one is bad.
using BodyWriter = rapidjson::Writer<rapidjson::StringBuffer>;

Result<std::string> DispatchBody(const FlagSet& flags,
                                 const std::function<void(BodyWriter&)>& own) {
  auto batch = ParseCount(*flags.Get("batch"), "--batch");
  if (!batch.ok()) return batch.status();
  if (*batch < 1) return Status::InvalidArgument("--batch must be at least 1");
  auto max_failures = ParseCount(*flags.Get("max-failures"), "--max-failures");
  if (!max_failures.ok()) return max_failures.status();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  own(w);
  if (auto target = flags.Get("target")) {
    w.Key("target");
    w.String(target->c_str(), static_cast<rapidjson::SizeType>(target->size()));
  }
  w.Key("dry_run");
  w.Bool(flags.IsSet("dry-run"));
  w.Key("batch");
  w.Int64(*batch);
  w.Key("max_failures");
  w.Int64(*max_failures);
  if (auto timeout = flags.Get("node-timeout")) {
    auto ms = ParseDuration(*timeout);
    if (!ms.ok()) return Status(ms.status()).WithContext("--node-timeout");
    w.Key("node_timeout_s");
    w.Double(static_cast<double>(ms->count()) / 1000);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

// "hist02  applied  fail -> fixed  (message)", then the changes with --verbose.
void PrintNode(const rapidjson::Value& node, bool verbose) {
  std::string line = MemberText(node, "node") + "  ";
  const std::string state = MemberText(node, "state");
  const std::string outcome = MemberText(node, "outcome");
  line += outcome.empty() ? state : outcome;
  const rapidjson::Value* before = Member(node, "verdict_before");
  const rapidjson::Value* after = Member(node, "verdict_after");
  if (before != nullptr) {
    line += "  " + MemberText(*before, "status");
    if (after != nullptr) line += " -> " + MemberText(*after, "status");
  }
  const rapidjson::Value* remediation = Member(node, "remediation");
  if (remediation != nullptr) {
    const std::string message = MemberText(*remediation, "message");
    if (!message.empty()) line += "  (" + message + ")";
  }
  std::cout << line << "\n";
  if (!verbose || remediation == nullptr) return;
  const rapidjson::Value* changes = Member(*remediation, "changes");
  if (changes == nullptr || !changes->IsArray()) return;
  for (const rapidjson::Value& change : changes->GetArray()) {
    if (MemberText(change, "kind") == "file") {
      std::cout << "    " << MemberText(change, "path") << "\n";
      std::string diff = MemberText(change, "diff");
      size_t start = 0;
      while (start < diff.size()) {
        size_t end = diff.find('\n', start);
        if (end == std::string::npos) end = diff.size();
        std::cout << "      " << diff.substr(start, end - start) << "\n";
        start = end + 1;
      }
    } else if (const rapidjson::Value* argv = Member(change, "argv"); argv && argv->IsArray()) {
      std::string command;
      for (const rapidjson::Value& a : argv->GetArray()) {
        if (a.IsString()) command += (command.empty() ? "" : " ") + std::string(a.GetString());
      }
      const std::string exit = MemberText(change, "exit");
      std::cout << "    $ " << command << (exit.empty() ? "  (not run)" : "  (exit " + exit + ")")
                << "\n";
    }
  }
}

std::string TotalsLine(const rapidjson::Value& totals) {
  std::string line;
  for (const char* key :
       {"nodes", "succeeded", "failed", "sent", "pending", "offline", "gone", "skipped"}) {
    const std::string n = MemberText(totals, key);
    if (n.empty() ||
        (n == "0" && std::string_view(key) != "nodes" && std::string_view(key) != "failed")) {
      continue;
    }
    line += (line.empty() ? "" : ", ") + n + " " + key;
  }
  return line;
}

bool Settled(const rapidjson::Value& view) {
  const rapidjson::Value* task = Member(view, "task");
  const rapidjson::Value* totals = Member(view, "totals");
  if (task == nullptr || totals == nullptr) return true;
  return MemberText(*task, "status") != "running" && MemberText(*totals, "sent") == "0";
}

// 0 when every node succeeded; 1 when one failed, was given up or skipped.
int ExitFor(const rapidjson::Value& view) {
  const rapidjson::Value* totals = Member(view, "totals");
  const rapidjson::Value* task = Member(view, "task");
  if (totals == nullptr || task == nullptr) return kExitFailed;
  for (const char* key : {"failed", "gone", "skipped"}) {
    if (MemberText(*totals, key) != "0") return kExitFailed;
  }
  return MemberText(*task, "status") == "done" ? kExitOk : kExitFailed;
}

// Prints each node as it settles until the task is done, then the totals.
int Follow(const HubConnection& hub, const std::string& id, bool verbose) {
  std::set<std::string> printed;
  while (true) {
    auto view = hub.CallJson("GET", "/api/v1/tasks/" + PathSegment(id));
    if (!view.ok()) return Fail(view.status());
    if (const rapidjson::Value* nodes = Member(*view, "nodes"); nodes && nodes->IsArray()) {
      for (const rapidjson::Value& node : nodes->GetArray()) {
        const std::string state = MemberText(node, "state");
        if (state == "pending" || state == "sent") continue;
        if (!printed.insert(MemberText(node, "node")).second) continue;
        PrintNode(node, verbose);
      }
    }
    if (Settled(*view)) {
      std::cout << "task " << id << " " << MemberText((*view)["task"], "status") << ": "
                << TotalsLine((*view)["totals"]) << "\n";
      return ExitFor(*view);
    }
    std::this_thread::sleep_for(kPollEvery);
  }
}

// Posts the task, then prints or follows it.
int Dispatch(const FlagSet& flags, const HubConnection& hub, std::string_view path,
             const std::string& body) {
  auto started = hub.CallJson("POST", path, body);
  if (!started.ok()) return Fail(started.status());
  if (flags.IsSet("json") && flags.IsSet("no-wait")) {
    std::cout << Compact(*started) << "\n";
    return kExitOk;
  }
  const std::string id = MemberText(*started, "id");
  const rapidjson::Value* nodes = Member(*started, "nodes");
  const size_t count = nodes && nodes->IsArray() ? nodes->Size() : 0;
  std::cout << "task " << id << ": " << count << (count == 1 ? " node" : " nodes")
            << (flags.IsSet("dry-run") ? " (dry run)" : "") << "\n";
  if (flags.IsSet("no-wait")) return kExitOk;
  return Follow(hub, id, flags.IsSet("verbose"));
}

int Usage(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n";
  return kExitUsage;
}

}  // namespace

int RunRemediate(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl remediate CHECK [OPTIONS]",
                "Sends CHECK's enforcer to the nodes whose latest verdict fails it (within "
                "--target), in batches; each node plans or applies the repair and runs the check "
                "again. Follows the task until every node answered, printing each outcome "
                "(operator). Exit 1 when a node failed, was offline or was skipped.");
  AddDispatchFlags(flags);
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  if (flags.positionals().size() != 1) return Usage("remediate takes one check id");
  const std::string check = flags.positionals()[0];
  auto body = DispatchBody(flags, [&](rapidjson::Writer<rapidjson::StringBuffer>& w) {
    w.Key("check");
    w.String(check.c_str(), static_cast<rapidjson::SizeType>(check.size()));
  });
  if (!body.ok()) return Usage(body.status().message());
  return Dispatch(flags, *hub, "/api/v1/remediations", *body);
}

int RunTaskCommand(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl task package-upgrade [--packages a,b] [OPTIONS]",
                "Upgrades Debian packages on the target's nodes (all by default) with apt-get, in "
                "batches, and follows it (operator). Without --packages every installed package "
                "that apt's lists offer newer is upgraded.");
  flags.Value("packages", "LIST", "Comma-separated package names");
  AddDispatchFlags(flags);
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  if (flags.positionals().size() != 1 || flags.positionals()[0] != "package-upgrade") {
    return Usage("task takes one kind: package-upgrade");
  }
  std::vector<std::string> packages;
  if (auto list = flags.Get("packages")) {
    size_t start = 0;
    while (start <= list->size()) {
      size_t end = list->find(',', start);
      if (end == std::string::npos) end = list->size();
      std::string name = list->substr(start, end - start);
      if (name.empty()) return Usage("--packages has an empty name: '" + *list + "'");
      packages.push_back(std::move(name));
      start = end + 1;
    }
  }
  auto body = DispatchBody(flags, [&](rapidjson::Writer<rapidjson::StringBuffer>& w) {
    w.Key("kind");
    w.String("package_upgrade");
    w.Key("args");
    w.StartObject();
    if (!packages.empty()) {
      w.Key("packages");
      w.StartArray();
      for (const std::string& p : packages) {
        w.String(p.c_str(), static_cast<rapidjson::SizeType>(p.size()));
      }
      w.EndArray();
    }
    w.EndObject();
  });
  if (!body.ok()) return Usage(body.status().message());
  return Dispatch(flags, *hub, "/api/v1/tasks", *body);
}

int RunTasks(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl tasks [--limit N] | vigilctl tasks show ID [--verbose]",
                "Lists recent remediations and tasks with their totals, newest first; `tasks "
                "show ID` prints each node's outcome (with --verbose, its changes) (operator).");
  flags.Value("limit", "N", "How many", "50");
  flags.Bool("verbose", "Show each node's changes (diffs and commands)");
  flags.Bool("json", "Print the hub's JSON");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  const auto& positionals = flags.positionals();
  if (!positionals.empty()) {
    if (positionals[0] != "show" || positionals.size() != 2) {
      return Usage("tasks takes no arguments, or `show ID`");
    }
    auto view = hub->CallJson("GET", "/api/v1/tasks/" + PathSegment(positionals[1]));
    if (!view.ok()) return Fail(view.status());
    if (flags.IsSet("json")) {
      std::cout << Compact(*view) << "\n";
      return kExitOk;
    }
    const rapidjson::Value* task = Member(*view, "task");
    if (task == nullptr) return Usage("the hub's answer has no task");
    std::string what = MemberText(*task, "kind");
    if (!MemberText(*task, "check").empty()) what += " " + MemberText(*task, "check");
    std::cout << "task " << MemberText(*task, "id") << " (" << what
              << (MemberText(*task, "dry_run") == "true" ? ", dry run" : "") << ") "
              << MemberText(*task, "status") << ": " << TotalsLine((*view)["totals"]) << "\n";
    if (const rapidjson::Value* nodes = Member(*view, "nodes"); nodes && nodes->IsArray()) {
      for (const rapidjson::Value& node : nodes->GetArray())
        PrintNode(node, flags.IsSet("verbose"));
    }
    return kExitOk;
  }
  auto limit = ParseCount(*flags.Get("limit"), "--limit");
  if (!limit.ok() || *limit == 0) return Usage("--limit must be a number above 0");
  auto list = hub->CallJson("GET", "/api/v1/tasks?limit=" + std::to_string(*limit));
  if (!list.ok()) return Fail(list.status());
  if (flags.IsSet("json") || !list->IsArray()) {
    std::cout << Compact(*list) << "\n";
    return kExitOk;
  }
  auto writer = MakeWriter(::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList, true,
                           std::cout);
  writer->Begin({"id", "created_at", "kind", "check", "target", "dry_run", "status", "nodes",
                 "succeeded", "failed", "offline"});
  for (const auto& item : list->GetArray()) {
    const rapidjson::Value* task = Member(item, "task");
    const rapidjson::Value* totals = Member(item, "totals");
    if (task == nullptr || totals == nullptr) continue;
    writer->AddRow({MemberText(*task, "id"), MemberText(*task, "created_at"),
                    MemberText(*task, "kind"), MemberText(*task, "check"),
                    MemberText(*task, "target"), MemberText(*task, "dry_run"),
                    MemberText(*task, "status"), MemberText(*totals, "nodes"),
                    MemberText(*totals, "succeeded"), MemberText(*totals, "failed"),
                    MemberText(*totals, "offline")});
  }
  writer->End();
  return kExitOk;
}

}  // namespace vigil::cli::ctl
