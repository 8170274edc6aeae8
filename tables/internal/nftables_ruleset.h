// The nftables ruleset as Vigil's nftables_rules table reports it, and a reader for nft's text
// syntax: a configuration file loaded with `nft -f` (with its includes), or the listing
// `nft -a list ruleset` prints (whose "# handle N" comments give each rule's handle).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

struct NftRule {
  std::string text;  // the statements as written, comments removed
  std::string file;  // where it was written; empty for a listing
  int line = 0;
  std::optional<int64_t> handle;  // from a "# handle N" comment
};

struct NftChain {
  std::string name;
  // Set for base chains (those attached to a hook); policy defaults to "accept".
  std::optional<std::string> type, hook, policy;
  std::optional<int64_t> priority;
  std::string file;
  int line = 0;
  std::vector<NftRule> rules;
};

struct NftTable {
  std::string family;
  std::string name;
  std::vector<NftChain> chains;  // in the order they were declared

  NftChain* FindChain(std::string_view chain);
  NftChain& GetChain(std::string_view chain);  // declares it when missing
};

struct NftRuleset {
  std::vector<NftTable> tables;  // in the order they were declared

  NftTable* FindTable(std::string_view family, std::string_view name);
  NftTable& GetTable(std::string_view family, std::string_view name);
};

// A chain priority: a number, or a standard name with an optional offset ("filter",
// "srcnat - 5"), whose value depends on the family; nullopt when it is neither.
std::optional<int64_t> ChainPriority(std::string_view family, std::string_view expression);

// The ruleset `nft -f path` would leave in the kernel. `include "NAME"` is followed (relative
// names in /etc, wildcards in name order, loops and nesting past 16 levels refused); `define`
// values are substituted in chain declarations but rules keep `$name` as written;
// `flush ruleset`, `flush table/chain` and `delete table/chain` apply in order. Problems go to
// ctx.Warn as "FILE:LINE: what"; a missing `path` gives an empty ruleset and no warning.
NftRuleset LoadNftConfig(const QueryContext& ctx, std::string_view path);

// A listing in nft's syntax (`nft -a list ruleset`), `source` naming it in warnings.
NftRuleset ParseNftListing(const QueryContext& ctx, std::string_view text, std::string_view source);

}  // namespace vigil::tables::internal
