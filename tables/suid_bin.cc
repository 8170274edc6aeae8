// suid_bin: regular files with the setuid or setgid bit in the directories that hold programs,
// searched recursively.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum SuidBinColumn : int {
  kPath,
  kUsername,
  kGroupname,
  kPermissions,
  kUid,
  kGid,
  kMode,
  kColumnCount
};

// osquery's list (/tmp included: a setuid file there is a classic foothold) plus the
// directories where Debian keeps setuid helpers (ssh-keysign, dbus-daemon-launch-helper).
constexpr std::string_view kSearchDirs[] = {
    "/bin",     "/sbin",        "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin",
    "/usr/lib", "/usr/libexec", "/tmp",
};
constexpr int kMaxDepth = 64;

Schema SuidBinSchema() {
  return Schema{
      "suid_bin",
      "Regular files with the setuid or setgid bit, found by walking /bin, /sbin, /usr/bin, "
      "/usr/sbin, /usr/local/bin, /usr/local/sbin, /usr/lib, /usr/libexec and /tmp "
      "recursively. Symlinks are not followed, neither to files nor to directories; a search "
      "directory that is itself a symlink (/bin -> usr/bin on merged-/usr systems) is walked "
      "once, under its target's name. A constraint on path limits the walk to the "
      "directories that can hold matching paths.",
      {
          {"path", ColumnType::kText, "Path of the file, through no symlink", kIndex},
          {"username", ColumnType::kText,
           "Owner's name from the host's /etc/passwd; the uid in decimal when it has none"},
          {"groupname", ColumnType::kText,
           "Group's name from the host's /etc/group; the gid in decimal when it has none"},
          {"permissions", ColumnType::kText, "S for setuid, G for setgid, SG for both"},
          {"uid", ColumnType::kInteger, "Owner's user id"},
          {"gid", ColumnType::kInteger, "Group id"},
          {"mode", ColumnType::kText, "Permission bits in octal (\"4755\")"},
      }};
}

// Names by id from a passwd or group file ("name:x:id:...").
std::map<int64_t, std::string> NamesById(const QueryContext& ctx, std::string_view path) {
  std::map<int64_t, std::string> names;
  std::optional<std::string> text = internal::ReadOptionalFile(ctx, path);
  if (!text) return names;
  for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
    std::vector<std::string_view> f = internal::SplitFields(line.text, ':');
    if (f.size() < 3 || f[0].empty()) continue;
    if (std::optional<int64_t> id = internal::ParseInt(f[2])) names.try_emplace(*id, f[0]);
  }
  return names;
}

// The literal start of the paths one path constraint admits: the values of '=' / IN, the text
// before the first wildcard of LIKE (lowercase, as LIKE ignores ASCII case) or GLOB.
struct PathFilter {
  std::vector<std::string> prefixes;
  bool ignore_case = false;
};

std::vector<PathFilter> PathFilters(const QueryContext& ctx) {
  std::vector<PathFilter> filters;
  for (const Constraint& c : ctx.constraints(kPath)) {
    PathFilter filter;
    for (const Value& v : c.values) {
      if (!v.is_text()) continue;
      const std::string& text = v.text();
      if (c.op == ConstraintOp::kEq) {
        filter.prefixes.push_back(text);
      } else if (c.op == ConstraintOp::kLike) {
        filter.prefixes.push_back(internal::Lower(text.substr(0, text.find_first_of("%_"))));
        filter.ignore_case = true;
      } else if (c.op == ConstraintOp::kGlob) {
        filter.prefixes.push_back(text.substr(0, text.find_first_of("*?[")));
      }
    }
    if (c.op == ConstraintOp::kEq || c.op == ConstraintOp::kLike || c.op == ConstraintOp::kGlob) {
      filters.push_back(std::move(filter));
    }
  }
  return filters;
}

