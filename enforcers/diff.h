// Unified diffs of a file's old and new content, as `diff -u` prints them, for plans shown to
// people (`vigil check --dry-run`), remediation records and the audit chain.
#pragma once

#include <string>
#include <string_view>

namespace vigil::enforcers {

// The unified diff from `before` to `after`, labelled "--- a/PATH" / "+++ b/PATH" with
// `context` unchanged lines around each change. Empty when the two are equal. A file that does
// not end in a newline gets diff's "\ No newline at end of file" marker. Files whose changed
// middle is very large are shown as one hunk replacing it whole, rather than spending
// quadratic time on the alignment.
std::string UnifiedDiff(std::string_view path, std::string_view before, std::string_view after,
                        int context = 3);

}  // namespace vigil::enforcers
