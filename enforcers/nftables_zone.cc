// nftables.zone: renders the node's whole nftables ruleset from its zone and conduits
// (IEC 62443-3-3 SR 5.1/5.2): input and forward drop by default; established/related traffic,
// loopback and IPv6 neighbour discovery are let in, then one accept rule per conduit and source.
// The rendering is in the form `nft list ruleset` prints, so the live ruleset can be compared
// with the file as text.
#include <charconv>
#include <set>
#include <string>
#include <vector>

#include "enforcers/internal/action_text.h"
#include "enforcers/internal/system_text.h"
#include "enforcers/system_actions.h"

namespace vigil::enforcers {
namespace {

using system_text::Cidr;

constexpr std::string_view kName = "nftables.zone";
constexpr std::string_view kDefaultFile = "/etc/nftables.conf";

struct Conduit {
  std::string text;   // as written, for the header comment
  std::string proto;  // tcp, udp, sctp
  std::string ports;  // "22" or "8000-8080"
  int low = 0, high = 0;
  std::vector<Cidr> sources;  // empty: the zone
};

Result<int> ParsePort(std::string_view text, std::string_view conduit) {
  int port = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || err != std::errc() || end != text.data() + text.size() || port < 1 ||
      port > 65535) {
    return Status::InvalidArgument(std::string(kName) + ": conduit '" + std::string(conduit) +
                                   "': port '" + std::string(text) + "' is not 1-65535");
  }
  return port;
}

Result<Conduit> ParseConduit(const std::string& text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(kName) + ": conduit '" + text + "' " +
                                   std::string(why));
  };
  std::vector<std::string> words = action_text::Words(text);
  if (words.size() != 1 && !(words.size() == 3 && words[1] == "from")) {
    return bad("is not \"PROTO/PORT\" or \"PROTO/PORT from CIDR\"");
  }
  Conduit c;
  c.text = action_text::CollapseSpaces(text);
  size_t slash = words[0].find('/');
  if (slash == std::string::npos) return bad("has no PROTO/PORT");
  c.proto = words[0].substr(0, slash);
  if (c.proto != "tcp" && c.proto != "udp" && c.proto != "sctp") {
    return bad("has protocol '" + c.proto + "' (tcp, udp or sctp)");
  }
  std::string_view ports = std::string_view(words[0]).substr(slash + 1);
  size_t dash = ports.find('-');
  VIGIL_ASSIGN_OR_RETURN(c.low, ParsePort(ports.substr(0, dash), text));
  c.high = c.low;
  if (dash != std::string_view::npos) {
    VIGIL_ASSIGN_OR_RETURN(c.high, ParsePort(ports.substr(dash + 1), text));
    if (c.high <= c.low) return bad("has an empty port range");
  }
  c.ports = c.low == c.high ? std::to_string(c.low)
                            : std::to_string(c.low) + "-" + std::to_string(c.high);
  if (words.size() == 3) {
    std::string_view list = words[2];
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string_view::npos) comma = list.size();
      VIGIL_ASSIGN_OR_RETURN(Cidr cidr, system_text::ParseCidr(list.substr(start, comma - start),
                                                               std::string(kName) + ": conduit '" +
                                                                   text + "': source"));
      c.sources.push_back(std::move(cidr));
      start = comma + 1;
    }
  }
  return c;
}

// As nft prints it: a full-length prefix is shown as the bare address.
std::string NftAddress(const Cidr& cidr) {
  std::string_view full = cidr.family == 4 ? "/32" : "/128";
  if (cidr.text.ends_with(full)) return cidr.text.substr(0, cidr.text.size() - full.size());
  return cidr.text;
}

