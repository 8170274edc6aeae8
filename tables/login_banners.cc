// login_banners: the notices shown before and after login (IEC 62443-3-3 SR 1.12, system use
// notification): /etc/issue, /etc/issue.net, /etc/motd and the file sshd's Banner names.
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/sshd_config_parser.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum LoginBannersColumn : int {
  kSource,
  kPath,
  kPresent,
  kBytes,
  kHasText,
  kContent,
  kMatch,
  kConfigFile,
  kConfigLine,
  kColumnCount
};

constexpr size_t kMaxBannerBytes = 1u << 20;

Schema LoginBannersSchema() {
  return Schema{
      "login_banners",
      "Login notices: one row each for /etc/issue (console logins), /etc/issue.net (network "
      "logins), /etc/motd (after login) whether or not they exist, and one row per Banner "
      "setting of sshd (the global one, configured or the default 'none', and one per Match "
      "block that sets it) when /etc/ssh/sshd_config exists. A check that sshd shows every "
      "connection a notice: source = 'sshd_banner' AND match = '' AND has_text = 1.",
      {
          {"source", ColumnType::kText, "'issue', 'issue.net', 'motd' or 'sshd_banner'", kIndex},
          {"path", ColumnType::kText,
           "The banner file; for sshd_banner the path Banner names (relative to /), NULL when "
           "Banner is 'none'"},
          {"present", ColumnType::kInteger,
           "1 when path is a regular file (symlinks followed inside the host root), else 0"},
          {"bytes", ColumnType::kInteger, "Size of the file in bytes; NULL when not present"},
          {"has_text", ColumnType::kInteger,
           "1 when the file holds a character other than blanks and line ends, 0 when it is "
           "empty or blank; NULL when not present or unreadable"},
          {"content", ColumnType::kText,
           "The file's text; NULL when not present, unreadable or larger than 1 MiB (with a "
           "warning for the last two)"},
          {"match", ColumnType::kText,
           "For sshd_banner: the Match condition the Banner line is under, '' for the global "
           "setting; NULL for the other sources"},
          {"config_file", ColumnType::kText,
           "For sshd_banner: the file holding the Banner line; NULL for sshd's default and "
           "the other sources"},
          {"config_line", ColumnType::kInteger,
           "For sshd_banner: the line number of the Banner line; NULL otherwise"},
      }};
}

// One banner to describe; `path` is empty when sshd's Banner is 'none'.
struct Banner {
  std::string source;
  std::string path;
  const internal::SshdSetting* setting = nullptr;
};

class LoginBannersTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Banner> banners;
    for (const char* name : {"issue", "issue.net", "motd"}) {
      if (ctx.Matches(kSource, Value(name))) banners.push_back({name, JoinPath("/etc", name)});
    }
    internal::SshdConfig config;
    if (ctx.Matches(kSource, Value("sshd_banner"))) {
      config = internal::LoadSshdConfig(ctx);
      for (const internal::SshdSetting& setting : config.settings) {
        if (setting.keyword != "banner") continue;
        std::string path;
        if (internal::Lower(setting.value) != "none") {
          path = setting.value.starts_with('/') ? setting.value : "/" + setting.value;
        }
        banners.push_back({"sshd_banner", std::move(path), &setting});
      }
    }

    std::vector<Row> rows;
    for (const Banner& banner : banners) {
      Row row(kColumnCount);
      row[kSource] = banner.source;
      row[kPresent] = 0;
      if (!banner.path.empty()) {
        row[kPath] = banner.path;
        Describe(ctx, banner.path, row);
      }
      if (banner.setting != nullptr) {
        row[kMatch] = banner.setting->match;
        if (!banner.setting->is_default) {
          row[kConfigFile] = banner.setting->file;
          row[kConfigLine] = banner.setting->line;
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  static void Describe(const QueryContext& ctx, const std::string& path, Row& row) {
    auto st = ctx.host().Stat(path);
    if (!st.ok()) {
      if (st.status().code() != StatusCode::kNotFound) ctx.Warn(st.status().message());
      return;
    }
    if (!S_ISREG(st->st_mode)) return;
    row[kPresent] = 1;
    row[kBytes] = static_cast<int64_t>(st->st_size);
    if (!ctx.IsUsed(kContent) && !ctx.IsUsed(kHasText)) return;
    std::optional<std::string> content = internal::ReadOptionalFile(ctx, path, kMaxBannerBytes);
    if (!content) return;
    row[kHasText] = content->find_first_not_of(" \t\r\n\f\v") != std::string::npos;
    row[kContent] = std::move(*content);
  }

  const Schema schema_ = LoginBannersSchema();
};

}  // namespace

std::unique_ptr<Table> MakeLoginBannersTable() { return std::make_unique<LoginBannersTable>(); }

}  // namespace vigil::tables