// Whether a directory can hold a path every filter admits.
bool MayHold(const std::vector<PathFilter>& filters, const std::string& dir) {
  for (const PathFilter& filter : filters) {
    std::string d = (filter.ignore_case ? internal::Lower(dir) : dir) + "/";
    bool any =
        std::any_of(filter.prefixes.begin(), filter.prefixes.end(),
                    [&d](const std::string& p) { return p.starts_with(d) || d.starts_with(p); });
    if (!any) return false;
  }
  return true;
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

class SuidBinScan {
 public:
  explicit SuidBinScan(const QueryContext& ctx) : ctx_(ctx), filters_(PathFilters(ctx)) {
    if (ctx.IsUsed(kUsername)) users_ = NamesById(ctx, "/etc/passwd");
    if (ctx.IsUsed(kGroupname)) groups_ = NamesById(ctx, "/etc/group");
  }

  Status Walk(const std::string& dir, int depth) {
    if (depth > kMaxDepth || !MayHold(filters_, dir)) return Status::Ok();
    Result<std::vector<DirEntry>> entries = ctx_.host().ListDirectory(dir);
    if (!entries.ok()) {  // vanished while walking (a busy /tmp) is no news
      if (entries.status().code() != StatusCode::kNotFound) ctx_.Warn(entries.status().message());
      return Status::Ok();
    }
    for (const DirEntry& entry : *entries) {
      VIGIL_RETURN_IF_ERROR(ctx_.CheckDeadline());
      std::string path = JoinPath(dir, entry.name);
      if (entry.type == FileType::kDirectory) {
        VIGIL_RETURN_IF_ERROR(Walk(path, depth + 1));
      } else if (entry.type == FileType::kRegular || entry.type == FileType::kUnknown) {
        Consider(std::move(path));
      }
    }
    return Status::Ok();
  }

  std::vector<Row> TakeRows() { return std::move(rows_); }

 private:
  void Consider(std::string path) {
    if (!ctx_.Matches(kPath, Value(path))) return;
    Result<struct stat> st = ctx_.host().Lstat(path);
    if (!st.ok()) {
      if (st.status().code() != StatusCode::kNotFound) ctx_.Warn(st.status().message());
      return;
    }
    if (!S_ISREG(st->st_mode) || (st->st_mode & (S_ISUID | S_ISGID)) == 0) return;
    Row row(kColumnCount);
    row[kPath] = std::move(path);
    if (ctx_.IsUsed(kUsername)) row[kUsername] = Name(users_, st->st_uid);
    if (ctx_.IsUsed(kGroupname)) row[kGroupname] = Name(groups_, st->st_gid);
    std::string permissions;
    if (st->st_mode & S_ISUID) permissions += 'S';
    if (st->st_mode & S_ISGID) permissions += 'G';
    row[kPermissions] = std::move(permissions);
    row[kUid] = static_cast<int64_t>(st->st_uid);
    row[kGid] = static_cast<int64_t>(st->st_gid);
    row[kMode] = ModeText(st->st_mode);
    rows_.push_back(std::move(row));
  }

  static std::string Name(const std::map<int64_t, std::string>& names, int64_t id) {
    auto it = names.find(id);
    return it != names.end() ? it->second : std::to_string(id);
  }

  const QueryContext& ctx_;
  const std::vector<PathFilter> filters_;
  std::map<int64_t, std::string> users_;
  std::map<int64_t, std::string> groups_;
  std::vector<Row> rows_;
};

class SuidBinTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    // Each search directory under its real name, once; one inside another is walked with it.
    std::vector<std::string> roots;
    for (std::string_view dir : kSearchDirs) {
      Result<std::string> real = ctx.host().Canonical(dir);
      if (!real.ok() || !ctx.host().IsDirectory(*real)) continue;
      roots.push_back(std::move(*real));
    }
    std::sort(roots.begin(), roots.end());
    roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
    SuidBinScan scan(ctx);
    for (size_t i = 0; i < roots.size(); ++i) {
      bool nested = std::any_of(roots.begin(), roots.begin() + i, [&](const std::string& outer) {
        return outer == "/" || roots[i].starts_with(outer + "/");
      });
      if (!nested) VIGIL_RETURN_IF_ERROR(scan.Walk(roots[i], 0));
    }
    return scan.TakeRows();
  }

 private:
  const Schema schema_ = SuidBinSchema();
};

}  // namespace

std::unique_ptr<Table> MakeSuidBinTable() { return std::make_unique<SuidBinTable>(); }

}  // namespace vigil::tables
