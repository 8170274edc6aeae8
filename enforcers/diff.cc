#include "enforcers/diff.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace vigil::enforcers {
namespace {

// Lines keep their newline, so a missing final newline is a difference like any other.
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size() - 1;
    lines.push_back(text.substr(start, end - start + 1));
    start = end + 1;
  }
  return lines;
}

enum class Op : char { kKeep = ' ', kRemove = '-', kAdd = '+' };

struct Edit {
  Op op;
  size_t a;  // index into before (kKeep, kRemove)
  size_t b;  // index into after (kKeep, kAdd)
};

// Beyond this many cells the middle is replaced whole instead of aligned line by line.
constexpr size_t kMaxAlignCells = 4'000'000;

// The edit script: common prefix and suffix kept, the middle aligned by longest common
// subsequence.
std::vector<Edit> EditScript(const std::vector<std::string_view>& a,
                             const std::vector<std::string_view>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  const size_t n = a.size() - prefix - suffix;
  const size_t m = b.size() - prefix - suffix;

  std::vector<Edit> script;
  for (size_t i = 0; i < prefix; ++i) script.push_back({Op::kKeep, i, i});
  if ((n + 1) * (m + 1) > kMaxAlignCells) {
    for (size_t i = 0; i < n; ++i) script.push_back({Op::kRemove, prefix + i, 0});
    for (size_t j = 0; j < m; ++j) script.push_back({Op::kAdd, 0, prefix + j});
  } else {
    // lcs[i][j]: the longest common subsequence of a's middle from i and b's middle from j.
    std::vector<unsigned> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> unsigned& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;) {
      for (size_t j = m; j-- > 0;) {
        at(i, j) = a[prefix + i] == b[prefix + j] ? at(i + 1, j + 1) + 1
                                                  : std::max(at(i + 1, j), at(i, j + 1));
      }
    }
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        script.push_back({Op::kKeep, prefix + i++, prefix + j++});
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        script.push_back({Op::kRemove, prefix + i++, 0});
      } else {
        script.push_back({Op::kAdd, 0, prefix + j++});
      }
    }
  }
  for (size_t k = 0; k < suffix; ++k) {
    script.push_back({Op::kKeep, a.size() - suffix + k, b.size() - suffix + k});
  }
  return script;
}

// "@@ -3,4 +3,5 @@"; an empty side is "-2,0" (the line before it), as diff prints it.
std::string Range(size_t first, size_t count) {
  if (count == 1) return std::to_string(first + 1);
  return std::to_string(count == 0 ? first : first + 1) + "," + std::to_string(count);
}

void AppendLine(std::string& out, Op op, std::string_view line) {
  out += static_cast<char>(op);
  out += line;
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace

std::string UnifiedDiff(std::string_view path, std::string_view before, std::string_view after,
                        int context) {
  if (before == after) return "";
  const std::vector<std::string_view> a = SplitLines(before);
  const std::vector<std::string_view> b = SplitLines(after);
  const std::vector<Edit> script = EditScript(a, b);
  const size_t ctx = static_cast<size_t>(std::max(context, 0));

  std::string label(path);
  if (!label.empty() && label.front() == '/') label.erase(0, 1);
  std::string out = "--- a/" + label + "\n+++ b/" + label + "\n";

  size_t k = 0;
  while (k < script.size()) {
    // The next change, and the hunk around it: changes closer than 2*ctx share a hunk.
    while (k < script.size() && script[k].op == Op::kKeep) ++k;
    if (k == script.size()) break;
    size_t start = k >= ctx ? k - ctx : 0;
    size_t end = k;
    size_t keeps = 0;
    for (size_t x = k; x < script.size(); ++x) {
      if (script[x].op == Op::kKeep) {
        if (++keeps > 2 * ctx) break;
      } else {
        keeps = 0;
        end = x;
      }
    }
    end = std::min(script.size(), end + 1 + ctx);

    size_t a_first = 0, a_count = 0, b_first = 0, b_count = 0;
    bool a_set = false, b_set = false;
    // Where each side's range starts: the first line of that side in the hunk, or, for an
    // empty side, the position just before the hunk.
    size_t a_pos = 0, b_pos = 0;
    for (size_t x = 0; x < start; ++x) {
      if (script[x].op != Op::kAdd) a_pos = script[x].a + 1;
      if (script[x].op != Op::kRemove) b_pos = script[x].b + 1;
    }
    std::string body;
    for (size_t x = start; x < end; ++x) {
      const Edit& e = script[x];
      if (e.op != Op::kAdd) {
        if (!a_set) a_first = e.a, a_set = true;
        ++a_count;
      }
      if (e.op != Op::kRemove) {
        if (!b_set) b_first = e.b, b_set = true;
        ++b_count;
      }
      AppendLine(body, e.op, e.op == Op::kAdd ? b[e.b] : a[e.a]);
    }
    if (!a_set) a_first = a_pos;
    if (!b_set) b_first = b_pos;
    out += "@@ -" + Range(a_first, a_count) + " +" + Range(b_first, b_count) + " @@\n" + body;
    k = end;
  }
  return out;
}

}  // namespace vigil::enforcers