std::string JoinTexts(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The `table ...` part, exactly as `nft list ruleset` prints it once loaded.
std::string RenderTables(const std::vector<Cidr>& zone, const std::vector<Conduit>& conduits) {
  std::string out =
      "table inet filter {\n"
      "\tchain input {\n"
      "\t\ttype filter hook input priority filter; policy drop;\n"
      "\t\tct state established,related accept\n"
      "\t\tct state invalid drop\n"
      "\t\tiif \"lo\" accept\n"
      "\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept\n";
  std::set<std::string> seen;
  for (const Conduit& c : conduits) {
    for (const Cidr& source : c.sources.empty() ? zone : c.sources) {
      std::string rule = std::string(source.family == 4 ? "ip" : "ip6") + " saddr " +
                         NftAddress(source) + " " + c.proto + " dport " + c.ports + " accept";
      if (seen.insert(rule).second) out += "\t\t" + rule + "\n";
    }
  }
  out +=
      "\t}\n"
      "\n"
      "\tchain forward {\n"
      "\t\ttype filter hook forward priority filter; policy drop;\n"
      "\t}\n"
      "\n"
      "\tchain output {\n"
      "\t\ttype filter hook output priority filter; policy accept;\n"
      "\t}\n"
      "}\n";
  return out;
}

class NftablesZone final : public Action {
 public:
  NftablesZone() {
    spec_.name = std::string(kName);
    spec_.description =
        "Writes the node's whole nftables ruleset: input and forward dropped by default, the "
        "zone's conduits let in.";
    spec_.params = {
        {"zone_cidrs", true, true, "CIDRs of the node's own zone (conduits without 'from')"},
        {"conduits", false, true,
         "\"PROTO/PORT\" or \"PROTO/PORT from CIDR[,CIDR]\" (tcp, udp, sctp; PORT or LOW-HIGH)"},
        {"file", false, false, "the ruleset file (default /etc/nftables.conf)"},
        {"ssh_port", false, false, "the SSH port that must stay reachable (default 22)"}};
  }

  const packs::ActionSpec& spec() const override { return spec_; }

  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> zone_texts,
                           action_text::ListParam(kName, args, "zone_cidrs"));
    if (zone_texts.empty()) {
      return Status::InvalidArgument(std::string(kName) + ": zone_cidrs is empty");
    }
    std::vector<Cidr> zone;
    for (const std::string& text : zone_texts) {
      VIGIL_ASSIGN_OR_RETURN(
          Cidr cidr, system_text::ParseCidr(text, std::string(kName) + ": zone_cidrs item"));
      zone.push_back(std::move(cidr));
    }
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> conduit_texts,
                           action_text::ListParam(kName, args, "conduits"));
    std::vector<Conduit> conduits;
    for (const std::string& text : conduit_texts) {
      VIGIL_ASSIGN_OR_RETURN(Conduit c, ParseConduit(text));
      conduits.push_back(std::move(c));
    }
    VIGIL_ASSIGN_OR_RETURN(std::string ssh_text,
                           action_text::OneParam(kName, args, "ssh_port", "22"));
    VIGIL_ASSIGN_OR_RETURN(int ssh_port, ParsePort(ssh_text, "ssh_port " + ssh_text));
    VIGIL_ASSIGN_OR_RETURN(std::string file,
                           action_text::OneParam(kName, args, "file", kDefaultFile));
    VIGIL_RETURN_IF_ERROR(action_text::CheckHostPath(kName, "file", file));

    Plan plan;
    bool ssh_open = false;
    for (const Conduit& c : conduits) {
      ssh_open = ssh_open || (c.proto == "tcp" && c.low <= ssh_port && ssh_port <= c.high);
    }
    if (!ssh_open) {
      plan.refused = "no conduit opens tcp port " + std::to_string(ssh_port) +
                     " (SSH): the ruleset would lock out remote logins; add one such as "
                     "\"tcp/" +
                     std::to_string(ssh_port) + " from " + zone.front().text + "\"";
      return plan;
    }

    std::vector<std::string> zone_list, conduit_list;
    for (const Cidr& c : zone) zone_list.push_back(c.text);
    for (const Conduit& c : conduits) conduit_list.push_back(c.text);
    const std::string tables = RenderTables(zone, conduits);
    const std::string content =
        "#!/usr/sbin/nft -f\n"
        "# Written by vigil (nftables.zone): the whole ruleset. Edits here are replaced.\n"
        "# Zone: " +
        JoinTexts(zone_list) +
        "\n"
        "# Conduits: " +
        JoinTexts(conduit_list) +
        "\n"
        "\n"
        "flush ruleset\n"
        "\n" +
        tables;

    auto current = action_text::ReadIfExists(host, file);
    if (!current.ok()) return current.status().WithContext(std::string(kName));
    const bool file_matches = *current == content;
    if (file_matches) {
      if (!host.is_machine_root()) return plan;
      // The file is right; the kernel may still hold another ruleset.
      auto live = host.Run({"nft", "list", "ruleset"});
      if (live.ok() && live->exit_code == 0 && live->out == tables) return plan;
      plan.notes.push_back("the live ruleset differs from " + file + "; loading it");
    } else {
      // 0755 when new: run as a script by its #! line, as Debian ships it.
      plan.files.push_back(action_text::ContentEdit(file, content, 0755));
      plan.commands.push_back(
          {PlannedCommand::When::kValidate, {"nft", "-c", "-f", "{{file:" + file + "}}"}});
    }
    plan.commands.push_back({PlannedCommand::When::kApply, {"nft", "-f", file}});
    return plan;
  }

 private:
  packs::ActionSpec spec_;
};

}  // namespace

std::unique_ptr<Action> MakeNftablesZone() { return std::make_unique<NftablesZone>(); }

}  // namespace vigil::enforcers
