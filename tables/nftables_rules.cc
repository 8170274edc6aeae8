// nftables_rules: the nftables firewall, one row per rule and one per chain without rules, from
// the running kernel (`nft -j list ruleset`) or else from the configured /etc/nftables.conf.
#include <rapidjson/document.h>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/nftables_ruleset.h"

namespace vigil::tables {
namespace {

using internal::NftChain;
using internal::NftRule;
using internal::NftRuleset;
using internal::NftTable;

// Column positions, in the order of the column list below.
enum NftablesRulesColumn : int {
  kFamily,
  kTableName,
  kChain,
  kChainType,
  kHook,
  kPriority,
  kPolicy,
  kRule,
  kHandle,
  kPosition,
  kSource,
  kLine,
  kColumnCount
};

Schema NftablesRulesSchema() {
  return Schema{
      "nftables_rules",
      "nftables chains and rules: one row per rule, and one row with rule NULL for each chain "
      "that has none, so every chain and its policy can be checked. On the machine itself the "
      "ruleset loaded in the kernel is read (`nft -j list ruleset` for tables, chains and "
      "handles, `nft -s -a list ruleset` for the rule text); under another root, or when nft "
      "is missing or fails (a warning says why), the ruleset /etc/nftables.conf would load: "
      "includes followed, `flush ruleset` and `define` applied, rules as written.",
      {
          {"family", ColumnType::kText, "Table family: ip, ip6, inet, arp, bridge or netdev"},
          {"table_name", ColumnType::kText, "Table name"},
          {"chain", ColumnType::kText, "Chain name"},
          {"chain_type", ColumnType::kText,
           "Base chain type (filter, nat, route); NULL for a regular chain (no hook)"},
          {"hook", ColumnType::kText,
           "Hook the base chain is attached to (input, output, forward, prerouting, "
           "postrouting, ingress, egress); NULL for a regular chain"},
          {"priority", ColumnType::kInteger,
           "Base chain priority as a number (standard names such as filter or srcnat resolved "
           "for the family); NULL for a regular chain"},
          {"policy", ColumnType::kText,
           "Base chain policy, accept or drop (accept when not stated); NULL for a regular "
           "chain"},
          {"rule", ColumnType::kText,
           "The rule in nft syntax: as the kernel lists it (counter values omitted), or as "
           "written in the file with comments removed and line breaks joined ($variables kept); "
           "NULL on the row of a chain without rules"},
          {"handle", ColumnType::kInteger, "Rule handle in the kernel; NULL for the file source"},
          {"position", ColumnType::kInteger,
           "Order (from 1) of the rule in its chain; NULL on the row of a chain without rules"},
          {"source", ColumnType::kText,
           "'kernel', or the configuration file the rule (or the chain, on a row without rule) "
           "is written in"},
          {"line", ColumnType::kInteger, "Line number (from 1) in source; NULL for the kernel"},
      }};
}

constexpr std::string_view kConfigFile = "/etc/nftables.conf";
constexpr std::chrono::milliseconds kNftTimeout{10'000};

std::optional<std::string> StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> IntMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

Result<CommandResult> RunNft(const Host& host, std::vector<std::string> argv) {
  CommandOptions options;
  options.timeout = kNftTimeout;
  Result<CommandResult> result = host.Run(argv, options);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    std::string err = result->err.substr(0, result->err.find('\n'));
    return Status::Unavailable(FormatCommand(argv) + " exited with status " +
                               std::to_string(result->exit_code) + (err.empty() ? "" : ": ") + err);
  }
  return result;
}

using RuleKey = std::tuple<std::string, std::string, std::string, int64_t>;

constexpr char kListingCommand[] = "nft -s -a list ruleset";

// Rule text by (family, table, chain, handle), from the listing with handles.
std::map<RuleKey, std::string> KernelRuleText(const QueryContext& ctx, const std::string& listing) {
  NftRuleset parsed = internal::ParseNftListing(ctx, listing, kListingCommand);
  std::map<RuleKey, std::string> text;
  for (const NftTable& table : parsed.tables) {
    for (const NftChain& chain : table.chains) {
      for (const NftRule& rule : chain.rules) {
        if (rule.handle) text[{table.family, table.name, chain.name, *rule.handle}] = rule.text;
      }
    }
  }
  return text;
}

Result<NftRuleset> KernelRuleset(const QueryContext& ctx, bool want_text) {
  // The listing with handles runs beside the JSON one: started one after the other, the two
  // programs' start-up times add up (a Host is safe to share between threads). The future is
  // waited for on every path, also when the JSON listing fails.
  auto run_listing = [&host = ctx.host()] {
    return RunNft(host, {"nft", "-s", "-a", "list", "ruleset"});
  };
  std::future<Result<CommandResult>> listing;
  if (want_text) {
    try {
      listing = std::async(std::launch::async, run_listing);
    } catch (const std::system_error&) {
      // No thread to spare: the listing runs after the JSON one.
    }
  }
  VIGIL_ASSIGN_OR_RETURN(CommandResult json, RunNft(ctx.host(), {"nft", "-j", "list", "ruleset"}));
  rapidjson::Document doc;
  doc.Parse(json.out.data(), json.out.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("nftables") ||
      !doc["nftables"].IsArray()) {
    return Status::Corruption("nft -j list ruleset printed something that is not its JSON");
  }
  std::map<RuleKey, std::string> text;
  if (want_text) {
    Result<CommandResult> listed = listing.valid() ? listing.get() : run_listing();
    if (!listed.ok()) return listed.status();
    text = KernelRuleText(ctx, listed->out);
  }
  NftRuleset ruleset;
  bool missing_text = false;
  for (const rapidjson::Value& item : doc["nftables"].GetArray()) {
    if (!item.IsObject() || item.MemberCount() != 1) continue;
    const rapidjson::Value& object = item.MemberBegin()->value;
    std::string_view kind(item.MemberBegin()->name.GetString(),
                          item.MemberBegin()->name.GetStringLength());
    if (!object.IsObject()) continue;
    std::optional<std::string> family = StringMember(object, "family");
    if (!family) continue;
    if (kind == "table") {
      std::optional<std::string> name = StringMember(object, "name");
      if (name) ruleset.GetTable(*family, *name);
      continue;
    }
    std::optional<std::string> table = StringMember(object, "table");
    std::optional<std::string> chain_name =
        StringMember(object, kind == "chain" ? "name" : "chain");
    if (!table || !chain_name || (kind != "chain" && kind != "rule")) continue;
    NftChain& chain = ruleset.GetTable(*family, *table).GetChain(*chain_name);
    if (kind == "chain") {
      chain.type = StringMember(object, "type");
      chain.hook = StringMember(object, "hook");
      chain.priority = IntMember(object, "prio");
      chain.policy = StringMember(object, "policy");
      continue;
    }
    NftRule rule;
    rule.handle = IntMember(object, "handle");
    if (want_text && rule.handle) {
      auto it = text.find({*family, *table, *chain_name, *rule.handle});
      if (it != text.end()) rule.text = it->second;
      missing_text |= it == text.end();
    }
    chain.rules.push_back(std::move(rule));
  }
  if (missing_text) {
    ctx.Warn("the ruleset changed while it was read: some rules have an empty text");
  }
  return ruleset;
}

class NftablesRulesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    NftRuleset ruleset;
    bool live = false;
    if (ctx.host().is_machine_root()) {
      Result<NftRuleset> kernel = KernelRuleset(ctx, ctx.IsUsed(kRule));
      if (kernel.ok()) {
        ruleset = std::move(*kernel);
        live = true;
      } else if (kernel.status().code() != StatusCode::kNotFound) {
        ctx.Warn("cannot read the kernel's ruleset (" + kernel.status().message() +
                 "); reporting " + std::string(kConfigFile) + " instead");
      }
    }
    if (!live) ruleset = internal::LoadNftConfig(ctx, kConfigFile);

