// authorized_keys: the public keys that may log in as each local user, one row per key line of
// the user's authorized_keys files.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
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
enum AuthorizedKeysColumn : int {
  kUid,
  kAlgorithm,
  kKey,
  kOptions,
  kComment,
  kKeyFile,
  kUsername,
  kBits,
  kFingerprint,
  kLine,
  kColumnCount
};

constexpr size_t kMaxKeysFileBytes = 4u << 20;

Schema AuthorizedKeysSchema() {
  return Schema{
      "authorized_keys",
      "Public keys allowed to log in over SSH: one row per key line of each /etc/passwd "
      "user's ~/.ssh/authorized_keys and ~/.ssh/authorized_keys2, and of the files sshd's "
      "global AuthorizedKeysFile setting names for the user (%h, %u, %U and %% expanded; "
      "relative paths from the home directory). Comments and blank lines are skipped; lines "
      "that are not keys are skipped with a warning. Missing files give no rows.",
      {
          {"uid", ColumnType::kInteger, "User id of the account the file belongs to", kIndex},
          {"algorithm", ColumnType::kText,
           "Key type as written (\"ssh-ed25519\", \"ssh-rsa\", \"ecdsa-sha2-nistp256\")"},
          {"key", ColumnType::kText, "The key blob, base64 as written"},
          {"options", ColumnType::kText,
           "Options before the key type as written (from=\"10.0.0.0/8\",no-pty); empty when "
           "none"},
          {"comment", ColumnType::kText, "Comment after the key; empty when none"},
          {"key_file", ColumnType::kText, "Path of the authorized_keys file", kIndex},
          {"username", ColumnType::kText, "Login name of the account", kIndex},
          {"bits", ColumnType::kInteger,
           "Key size in bits (RSA modulus, DSA prime, ECDSA curve, 256 for Ed25519); NULL "
           "when the blob cannot be read"},
          {"fingerprint", ColumnType::kText,
           "SHA-256 fingerprint as ssh-keygen and sshd's logs print it; NULL when the blob "
           "cannot be read"},
          {"line", ColumnType::kInteger, "Line number (from 1) of the key in key_file"},
      }};
}

struct Account {
  std::string name;
  uint32_t uid = 0;
  std::string home;
};

std::vector<Account> ReadAccounts(const QueryContext& ctx) {
  std::vector<Account> accounts;
  std::optional<std::string> passwd = internal::ReadOptionalFile(ctx, "/etc/passwd");
  if (!passwd) return accounts;
  for (const internal::NumberedLine& line : internal::SplitLines(*passwd)) {
    std::vector<std::string_view> f = internal::SplitFields(line.text, ':');
    if (f.size() != 7 || f[0].empty() || f[0].front() == '#') continue;
    std::optional<uint64_t> uid = internal::ParseUint(f[2]);
    if (!uid || *uid > UINT32_MAX || f[5].empty()) continue;
    accounts.push_back({std::string(f[0]), static_cast<uint32_t>(*uid), std::string(f[5])});
  }
  return accounts;
}

// An AuthorizedKeysFile entry for one account, as sshd expands it.
std::string ExpandKeysFile(std::string_view pattern, const Account& account) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    switch (pattern[++i]) {
      case 'h':
        out += account.home;
        break;
      case 'u':
        out += account.name;
        break;
      case 'U':
        out += std::to_string(account.uid);
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += pattern[i];
        break;
    }
  }
  if (!out.starts_with('/')) out = JoinPath(account.home, out);
  return out;
}

// The files to read for an account: the two standard ones, then sshd's own.
std::vector<std::string> KeyFiles(const Account& account,
                                  const std::vector<std::string>& configured) {
  std::vector<std::string> files = {JoinPath(account.home, ".ssh/authorized_keys"),
                                    JoinPath(account.home, ".ssh/authorized_keys2")};
  for (const std::string& pattern : configured) {
    if (internal::Lower(pattern) == "none") continue;
    std::string file = ExpandKeysFile(pattern, account);
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  }
  return files;
}

class AuthorizedKeysTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<std::string> configured;
    const internal::SshdConfig config = internal::LoadSshdConfig(ctx);
    for (const internal::SshdSetting* setting : config.Global("authorizedkeysfile")) {
      for (std::string_view word : internal::SplitWhitespace(setting->value)) {
        configured.emplace_back(word);
      }
    }
    std::vector<Row> rows;
    for (const Account& account : ReadAccounts(ctx)) {
      if (!ctx.Matches(kUid, Value(account.uid)) || !ctx.Matches(kUsername, Value(account.name))) {
        continue;
      }
      for (const std::string& file : KeyFiles(account, configured)) {
        VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
        if (!ctx.Matches(kKeyFile, Value(file))) continue;
        std::optional<std::string> content =
            internal::ReadOptionalFile(ctx, file, kMaxKeysFileBytes);
        if (content) AddKeys(ctx, account, file, *content, rows);
      }
    }
    return rows;
  }

 private:
  void AddKeys(const QueryContext& ctx, const Account& account, const std::string& file,
               const std::string& content, std::vector<Row>& rows) const {
    for (const internal::NumberedLine& line : internal::SplitLines(content)) {
      std::string_view text = internal::Trim(line.text);
      if (text.empty() || text.front() == '#') continue;
      Result<internal::SshKeyLine> key = internal::ParseSshKeyLine(text, true);
      const std::string where = file + ":" + std::to_string(line.number) + ": ";
      if (!key.ok()) {
        ctx.Warn(where + key.status().message());
        continue;
      }
      Row row(kColumnCount);
      if (ctx.IsUsed(kBits) || ctx.IsUsed(kFingerprint)) {
        Result<internal::SshKeyInfo> info = internal::InspectSshKey(key->base64);
        if (!info.ok()) {
          ctx.Warn(where + info.status().message());
        } else {
          if (info->bits) row[kBits] = *info->bits;
          row[kFingerprint] = info->fingerprint;
        }
      }
      row[kUid] = account.uid;
      row[kAlgorithm] = std::move(key->type);
      row[kKey] = std::move(key->base64);
      row[kOptions] = std::move(key->options);
      row[kComment] = std::move(key->comment);
      row[kKeyFile] = file;
      row[kUsername] = account.name;
      row[kLine] = line.number;
      rows.push_back(std::move(row));
    }
  }

  const Schema schema_ = AuthorizedKeysSchema();
};

}  // namespace

std::unique_ptr<Table> MakeAuthorizedKeysTable() { return std::make_unique<AuthorizedKeysTable>(); }

}  // namespace vigil::tables
