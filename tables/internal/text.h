// Small text helpers every collector needs: lines with their numbers, fields, trimming,
// numbers, and reading an optional configuration file with the right warning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

struct NumberedLine {
  int number = 0;  // from 1
  std::string_view text;
};

// The lines of `content` (without '\n' or a trailing '\r'), numbered from 1. Views into it.
std::vector<NumberedLine> SplitLines(std::string_view content);

// The logical lines of a configuration file: '#' comments (from a '#' at the start of a line or
// after whitespace) removed, blank lines dropped, text trimmed, and a line ending in '\' joined
// with the next (numbered by its first physical line).
struct ConfigLine {
  int number = 0;
  std::string text;
};
std::vector<ConfigLine> ConfigLines(std::string_view content, std::string_view comment_chars = "#");

// "a:b::c" on ':' -> {"a", "b", "", "c"}.
std::vector<std::string_view> SplitFields(std::string_view text, char separator);
// Words separated by runs of spaces and tabs, none empty.
std::vector<std::string_view> SplitWhitespace(std::string_view text);
// Splits at the first run of whitespace or at `separator` (surrounded by optional spaces):
// "Key value" / "key = value" -> {"Key", "value"}. Value may be empty.
std::pair<std::string_view, std::string_view> SplitKeyValue(std::string_view text,
                                                            char separator = '\0');

std::string_view Trim(std::string_view text);
std::string Lower(std::string_view text);
// Removes one pair of matching surrounding quotes ('...' or "...").
std::string_view Unquote(std::string_view text);
bool StartsWith(std::string_view text, std::string_view prefix);

// Whole-string decimal numbers; nullopt on anything else.
std::optional<int64_t> ParseInt(std::string_view text);
std::optional<uint64_t> ParseUint(std::string_view text, int base = 10);

// Reads a file that a host may or may not have: nullopt without a warning when it is absent,
// nullopt with a warning ("/etc/x: permission denied") when it exists but cannot be read or is
// larger than max_bytes.
std::optional<std::string> ReadOptionalFile(const QueryContext& ctx, std::string_view path,
                                            size_t max_bytes = 16u << 20);

}  // namespace vigil::tables::internal