    std::vector<Row> rows;
    for (const NftTable& table : ruleset.tables) {
      if (!ctx.Matches(kFamily, Value(table.family)) ||
          !ctx.Matches(kTableName, Value(table.name))) {
        continue;
      }
      for (const NftChain& chain : table.chains) {
        if (!ctx.Matches(kChain, Value(chain.name))) continue;
        Row base(kColumnCount);
        base[kFamily] = table.family;
        base[kTableName] = table.name;
        base[kChain] = chain.name;
        if (chain.type) base[kChainType] = *chain.type;
        if (chain.hook) base[kHook] = *chain.hook;
        if (chain.priority) base[kPriority] = *chain.priority;
        if (chain.policy) base[kPolicy] = *chain.policy;
        if (chain.rules.empty()) {
          base[kSource] = live ? std::string("kernel") : chain.file;
          if (!live) base[kLine] = chain.line;
          rows.push_back(std::move(base));
          continue;
        }
        for (size_t i = 0; i < chain.rules.size(); ++i) {
          const NftRule& rule = chain.rules[i];
          Row row = base;
          row[kRule] = rule.text;
          if (rule.handle) row[kHandle] = *rule.handle;
          row[kPosition] = static_cast<int64_t>(i + 1);
          row[kSource] = live ? std::string("kernel") : rule.file;
          if (!live) row[kLine] = rule.line;
          rows.push_back(std::move(row));
        }
      }
    }
    return rows;
  }

 private:
  const Schema schema_ = NftablesRulesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeNftablesRulesTable() { return std::make_unique<NftablesRulesTable>(); }

}  // namespace vigil::tables
