// Turns the constraints a statement puts on a `path` / `directory` column pair (the `file` and
// `hash` tables) into the concrete host paths to look at, reading only through the Host.
//
// Semantics, as osquery users know them:
//   path = X, path IN (...)   those paths, exactly as written.
//   path LIKE P               `%` matches any characters within one path component, `_` one
//                             character; a pattern ending in `%%` also takes every entry at
//                             every level below what the last component matched. Wildcard
//                             components ignore ASCII case, as SQL's LIKE does; components
//                             without wildcards are looked up as written.
//   path GLOB P               `*`, `?` and `[...]` within one component, case-sensitive; a
//                             pattern ending in `**` recurses like `%%`.
//   directory = D (IN, LIKE, GLOB)
//                             every entry directly inside each directory D names (not
//                             recursive). A LIKE/GLOB on directory expands to directories only,
//                             so `directory LIKE '/etc/%%'` lists every directory below /etc.
// `%%` / `**` anywhere but the end of a pattern is an InvalidArgument error. Relative paths
// yield nothing; a relative pattern ('%.conf') is not walked but still filters what the other
// constraints produce. Paths that do not exist are left for the table to drop. Recursion does
// not descend into symlinked directories, so a link loop cannot trap it. Several constraints on
// one column are intersected; constraints on both columns are united (a row is kept when
// SQLite's own check of every constraint would keep it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"
#include "engine/status.h"

namespace vigil::tables::internal {

// How many paths one scan may expand to before it fails with ResourceExhausted. Every path a
// wildcard matches counts, at any level of the walk.
inline constexpr size_t kDefaultMaxExpandedPaths = 100'000;

enum class PatternSyntax { kLike, kGlob };

// Whether `name` (one path component) matches `pattern` (one component, no '/'): LIKE ignores
// ASCII case, GLOB does not.
bool MatchComponent(std::string_view pattern, std::string_view name, PatternSyntax syntax);

// One row to produce: the host path to stat and the `directory` column that goes with it
// (the constrained directory as written, or the parent of a constrained path).
struct PathCandidate {
  std::string path;
  std::string directory;

  friend bool operator==(const PathCandidate&, const PathCandidate&) = default;
};

// The candidates `ctx` asks for, given the positions of the path and directory columns in its
// schema. Unique, in walk order (directories listed in name order, depth first). Calls
// ctx.CheckDeadline() while walking. Errors: ResourceExhausted past `max_paths`,
// InvalidArgument for a misplaced recursive wildcard, DeadlineExceeded.
Result<std::vector<PathCandidate>> ExpandPathConstraints(
    const QueryContext& ctx, int path_column, int directory_column,
    size_t max_paths = kDefaultMaxExpandedPaths);

}  // namespace vigil::tables::internal
