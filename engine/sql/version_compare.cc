#include "engine/sql/version_compare.h"

#include <algorithm>
#include <cstddef>

namespace vigil {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The weight of one character of a non-digit run; 0 stands for the end of the run. `~` is
// lighter than the end, letters are lighter than every other character, and the rest keep
// their byte order after the letters.
int Weight(char c) {
  if (c == '~') return -1;
  if (IsLetter(c)) return static_cast<unsigned char>(c);
  return static_cast<unsigned char>(c) + 256;
}

int Sign(int value) { return (value > 0) - (value < 0); }

// Compares two runs of decimal digits as numbers of any length: leading zeros do not count, a
// longer run is larger, runs of equal length compare digit by digit. Empty runs are zero.
int CompareDigitRuns(std::string_view a, std::string_view b) {
  a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
  b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return Sign(a.compare(b));
}

// The length of the run at the front of `s` whose characters all satisfy (or all fail) IsDigit.
size_t RunLength(std::string_view s, bool digits) {
  size_t n = 0;
  while (n < s.size() && IsDigit(s[n]) == digits) ++n;
  return n;
}

// Compares an upstream version or a revision: alternating non-digit and digit runs, the first
// compared character by character with Weight(), the second as numbers.
int CompareFragments(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    const size_t a_text = RunLength(a, false);
    const size_t b_text = RunLength(b, false);
    for (size_t i = 0; i < a_text || i < b_text; ++i) {
      const int wa = i < a_text ? Weight(a[i]) : 0;
      const int wb = i < b_text ? Weight(b[i]) : 0;
      if (wa != wb) return wa < wb ? -1 : 1;
    }
    a.remove_prefix(a_text);
    b.remove_prefix(b_text);

    const size_t a_digits = RunLength(a, true);
    const size_t b_digits = RunLength(b, true);
    if (int order = CompareDigitRuns(a.substr(0, a_digits), b.substr(0, b_digits)); order != 0) {
      return order;
    }
    a.remove_prefix(a_digits);
    b.remove_prefix(b_digits);
  }
  return 0;
}

struct DebianVersion {
  std::string_view epoch;  // digits; empty means 0
  std::string_view upstream;
  std::string_view revision;  // empty when the version has no hyphen
};

// Splits [epoch:]upstream[-revision]. The epoch is what precedes the first colon when that is
// all digits; otherwise the colon belongs to the upstream version. The revision follows the
// last hyphen, so an upstream version may itself contain hyphens.
DebianVersion Parse(std::string_view version) {
  DebianVersion parts;
  if (size_t colon = version.find(':');
      colon != std::string_view::npos && colon > 0 && RunLength(version, true) == colon) {
    parts.epoch = version.substr(0, colon);
    version.remove_prefix(colon + 1);
  }
  if (size_t hyphen = version.rfind('-'); hyphen != std::string_view::npos) {
    parts.revision = version.substr(hyphen + 1);
    version = version.substr(0, hyphen);
  }
  parts.upstream = version;
  return parts;
}

}  // namespace

int CompareDebianVersions(std::string_view a, std::string_view b) {
  const DebianVersion va = Parse(a);
  const DebianVersion vb = Parse(b);
  if (int order = CompareDigitRuns(va.epoch, vb.epoch); order != 0) return order;
  if (int order = CompareFragments(va.upstream, vb.upstream); order != 0) return order;
  return CompareFragments(va.revision, vb.revision);
}

}  // namespace vigil
