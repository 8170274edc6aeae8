// etc_hosts: the static host name mappings of /etc/hosts, one row per mapping line.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum EtcHostsColumn : int { kAddress, kHostnames, kLine, kColumnCount };

Schema EtcHostsSchema() {
  return Schema{
      "etc_hosts",
      "Static host name mappings from /etc/hosts, in file order: an address followed by its "
      "names, '#' to the end of the line is a comment. Lines the C library ignores (an address "
      "it cannot parse, no name) are skipped with a warning.",
      {
          {"address", ColumnType::kText, "IPv4 or IPv6 address, as written"},
          {"hostnames", ColumnType::kText,
           "The canonical name and its aliases, separated by single spaces"},
          {"line", ColumnType::kInteger, "Line of /etc/hosts", kHidden},
      }};
}

constexpr std::string_view kPath = "/etc/hosts";

bool IsAddress(std::string_view text) {
  std::string address(text.substr(0, text.find('%')));  // fe80::1%eth0 names a scope
  in6_addr buffer;
  if (address.size() == text.size() && inet_pton(AF_INET, address.c_str(), &buffer) == 1) {
    return true;
  }
  return inet_pton(AF_INET6, address.c_str(), &buffer) == 1;
}

class EtcHostsTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> text = internal::ReadOptionalFile(ctx, kPath);
    if (!text) return rows;
    for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
      std::string_view content = line.text.substr(0, line.text.find('#'));
      std::vector<std::string_view> words = internal::SplitWhitespace(internal::Trim(content));
      if (words.empty()) continue;
      auto warn = [&](std::string_view what) {
        ctx.Warn(std::string(kPath) + ":" + std::to_string(line.number) + ": " + std::string(what));
      };
      if (!IsAddress(words[0])) {
        warn("not an IP address: " + std::string(words[0]));
        continue;
      }
      if (words.size() < 2) {
        warn("address without a host name");
        continue;
      }
      std::string names(words[1]);
      for (size_t i = 2; i < words.size(); ++i) names.append(" ").append(words[i]);
      Row row(kColumnCount);
      row[kAddress] = words[0];
      row[kHostnames] = std::move(names);
      row[kLine] = line.number;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = EtcHostsSchema();
};

}  // namespace

std::unique_ptr<Table> MakeEtcHostsTable() { return std::make_unique<EtcHostsTable>(); }

}  // namespace vigil::tables
