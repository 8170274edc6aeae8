// shadow: password state and ageing of the local accounts, from /etc/shadow. The password hash
// itself never leaves this file: rows carry only what kind of password an account has.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum ShadowColumn : int {
  kPasswordStatus,
  kHashAlg,
  kLastChange,
  kMin,
  kMax,
  kWarning,
  kInactive,
  kExpire,
  kFlag,
  kUsername,
  kHashScheme,
  kColumnCount
};

Schema ShadowSchema() {
  return Schema{
      "shadow",
      "Password state and ageing of the local accounts, from /etc/shadow, in file order. The "
      "hash is never returned. Reading the file needs root: without permission the table is "
      "empty and the statement carries a warning. Empty numeric fields are NULL (where the "
      "C library reports -1). Lines that are neither the nine-field form nor the old "
      "name:password form, or whose numeric fields are not numbers, are skipped with a "
      "warning, as the C library skips them.",
      {
          {"password_status", ColumnType::kText,
           "active (the field holds a hash), locked (it starts with '!' or '*', so no password "
           "can match), not_set (it is \"!!\", an account whose password was never set), or "
           "empty (the field is empty: the account logs in without a password)"},
          {"hash_alg", ColumnType::kText,
           "The id of the hashing method from the hash's $id$ prefix (\"1\", \"5\", \"6\", "
           "\"y\", \"2b\", ...), also for a locked account that keeps its hash; NULL without "
           "a $id$ prefix"},
          {"last_change", ColumnType::kInteger,
           "Day of the last password change, in days since 1970-01-01; 0 forces a change at the "
           "next login; NULL when empty (ageing disabled)"},
          {"min", ColumnType::kInteger, "Minimum days between password changes; NULL when empty"},
          {"max", ColumnType::kInteger,
           "Maximum days a password is valid; NULL when empty (no limit)"},
          {"warning", ColumnType::kInteger,
           "Days before the password expires that the user is warned; NULL when empty"},
          {"inactive", ColumnType::kInteger,
           "Days after the password expired that it is still accepted; NULL when empty"},
          {"expire", ColumnType::kInteger,
           "Day the account expires, in days since 1970-01-01; NULL when empty (never)"},
          {"flag", ColumnType::kInteger, "Reserved field; NULL when empty"},
          {"username", ColumnType::kText, "Login name", kIndex},
          {"hash_scheme", ColumnType::kText,
           "Name of the hashing method: des, bsdicrypt, md5, bcrypt, nt, sha256, sha512, "
           "scrypt, yescrypt, gost-yescrypt, sunmd5, sha1crypt or unknown; NULL when the field "
           "holds no hash"},
      }};
}

constexpr int kFirstNumber = kLastChange;
constexpr int kNumberCount = kFlag - kLastChange + 1;
constexpr const char* kNumberNames[kNumberCount] = {"last_change", "min",    "max", "warning",
                                                    "inactive",    "expire", "flag"};

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsSaltChar(char c) { return IsWordChar(c) ? c != '_' : c == '.' || c == '/'; }

// "$6$salt$hash" -> "6"; nullopt without a $id$ prefix.
std::optional<std::string_view> HashId(std::string_view hash) {
  if (hash.size() < 3 || hash.front() != '$') return std::nullopt;
  size_t end = hash.find('$', 1);
  if (end == std::string_view::npos || end == 1) return std::nullopt;
  std::string_view id = hash.substr(1, end - 1);
  for (char c : id) {
    if (!IsWordChar(c)) return std::nullopt;
  }
  return id;
}

std::optional<std::string_view> HashScheme(std::string_view hash) {
  if (std::optional<std::string_view> id = HashId(hash)) {
    static constexpr std::pair<std::string_view, std::string_view> kSchemes[] = {
        {"1", "md5"},      {"2", "bcrypt"},      {"2a", "bcrypt"},  {"2b", "bcrypt"},
        {"2x", "bcrypt"},  {"2y", "bcrypt"},     {"3", "nt"},       {"5", "sha256"},
        {"6", "sha512"},   {"7", "scrypt"},      {"y", "yescrypt"}, {"gy", "gost-yescrypt"},
        {"md5", "sunmd5"}, {"sha1", "sha1crypt"}};
    for (const auto& [known, name] : kSchemes) {
      if (*id == known) return name;
    }
    return "unknown";
  }
  if (hash.size() == 20 && hash.front() == '_') return "bsdicrypt";
  if (hash.size() == 13) {
    for (char c : hash) {
      if (!IsSaltChar(c)) return "unknown";
    }
    return "des";
  }
  return hash.empty() ? std::nullopt : std::optional<std::string_view>("unknown");
}

void DescribePassword(std::string_view field, Row& row) {
  if (field.empty()) {
    row[kPasswordStatus] = "empty";
    return;
  }
  if (field == "!!") {
    row[kPasswordStatus] = "not_set";
    return;
  }
  const bool locked = field.front() == '!' || field.front() == '*';
  row[kPasswordStatus] = locked ? "locked" : "active";
  // `usermod -L` puts '!' in front of a hash; the hash left behind still tells its method.
  std::string_view hash = field;
  while (!hash.empty() && hash.front() == '!') hash.remove_prefix(1);
  if (hash.empty() || hash.front() == '*') return;
  if (std::optional<std::string_view> id = HashId(hash)) row[kHashAlg] = *id;
  if (std::optional<std::string_view> scheme = HashScheme(hash)) row[kHashScheme] = *scheme;
}

class ShadowTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    // Absent: no rows. Unreadable (not root) or too large: a warning and no rows.
    std::optional<std::string> content = internal::ReadOptionalFile(ctx, "/etc/shadow");
    if (!content) return rows;
    for (const internal::NumberedLine& line : internal::SplitLines(*content)) {
      if (internal::Trim(line.text).empty()) continue;
      const std::string where = "/etc/shadow:" + std::to_string(line.number) + ": ";
      // name:password:lastchg:min:max:warn:inactive:expire:flag, or the old name:password.
      std::vector<std::string_view> f = internal::SplitFields(line.text, ':');
      if ((f.size() != 9 && f.size() != 2) || f[0].empty()) {
        ctx.Warn(where + "malformed line, " + std::to_string(f.size()) +
                 " fields (expected 9 with a name)");
        continue;
      }
      if (!ctx.Matches(kUsername, Value(f[0]))) continue;

      Row row(kColumnCount);
      bool numbers_ok = true;
      for (int i = 0; f.size() == 9 && i < kNumberCount; ++i) {
        std::string_view text = f[2 + i];
        if (text.empty()) continue;  // NULL
        std::optional<int64_t> number = internal::ParseInt(text);
        if (!number) {
          ctx.Warn(where + "field " + kNumberNames[i] + " is not a number");
          numbers_ok = false;
          break;
        }
        row[kFirstNumber + i] = *number;
      }
      if (!numbers_ok) continue;
      row[kUsername] = f[0];
      DescribePassword(f[1], row);
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = ShadowSchema();
};

}  // namespace

std::unique_ptr<Table> MakeShadowTable() { return std::make_unique<ShadowTable>(); }

}  // namespace vigil::tables
