// dns_resolvers: the stub resolver configuration of /etc/resolv.conf as the C library applies
// it: at most three name servers, the last domain/search line wins, sortlist pairs, options.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/inet.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::SplitWhitespace;
using internal::Trim;

// Column positions, in the order of the column list below.
enum DnsResolversColumn : int { kId, kType, kAddress, kNetmask, kOptions, kLine, kColumnCount };

Schema DnsResolversSchema() {
  return Schema{
      "dns_resolvers",
      "The resolver configuration in effect from /etc/resolv.conf, read as the C library "
      "reads it: keywords at the start of a line, '#' or ';' lines are comments, name servers "
      "after the third are ignored, the last domain or search line sets the search list (by "
      "default the domain part of the host name, /proc/sys/kernel/hostname), and without any "
      "nameserver line the resolver asks 127.0.0.1. Rows: nameserver, search, sortlist, then "
      "options, each in file order. No rows when the file is missing.",
      {
          {"id", ColumnType::kInteger, "Position among the rows of the same type, from 0"},
          {"type", ColumnType::kText, "nameserver, search, sortlist or options"},
          {"address", ColumnType::kText,
           "nameserver: the server address (IPv6 with %interface if scoped); search: the "
           "domain; sortlist: the network; options: the option as written (ndots:2, rotate)"},
          {"netmask", ColumnType::kText,
           "nameserver: 32 or 128; sortlist: the prefix length (the classful default without "
           "an explicit mask, the dotted mask when it is not contiguous); else NULL"},
          {"options", ColumnType::kInteger,
           "The resolver's option bits (RES_INIT | RES_RECURSE | RES_DEFNAMES | RES_DNSRCH = "
           "705 plus rotate 0x4000, edns0 0x100000, single-request 0x200000, "
           "single-request-reopen 0x400000, no-tld-query 0x1000000, use-vc 0x8, no-reload "
           "0x2000000, trust-ad 0x4000000, no-aaaa 0x8000000, debug 0x2), the same on every row"},
          {"line", ColumnType::kInteger,
           "Line of /etc/resolv.conf the row comes from; NULL for defaults", kHidden},
      }};
}

constexpr std::string_view kPath = "/etc/resolv.conf";
constexpr int kMaxNameservers = 3;
constexpr int kMaxSortlist = 10;
constexpr int64_t kDefaultOptions = 0x1 | 0x40 | 0x80 | 0x200;  // INIT RECURSE DEFNAMES DNSRCH

struct OptionBit {
  std::string_view name;
  int64_t bit;
};
// Options that take no value; the bit is 0 for those the library accepts without effect.
constexpr OptionBit kOptionBits[] = {
    {"debug", 0x2},
    {"rotate", 0x4000},
    {"edns0", 0x100000},
    {"single-request", 0x200000},
    {"single-request-reopen", 0x400000},
    {"no-tld-query", 0x1000000},
    {"no_tld_query", 0x1000000},
    {"use-vc", 0x8},
    {"no-reload", 0x2000000},
    {"trust-ad", 0x4000000},
    {"no-aaaa", 0x8000000},
    {"inet6", 0},
    {"ip6-bytestring", 0},
    {"ip6-dotint", 0},
    {"no-ip6-dotint", 0},
    {"no-check-names", 0},
};

struct Entry {
  std::string address;
  std::optional<std::string> netmask;
  std::optional<int> line;
};

// The keyword of a line and the text after it; the keyword must start the line.
bool Keyword(std::string_view text, std::string_view word, std::string_view& rest) {
  if (!text.starts_with(word) || text.size() == word.size() ||
      (text[word.size()] != ' ' && text[word.size()] != '\t')) {
    return false;
  }
  rest = Trim(text.substr(word.size()));
  return true;
}

std::optional<std::string> NameserverAddress(std::string_view word) {
  std::string text(word);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return internal::Ipv4Text(v4);
  size_t percent = text.find('%');
  in6_addr v6;
  if (inet_pton(AF_INET6, text.substr(0, percent).c_str(), &v6) != 1) return std::nullopt;
  std::string out = internal::Ipv6Text(v6);
  if (percent != std::string::npos) out += text.substr(percent);
  return out;
}

// The mask of a class A, B or C network, as sortlist assumes when none is given.
int ClassfulPrefix(in_addr address) {
  uint32_t a = ntohl(address.s_addr);
  if ((a & 0x80000000u) == 0) return 8;
  if ((a & 0xc0000000u) == 0x80000000u) return 16;
  return 24;
}

class DnsResolversTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> text = internal::ReadOptionalFile(ctx, kPath);
    if (!text) return rows;
    std::vector<Entry> nameservers, search, sortlist, options;
    bool search_set = false;
    int64_t bits = kDefaultOptions;
    for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
      std::string_view rest;
      auto where = [&line](std::string_view what) {
        return std::string(kPath) + ":" + std::to_string(line.number) + ": " + std::string(what);
      };
      if (Keyword(line.text, "nameserver", rest)) {
        std::vector<std::string_view> words = SplitWhitespace(rest);
        if (nameservers.size() >= kMaxNameservers) {
          ctx.Warn(where("more than 3 name servers; the resolver ignores this one"));
        } else if (auto address = words.empty() ? std::nullopt : NameserverAddress(words[0])) {
          std::string mask = address->find(':') == std::string::npos ? "32" : "128";
          nameservers.push_back({std::move(*address), std::move(mask), line.number});
        } else {
          ctx.Warn(where("not a name server address"));
        }
      } else if (Keyword(line.text, "domain", rest) || Keyword(line.text, "search", rest)) {
        std::vector<std::string_view> words = SplitWhitespace(rest);
        if (words.empty()) continue;
        if (line.text.starts_with("domain")) words.resize(1);
        search.clear();
        search_set = true;
        for (std::string_view word : words) search.push_back({std::string(word), {}, line.number});
      } else if (Keyword(line.text, "sortlist", rest)) {
        for (std::string_view word : SplitWhitespace(rest)) {
          if (sortlist.size() >= kMaxSortlist) break;
          if (auto entry = SortlistEntry(word, line.number)) {
            sortlist.push_back(std::move(*entry));
          } else {
            ctx.Warn(where("not a sortlist address: " + std::string(word)));
          }
        }
      } else if (Keyword(line.text, "options", rest)) {
        for (std::string_view word : SplitWhitespace(rest)) {
          if (!ApplyOption(word, bits)) ctx.Warn(where("unknown option " + std::string(word)));
          options.push_back({std::string(word), {}, line.number});
        }
      }
    }
    if (nameservers.empty()) nameservers.push_back({"127.0.0.1", "32", std::nullopt});
    if (!search_set) {
      if (auto domain = HostDomain(ctx)) search.push_back({std::move(*domain), {}, std::nullopt});
    }
    AddRows("nameserver", nameservers, bits, rows);
    AddRows("search", search, bits, rows);
    AddRows("sortlist", sortlist, bits, rows);
    AddRows("options", options, bits, rows);
    return rows;
  }

 private:
  static std::optional<Entry> SortlistEntry(std::string_view word, int line) {
    size_t cut = word.find_first_of("/&");
    std::string address(word.substr(0, cut));
    in_addr network;
    if (inet_pton(AF_INET, address.c_str(), &network) != 1) return std::nullopt;
    std::string netmask = std::to_string(ClassfulPrefix(network));
    if (cut != std::string_view::npos) {
      std::string mask_text(word.substr(cut + 1));
      in_addr mask;
      if (inet_pton(AF_INET, mask_text.c_str(), &mask) != 1) return std::nullopt;
      std::optional<int> length = internal::Ipv4PrefixLength(mask);
      netmask = length ? std::to_string(*length) : internal::Ipv4Text(mask);
    }
    return Entry{internal::Ipv4Text(network), std::move(netmask), line};
  }

  // False for an option the library does not know.
  static bool ApplyOption(std::string_view word, int64_t& bits) {
    for (std::string_view valued : {"ndots:", "timeout:", "attempts:"}) {
      if (word.starts_with(valued))
        return internal::ParseInt(word.substr(valued.size())).has_value();
    }
    for (const OptionBit& option : kOptionBits) {
      if (word == option.name) {
        bits |= option.bit;
        return true;
      }
    }
    return false;
  }

  // The domain part of the host name, the default search list.
  static std::optional<std::string> HostDomain(const QueryContext& ctx) {
    Result<std::string> name = ctx.host().ReadFile("/proc/sys/kernel/hostname", 4096);
    if (!name.ok()) return std::nullopt;
    std::string_view host = Trim(*name);
    size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot + 1 >= host.size()) return std::nullopt;
    return std::string(host.substr(dot + 1));
  }

  static void AddRows(std::string_view type, std::vector<Entry>& entries, int64_t bits,
                      std::vector<Row>& rows) {
    for (size_t i = 0; i < entries.size(); ++i) {
      Row row(kColumnCount);
      row[kId] = static_cast<int64_t>(i);
      row[kType] = type;
      row[kAddress] = std::move(entries[i].address);
      if (entries[i].netmask) row[kNetmask] = std::move(*entries[i].netmask);
      row[kOptions] = bits;
      if (entries[i].line) row[kLine] = *entries[i].line;
      rows.push_back(std::move(row));
    }
  }

  const Schema schema_ = DnsResolversSchema();
};

}  // namespace

std::unique_ptr<Table> MakeDnsResolversTable() { return std::make_unique<DnsResolversTable>(); }

}  // namespace vigil::tables
