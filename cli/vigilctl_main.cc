// vigilctl: a person's client of the hub's API (PROTOCOL.md, "People's API"). Parses the
// command, calls the hub, prints what came back. Exit: 0 done, 1 the hub refused or the answer
// is a failure (a node failed, the chain is broken), 2 usage or the hub could not be reached.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/output.h"
#include "cli/vigilctl_client.h"
#include "cli/vigilctl_commands.h"

namespace vigil::cli::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: vigilctl [CONNECTION OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "Asks the Vigil hub about the fleet and tells it what to do: live SQL on every node, the\n"
    "published config, the IEC 62443 report, remediation and tasks, tokens and the audit chain.\n"
    "\n"
    "Commands:\n"
    "  nodes [--json]             Enrolled nodes, online or not\n"
    "  nodes remove ID            Forget a node so that it may enroll again (admin)\n"
    "  query SQL                  Run SQL on the fleet (--target, --wait; rows as they come)\n"
    "  campaigns [--json]         Recent live queries with their totals\n"
    "  results CAMPAIGN           A live query's stored answers (--json, --csv)\n"
    "  report iec62443            The fleet's IEC 62443 report (--format text|json|csv|html,\n"
    "                             --output FILE, --at TIME)\n"
    "  remediate CHECK            Repair CHECK on the nodes failing it (--target, --dry-run,\n"
    "                             --batch N, --max-failures N, --no-wait, --verbose)\n"
    "  task package-upgrade       Upgrade packages on nodes (--packages a,b, --target, ...)\n"
    "  tasks [show ID]            Recent remediations and tasks, or one task's node outcomes\n"
    "  audit verify               Verify the hub's audit chain (exit 1 when broken)\n"
    "  tokens create --role R     Make a token (viewer, analyst, operator, admin) (admin)\n"
    "  tokens list                List tokens (admin)\n"
    "  tokens revoke ID           Revoke a token (admin)\n"
    "  config publish DIR         Validate and publish fleet.yaml and its packs (admin)\n"
    "  config history             Published config versions (admin)\n"
    "  config diff A B            What changed between two versions (admin)\n"
    "  config rollback V          Publish version V's files again as a new version (admin)\n"
    "\n"
    "Connection options (before or after COMMAND):\n"
    "  --hub URL                  The hub (default $VIGIL_HUB, else https://127.0.0.1:8443)\n"
    "  --token TOKEN              Bearer token (default $VIGIL_TOKEN)\n"
    "  --ca-file FILE             Trust the hub's chain against this CA file\n"
    "  --hub-fingerprint SHA256   Trust exactly this hub certificate (vigil-hub serve prints it)\n"
    "  --timeout DURATION         Time limit for each network step (default 10s)\n"
    "\n"
    "vigilctl COMMAND --help shows a command's options. Exit status: 0 done; 1 the hub refused,\n"
    "or a node failed or was offline, or the audit chain is broken; 2 usage error or the hub\n"
    "could not be reached.\n";

bool IsConnectionFlag(std::string_view arg) {
  for (std::string_view name : {"--hub", "--token", "--ca-file", "--hub-fingerprint", "--timeout"}) {
    if (arg == name || (arg.starts_with(name) && arg.size() > name.size() &&
                        arg[name.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// Prints an array of objects as a table of the named members.
void PrintTable(const rapidjson::Value& items, const std::vector<std::string>& columns,
                const std::vector<const char*>& members) {
  auto writer = MakeWriter(::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList,
                           /*headers=*/true, std::cout);
  writer->Begin(columns);
  for (const auto& item : items.GetArray()) {
    Row row;
    for (const char* member : members) row.emplace_back(MemberText(item, member));
    writer->AddRow(row);
  }
  writer->End();
}

int RunNodes(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl nodes [--json] | vigilctl nodes remove ID",
                "Lists the enrolled nodes: identifier, hostname, roles, online, last seen. "
                "`nodes remove ID` forgets a node (admin), after which it may enroll again.");
  flags.Bool("json", "Print the hub's JSON");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  const auto& positionals = flags.positionals();
  if (!positionals.empty()) {
    if (positionals[0] != "remove" || positionals.size() != 2) {
      std::cerr << "vigilctl: nodes takes no arguments, or `remove ID`\n";
      return kExitUsage;
    }
    auto reply = hub->Call("DELETE", "/api/v1/nodes/" + PathSegment(positionals[1]));
    if (!reply.ok()) return Fail(reply.status());
    std::cout << "removed " << positionals[1] << "\n";
    return kExitOk;
  }
  auto nodes = hub->CallJson("GET", "/api/v1/nodes");
  if (!nodes.ok()) return Fail(nodes.status());
  if (flags.IsSet("json") || !nodes->IsArray()) {
    std::cout << Compact(*nodes) << "\n";
    return kExitOk;
  }
  PrintTable(*nodes, {"node", "hostname", "roles", "online", "last_seen", "config", "config_error"},
             {"host_identifier", "hostname", "roles", "online", "last_seen", "config_version",
              "config_error"});
  return kExitOk;
}

int RunCampaigns(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl campaigns [--json] [--limit N]",
                "Lists recent live queries, newest first, with their totals.");
  flags.Bool("json", "Print the hub's JSON");
  flags.Value("limit", "N", "How many", "50");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  auto limit = ParseCount(*flags.Get("limit"), "--limit");
  if (!limit.ok() || *limit == 0) {
    std::cerr << "vigilctl: --limit must be a number above 0\n";
    return kExitUsage;
  }
  auto list = hub->CallJson("GET", "/api/v1/queries?limit=" + std::to_string(*limit));
  if (!list.ok()) return Fail(list.status());
  if (flags.IsSet("json") || !list->IsArray()) {
    std::cout << Compact(*list) << "\n";
    return kExitOk;
  }
  auto writer = MakeWriter(::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList,
                           true, std::cout);
  writer->Begin({"id", "created_at", "target", "expected", "answered", "failed", "offline",
                 "finished", "sql"});
  for (const auto& item : list->GetArray()) {
    if (!item.IsObject() || !item.HasMember("campaign") || !item.HasMember("totals")) continue;
    const auto& campaign = item["campaign"];
    const auto& totals = item["totals"];
    writer->AddRow({MemberText(campaign, "id"), MemberText(campaign, "created_at"),
                    MemberText(campaign, "target"), MemberText(totals, "expected"),
                    MemberText(totals, "answered"), MemberText(totals, "failed"),
                    MemberText(totals, "offline"), MemberText(campaign, "finished"),
                    MemberText(campaign, "sql")});
  }
  writer->End();
  return kExitOk;
}

int RunAudit(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl audit verify [--json]",
                "Verifies the hub's audit chain: every action by a person, hash-linked. Exit 1 "
                "when it is broken.");
  flags.Bool("json", "Print the hub's JSON");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  if (flags.positionals().size() != 1 || flags.positionals()[0] != "verify") {
    std::cerr << "vigilctl: audit takes one command: verify\n";
    return kExitUsage;
  }
  auto result = hub->CallJson("GET", "/api/v1/audit/verify");
  if (!result.ok()) return Fail(result.status());
  const bool intact = MemberText(*result, "intact") == "true";
  if (flags.IsSet("json")) {
    std::cout << Compact(*result) << "\n";
  } else if (intact) {
    std::string head;
    if (result->HasMember("head")) head = MemberText((*result)["head"], "hash");
    std::cout << "hub audit chain intact: " << MemberText(*result, "records") << " records"
              << (head.empty() ? "" : ", head " + head) << "\n";
  } else {
    std::cout << "hub audit chain broken at record " << MemberText(*result, "broken_at") << ": "
              << MemberText(*result, "problem") << "\n";
  }
  return intact ? kExitOk : kExitFailed;
}

int RunTokens(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl tokens create --role ROLE [--name NAME] | list [--json] | revoke ID",
                "Manages people's bearer tokens (admin). A new token's secret is printed once; "
                "the hub keeps only its hash.");
  flags.Value("role", "ROLE", "viewer, analyst, operator or admin (tokens create)");
  flags.Value("name", "NAME", "Who or what the token is for (tokens create)");
  flags.Bool("json", "Print the hub's JSON");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  const auto& positionals = flags.positionals();
  const std::string verb = positionals.empty() ? "" : positionals[0];
  if (verb == "create" && positionals.size() == 1) {
    if (!flags.Get("role")) {
      std::cerr << "vigilctl: tokens create needs --role (viewer, analyst, operator, admin)\n";
      return kExitUsage;
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("role");
    w.String(flags.Get("role")->c_str());
    w.Key("name");
    const std::string name = flags.Get("name").value_or("");
    w.String(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.EndObject();
    auto made = hub->CallJson("POST", "/api/v1/tokens", buffer.GetString());
    if (!made.ok()) return Fail(made.status());
    if (flags.IsSet("json")) {
      std::cout << Compact(*made) << "\n";
    } else {
      std::cerr << "token " << MemberText(*made, "id") << " (" << MemberText(*made, "role")
                << "): shown once, keep it secret\n";
      std::cout << MemberText(*made, "token") << "\n";
    }
    return kExitOk;
  }
  if (verb == "list" && positionals.size() == 1) {
    auto list = hub->CallJson("GET", "/api/v1/tokens");
    if (!list.ok()) return Fail(list.status());
    if (flags.IsSet("json") || !list->IsArray()) {
      std::cout << Compact(*list) << "\n";
      return kExitOk;
    }
    PrintTable(*list, {"id", "name", "role", "created_at", "created_by", "revoked"},
               {"id", "name", "role", "created_at", "created_by", "revoked"});
    return kExitOk;
  }
  if (verb == "revoke" && positionals.size() == 2) {
    auto reply = hub->Call("DELETE", "/api/v1/tokens/" + PathSegment(positionals[1]));
    if (!reply.ok()) return Fail(reply.status());
    std::cout << "revoked " << positionals[1] << "\n";
    return kExitOk;
  }
  std::cerr << "vigilctl: tokens takes `create --role ROLE`, `list` or `revoke ID`\n";
  return kExitUsage;
}

}  // namespace
}  // namespace vigil::cli::ctl

int main(int argc, char** argv) {
  using namespace vigil::cli::ctl;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Connection flags may come before the command: carry them over to it.
  std::vector<std::string> leading;
  size_t i = 0;
  while (i < args.size() && IsConnectionFlag(args[i])) {
    leading.push_back(args[i]);
    if (args[i].find('=') == std::string::npos && i + 1 < args.size()) {
      leading.push_back(args[i + 1]);
      ++i;
    }
    ++i;
  }
  if (i >= args.size()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string command = args[i];
  std::vector<std::string> rest = leading;
  rest.insert(rest.end(), args.begin() + static_cast<long>(i) + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "vigilctl " << VIGIL_VERSION << "\n";
    return kExitOk;
  }
  if (command == "nodes") return RunNodes(rest);
  if (command == "query") return RunQuery(rest);
  if (command == "campaigns") return RunCampaigns(rest);
  if (command == "results") return RunResults(rest);
  if (command == "report") return RunReport(rest);
  if (command == "remediate") return RunRemediate(rest);
  if (command == "task") return RunTaskCommand(rest);
  if (command == "tasks") return RunTasks(rest);
  if (command == "audit") return RunAudit(rest);
  if (command == "tokens") return RunTokens(rest);
  if (command == "config") return RunConfig(rest);
  std::cerr << "vigilctl: unknown command '" << command << "'\n\n" << kUsage;
  return kExitUsage;
}
