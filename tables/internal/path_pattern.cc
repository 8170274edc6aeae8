#include "tables/internal/path_pattern.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include "engine/host.h"
#include "engine/value.h"

namespace vigil::tables::internal {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The length of the UTF-8 character starting at s[i] (1 for a stray continuation byte), so
// that `_` matches one character as SQL's LIKE does, not one byte.
size_t Utf8Length(std::string_view s, size_t i) {
  size_t n = 1;
  while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
  return n;
}

// LIKE over one component: '%' matches any run, '_' one character, ASCII case is ignored.
// Backtracks to the last '%' only, which is enough for a pattern without other repetition.
bool LikeMatch(std::string_view p, std::string_view s) {
  size_t pi = 0;
  size_t si = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '%') {
      star = pi++;
      resume = si;
    } else if (pi < p.size() && p[pi] == '_') {
      ++pi;
      si += Utf8Length(s, si);
    } else if (pi < p.size() && AsciiLower(p[pi]) == AsciiLower(s[si])) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      resume += Utf8Length(s, resume);
      si = resume;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

bool HasWildcards(std::string_view component, PatternSyntax syntax) {
  return component.find_first_of(syntax == PatternSyntax::kLike ? "%_" : "*?[") !=
         std::string_view::npos;
}

std::string_view RecursiveMarker(PatternSyntax syntax) {
  return syntax == PatternSyntax::kLike ? "%%" : "**";
}

std::vector<std::string> SplitComponents(std::string_view relative) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = relative.find('/', start);
    out.emplace_back(relative.substr(start, slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

// Walks the host for one scan, counting every path it produces against one budget.
class Walker {
 public:
  Walker(const QueryContext& ctx, size_t max_paths)
      : ctx_(ctx), host_(ctx.host()), max_paths_(max_paths) {}

  // Appends the host paths `pattern` names to `out`. `what` ("path LIKE '/etc/%'") names the
  // constraint in errors.
  Status Expand(std::string_view pattern, PatternSyntax syntax, bool directories_only,
                const std::string& what, std::vector<std::string>& out);

  // Counts `n` produced paths against the budget.
  Status Count(const std::string& what, size_t n = 1) {
    produced_ += n;
    if (produced_ <= max_paths_) return Status::Ok();
    return Status::ResourceExhausted(what + " expands to more than " +
                                     std::to_string(max_paths_) +
                                     " paths, the limit for one scan; narrow the pattern");
  }

  const Host& host() const { return host_; }

 private:
  // Appends every entry below `dir`, depth first, without entering symlinked directories.
  Status Descend(const std::string& dir, const std::string& what,
                 std::vector<std::string>& out);
  // Whether the entry is a directory itself (a symlink to one is not).
  bool IsRealDirectory(const std::string& path, FileType type) const;

  const QueryContext& ctx_;
  const Host& host_;
  const size_t max_paths_;
  size_t produced_ = 0;
};

bool Walker::IsRealDirectory(const std::string& path, FileType type) const {
  if (type != FileType::kUnknown) return type == FileType::kDirectory;
  auto st = host_.Lstat(path);
  return st.ok() && S_ISDIR(st->st_mode);
}

Status Walker::Descend(const std::string& dir, const std::string& what,
                       std::vector<std::string>& out) {
  VIGIL_RETURN_IF_ERROR(ctx_.CheckDeadline());
  auto entries = host_.ListDirectory(dir);
  if (!entries.ok()) return Status::Ok();  // unreadable or vanished: nothing below it
  for (const DirEntry& entry : *entries) {
    std::string path = JoinPath(dir, entry.name);
    VIGIL_RETURN_IF_ERROR(Count(what));
    out.push_back(path);
    if (IsRealDirectory(path, entry.type)) VIGIL_RETURN_IF_ERROR(Descend(path, what, out));
  }
  return Status::Ok();
}

Status Walker::Expand(std::string_view pattern, PatternSyntax syntax, bool directories_only,
                      const std::string& what, std::vector<std::string>& out) {
  if (pattern.empty() || pattern.front() != '/') return Status::Ok();  // relative: nothing
  std::vector<std::string> components = SplitComponents(pattern.substr(1));
  const std::string_view marker = RecursiveMarker(syntax);
  std::string& last = components.back();
  const bool recursive = last.ends_with(marker);
  while (last.ends_with(marker)) last.pop_back();
  for (const std::string& component : components) {
    if (component.find(marker) != std::string::npos) {
      return Status::InvalidArgument(what + ": the recursive wildcard '" + std::string(marker) +
                                     "' is only allowed at the end of the pattern");
    }
  }

  bool any_wildcard = false;
  std::vector<std::string> level = {""};  // "" stands for the root directory
  for (size_t i = 0; i < components.size(); ++i) {
    const std::string& component = components[i];
    const bool at_end = i + 1 == components.size();
    std::vector<std::string> next;
    if (!HasWildcards(component, syntax)) {
      for (const std::string& prefix : level) next.push_back(prefix + "/" + component);
      level = std::move(next);
      continue;
    }
    any_wildcard = true;
    for (const std::string& prefix : level) {
      VIGIL_RETURN_IF_ERROR(ctx_.CheckDeadline());
      const std::string dir = prefix.empty() ? "/" : prefix;
      auto entries = host_.ListDirectory(dir);
      if (!entries.ok()) continue;  // missing, not a directory or unreadable: no match
      for (const DirEntry& entry : *entries) {
        if (!MatchComponent(component, entry.name, syntax)) continue;
        std::string path = prefix + "/" + entry.name;
        VIGIL_RETURN_IF_ERROR(Count(what));
        next.push_back(path);
        if (at_end && recursive && IsRealDirectory(path, entry.type)) {
          VIGIL_RETURN_IF_ERROR(Descend(path, what, next));
        }
      }
    }
    level = std::move(next);
  }
  if (!any_wildcard) VIGIL_RETURN_IF_ERROR(Count(what));  // names exactly one path
  for (std::string& path : level) {
    if (directories_only) {
      auto st = host_.Stat(path);
      if (!st.ok() || !S_ISDIR(st->st_mode)) continue;
    }
    out.push_back(std::move(path));
  }
  return Status::Ok();
}

// The paths one column's constraints name, or nullopt when none of them can be expanded (the
// column is unconstrained, compared with < and >, or matched with relative patterns only).
// Equality wins over patterns; several patterns are intersected.
Result<std::optional<std::vector<std::string>>> ColumnPaths(const QueryContext& ctx, int column,
                                                            bool directories_only,
                                                            Walker& walker) {
  const std::string& name = ctx.schema().columns[column].name;
  if (auto equals = ctx.EqualsText(name)) {
    VIGIL_RETURN_IF_ERROR(walker.Count(name + " IN (...)", equals->size()));
    return equals;
  }
  std::optional<std::vector<std::string>> result;
  for (const Constraint& constraint : ctx.constraints(column)) {
    if (constraint.op != ConstraintOp::kLike && constraint.op != ConstraintOp::kGlob) continue;
    const PatternSyntax syntax =
        constraint.op == ConstraintOp::kLike ? PatternSyntax::kLike : PatternSyntax::kGlob;
    const Value& value = constraint.values.front();
    std::vector<std::string> paths;  // stays empty for NULL, which matches nothing
    if (!value.is_null()) {
      const std::string pattern = value.ToString();
      // A relative pattern ('%.conf') cannot be walked; SQLite applies it to what the others
      // produce.
      if (pattern.empty() || pattern.front() != '/') continue;
      const std::string what =
          name + " " + std::string(ConstraintOpName(constraint.op)) + " '" + pattern + "'";
      VIGIL_RETURN_IF_ERROR(walker.Expand(pattern, syntax, directories_only, what, paths));
    }
    if (!result) {
      result = std::move(paths);
      continue;
    }
    const std::unordered_set<std::string> keep(paths.begin(), paths.end());
    std::erase_if(*result, [&](const std::string& p) { return !keep.contains(p); });
  }
  return result;
}

}  // namespace

bool MatchComponent(std::string_view pattern, std::string_view name, PatternSyntax syntax) {
  if (syntax == PatternSyntax::kLike) return LikeMatch(pattern, name);
  // Components hold no '/', so fnmatch needs no FNM_PATHNAME; SQL's GLOB has no escapes and
  // lets '*' match a leading dot.
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), FNM_NOESCAPE) == 0;
}

