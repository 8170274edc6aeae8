// sshd_config: the settings OpenSSH's sshd uses, with the file and line each comes from, and
// the compiled-in default for every keyword no global line sets.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/table.h"
#include "tables/internal/sshd_config_parser.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum SshdConfigColumn : int { kKeyword, kValue, kMatch, kFile, kLine, kSource, kColumnCount };

Schema SshdConfigSchema() {
  return Schema{
      "sshd_config",
      "The effective configuration of the OpenSSH server, read from /etc/ssh/sshd_config and "
      "the files it includes as sshd 9.2 reads them: keywords in any case (aliases such as "
      "ChallengeResponseAuthentication folded into their current name), 'Keyword=value' "
      "accepted, the first value of a keyword wins and later ones are left out, except for "
      "Port, HostKey, HostCertificate, ListenAddress, Subsystem, AcceptEnv and the "
      "Allow/Deny user and group lists, which keep one row per line. Include globs are "
      "expanded in name order at the point of inclusion (relative paths from /etc/ssh). "
      "Settings after a Match line carry its condition in `match` and apply, for connections "
      "it matches, in place of the global ones. Keywords no global line sets get a row with "
      "sshd's compiled-in default (source 'default'). Deprecated keywords sshd ignores are "
      "left out; lines sshd would refuse to start with are skipped with a warning. No rows "
      "when /etc/ssh/sshd_config does not exist.",
      {
          {"keyword", ColumnType::kText,
           "Keyword in lowercase, as `sshd -T` prints it (\"permitrootlogin\")", kIndex},
          {"value", ColumnType::kText,
           "The arguments as written, quotes removed and words joined by one space (\"LANG "
           "LC_*\", \"aes256-gcm@openssh.com,aes128-ctr\"); for defaults, the value sshd "
           "uses"},
          {"match", ColumnType::kText,
           "Condition of the Match block holding the setting (\"User historian\", \"Address "
           "10.0.0.0/8\"); empty for global settings and defaults"},
          {"file", ColumnType::kText, "File holding the setting; NULL for a default", kIndex},
          {"line", ColumnType::kInteger,
           "Line number (from 1) of the setting in file; NULL for a default"},
          {"source", ColumnType::kText,
           "'config' for a line of the configuration, 'default' for sshd's compiled-in value"},
      }};
}

class SshdConfigTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    internal::SshdConfig config = internal::LoadSshdConfig(ctx);
    std::vector<Row> rows;
    for (internal::SshdSetting& setting : config.settings) {
      if (!ctx.Matches(kKeyword, Value(setting.keyword))) continue;
      Value file = setting.is_default ? Value() : Value(setting.file);
      if (!ctx.Matches(kFile, file)) continue;

      Row row(kColumnCount);
      row[kKeyword] = std::move(setting.keyword);
      row[kValue] = std::move(setting.value);
      row[kMatch] = std::move(setting.match);
      row[kFile] = std::move(file);
      if (!setting.is_default) row[kLine] = setting.line;
      row[kSource] = setting.is_default ? "default" : "config";
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = SshdConfigSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSshdConfigTable() { return std::make_unique<SshdConfigTable>(); }

}  // namespace vigil::tables
