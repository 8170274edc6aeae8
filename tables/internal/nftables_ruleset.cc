#include "tables/internal/nftables_ruleset.h"

#include <cctype>
#include <map>

#include "tables/internal/text.h"

namespace vigil::tables::internal {

NftChain* NftTable::FindChain(std::string_view chain) {
  for (NftChain& c : chains) {
    if (c.name == chain) return &c;
  }
  return nullptr;
}

NftChain& NftTable::GetChain(std::string_view chain) {
  if (NftChain* c = FindChain(chain)) return *c;
  chains.push_back(NftChain{});
  chains.back().name = std::string(chain);
  return chains.back();
}

NftTable* NftRuleset::FindTable(std::string_view family, std::string_view name) {
  for (NftTable& t : tables) {
    if (t.family == family && t.name == name) return &t;
  }
  return nullptr;
}

NftTable& NftRuleset::GetTable(std::string_view family, std::string_view name) {
  if (NftTable* t = FindTable(family, name)) return *t;
  tables.push_back(NftTable{std::string(family), std::string(name), {}});
  return tables.back();
}

std::optional<int64_t> ChainPriority(std::string_view family, std::string_view expression) {
  if (std::optional<int64_t> number = ParseInt(expression)) return number;
  size_t i = 0;
  while (i < expression.size() && std::isalpha(static_cast<unsigned char>(expression[i]))) ++i;
  std::string_view name = expression.substr(0, i);
  std::string_view offset = expression.substr(i);
  static const std::map<std::string_view, int64_t> kInet = {{"raw", -300},    {"mangle", -150},
                                                            {"dstnat", -100}, {"filter", 0},
                                                            {"security", 50}, {"srcnat", 100}};
  static const std::map<std::string_view, int64_t> kBridge = {
      {"dstnat", -300}, {"filter", -200}, {"out", 100}, {"srcnat", 300}};
  std::optional<int64_t> base;
  if (family == "bridge") {
    if (auto it = kBridge.find(name); it != kBridge.end()) base = it->second;
  } else if (family == "arp" || family == "netdev") {
    if (name == "filter") base = 0;
  } else if (auto it = kInet.find(name); it != kInet.end()) {
    base = it->second;
  }
  if (!base || offset.empty()) return base;
  std::optional<int64_t> delta = ParseInt(offset.substr(1));
  if (!delta || (offset[0] != '+' && offset[0] != '-')) return std::nullopt;
  return offset[0] == '+' ? *base + *delta : *base - *delta;
}

}  // namespace vigil::tables::internal
