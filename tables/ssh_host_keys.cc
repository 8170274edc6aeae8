// ssh_host_keys: the public halves of the SSH server's host keys, with their size and
// fingerprint, and whether sshd's effective HostKey setting uses them.
#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/ssh_key.h"
#include "tables/internal/sshd_config_parser.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum SshHostKeysColumn : int {
  kType,
  kBits,
  kFingerprint,
  kComment,
  kFile,
  kPrivateKey,
  kUsedBySshd,
  kColumnCount
};

constexpr size_t kMaxPublicKeyBytes = 1u << 20;

Schema SshHostKeysSchema() {
  return Schema{
      "ssh_host_keys",
      "SSH server host keys: one row per key in /etc/ssh/ssh_host_*_key.pub and in the .pub "
      "file beside each private key sshd's effective HostKey setting names (the configured "
      "ones, or sshd's defaults). Size and fingerprint come from the key blob, as "
      "`ssh-keygen -l` reports them. Private keys are never read; a HostKey without a .pub "
      "file has no row. Lines that are not keys are skipped with a warning.",
      {
          {"type", ColumnType::kText,
           "Key type named inside the key (\"ssh-ed25519\", \"ecdsa-sha2-nistp256\", "
           "\"ssh-rsa\")"},
          {"bits", ColumnType::kInteger,
           "Key size in bits: RSA modulus or DSA prime length, 256/384/521 for ECDSA curves, "
           "256 for Ed25519; NULL for types without a defined size"},
          {"fingerprint", ColumnType::kText,
           "SHA-256 fingerprint as ssh-keygen prints it (\"SHA256:\" and unpadded base64)"},
          {"comment", ColumnType::kText, "Comment after the key; empty when none"},
          {"file", ColumnType::kText, "The .pub file holding the key", kIndex},
          {"private_key", ColumnType::kText,
           "Path of the matching private key (file without \".pub\"), whether or not it exists"},
          {"used_by_sshd", ColumnType::kInteger,
           "1 when sshd's effective HostKey setting (configured or default) names private_key, "
           "else 0; NULL when /etc/ssh/sshd_config does not exist"},
      }};
}

// The host paths of the .pub files to read, and the private keys sshd uses.
struct Sources {
  std::vector<std::string> pub_files;
  std::optional<std::set<std::string>> sshd_keys;  // nullopt without an sshd configuration
};

Sources FindSources(const QueryContext& ctx) {
  Sources sources;
  Result<std::vector<std::string>> found = ctx.host().Glob("/etc/ssh/ssh_host_*_key.pub");
  if (found.ok()) sources.pub_files = std::move(*found);

  const internal::SshdConfig config = internal::LoadSshdConfig(ctx);
  if (!config.found) return sources;
  sources.sshd_keys.emplace();
  for (const internal::SshdSetting* setting : config.Global("hostkey")) {
    // sshd takes a relative HostKey from its working directory, "/".
    std::string path = setting->value.starts_with('/') ? setting->value : "/" + setting->value;
    sources.sshd_keys->insert(path);
    std::string pub = path + ".pub";
    if (std::find(sources.pub_files.begin(), sources.pub_files.end(), pub) ==
            sources.pub_files.end() &&
        ctx.host().Exists(pub)) {
      sources.pub_files.push_back(std::move(pub));
    }
  }
  return sources;
}

class SshHostKeysTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    const Sources sources = FindSources(ctx);
    std::vector<Row> rows;
    for (const std::string& file : sources.pub_files) {
      if (!ctx.Matches(kFile, Value(file))) continue;
      std::optional<std::string> content =
          internal::ReadOptionalFile(ctx, file, kMaxPublicKeyBytes);
      if (!content) continue;
      const std::string private_key = file.substr(0, file.size() - 4);
      for (const internal::NumberedLine& line : internal::SplitLines(*content)) {
        std::string_view text = internal::Trim(line.text);
        if (text.empty() || text.front() == '#') continue;
        const std::string where = file + ":" + std::to_string(line.number) + ": ";
        Result<internal::SshKeyLine> key = internal::ParseSshKeyLine(text, false);
        if (!key.ok()) {
          ctx.Warn(where + key.status().message());
          continue;
        }
        Result<internal::SshKeyInfo> info = internal::InspectSshKey(key->base64);
        if (!info.ok()) {
          ctx.Warn(where + info.status().message());
          continue;
        }
        if (info->type != key->type) {
          ctx.Warn(where + "key written as " + key->type + " is a " + info->type + " key");
        }
        Row row(kColumnCount);
        row[kType] = info->type;
        if (info->bits) row[kBits] = *info->bits;
        row[kFingerprint] = info->fingerprint;
        row[kComment] = key->comment;
        row[kFile] = file;
        row[kPrivateKey] = private_key;
        if (sources.sshd_keys) row[kUsedBySshd] = sources.sshd_keys->contains(private_key);
        rows.push_back(std::move(row));
      }
    }
    return rows;
  }

 private:
  const Schema schema_ = SshHostKeysSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSshHostKeysTable() { return std::make_unique<SshHostKeysTable>(); }

}  // namespace vigil::tables