Result<std::vector<PathCandidate>> ExpandPathConstraints(const QueryContext& ctx,
                                                         int path_column, int directory_column,
                                                         size_t max_paths) {
  Walker walker(ctx, max_paths);
  std::vector<PathCandidate> out;
  std::set<std::pair<std::string, std::string>> seen;
  // Keeps only what SQLite's own check of every constraint would keep, so rows found through
  // one column are not duplicated or contradicted by the other.
  auto add = [&](std::string path, std::string directory) {
    if (!ctx.Matches(path_column, Value(path)) ||
        !ctx.Matches(directory_column, Value(directory))) {
      return;
    }
    if (!seen.emplace(path, directory).second) return;
    out.push_back(PathCandidate{std::move(path), std::move(directory)});
  };

  VIGIL_ASSIGN_OR_RETURN(auto paths, ColumnPaths(ctx, path_column, false, walker));
  if (paths) {
    for (std::string& path : *paths) {
      if (path.empty() || path.front() != '/') continue;
      std::string parent = ParentPath(path);
      add(std::move(path), std::move(parent));
    }
  }

  VIGIL_ASSIGN_OR_RETURN(auto directories, ColumnPaths(ctx, directory_column, true, walker));
  if (directories) {
    const std::string what = ctx.schema().columns[directory_column].name + " listing";
    for (const std::string& directory : *directories) {
      if (directory.empty() || directory.front() != '/') continue;
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      auto entries = walker.host().ListDirectory(directory);
      if (!entries.ok()) continue;  // missing or not a directory: no rows
      VIGIL_RETURN_IF_ERROR(walker.Count(what + " of '" + directory + "'", entries->size()));
      for (const DirEntry& entry : *entries) add(JoinPath(directory, entry.name), directory);
    }
  }
  return out;
}

}  // namespace vigil::tables::internal
