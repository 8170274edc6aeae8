#include "tables/internal/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "engine/host.h"

namespace vigil::tables::internal {

std::vector<NumberedLine> SplitLines(std::string_view content) {
  std::vector<NumberedLine> lines;
  int number = 0;
  while (!content.empty()) {
    size_t eol = content.find('\n');
    std::string_view line = content.substr(0, eol);
    content = eol == std::string_view::npos ? std::string_view() : content.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({++number, line});
  }
  return lines;
}

std::vector<ConfigLine> ConfigLines(std::string_view content, std::string_view comment_chars) {
  std::vector<ConfigLine> out;
  std::string pending;
  int pending_number = 0;
  for (const NumberedLine& line : SplitLines(content)) {
    std::string_view text = line.text;
    // A comment starts at a comment character at the start or after whitespace.
    for (size_t i = 0; i < text.size(); ++i) {
      if (comment_chars.find(text[i]) != std::string_view::npos &&
          (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) {
        text = text.substr(0, i);
        break;
      }
    }
    text = Trim(text);
    bool continued = !text.empty() && text.back() == '\\';
    if (continued) text = Trim(text.substr(0, text.size() - 1));
    if (pending.empty()) pending_number = line.number;
    if (!text.empty()) {
      if (!pending.empty()) pending += ' ';
      pending.append(text);
    }
    if (continued) continue;
    if (!pending.empty()) out.push_back({pending_number, std::move(pending)});
    pending.clear();
  }
  if (!pending.empty()) out.push_back({pending_number, std::move(pending)});
  return out;
}

std::vector<std::string_view> SplitFields(std::string_view text, char separator) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    fields.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

std::vector<std::string_view> SplitWhitespace(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

std::pair<std::string_view, std::string_view> SplitKeyValue(std::string_view text,
                                                            char separator) {
  text = Trim(text);
  size_t at = separator != '\0' ? text.find(separator) : std::string_view::npos;
  if (at == std::string_view::npos) {
    at = text.find_first_of(" \t");
    if (at == std::string_view::npos) return {text, {}};
    return {text.substr(0, at), Trim(text.substr(at + 1))};
  }
  return {Trim(text.substr(0, at)), Trim(text.substr(at + 1))};
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Unquote(std::string_view text) {
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front()) {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseUint(std::string_view text, int base) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> ReadOptionalFile(const QueryContext& ctx, std::string_view path,
                                            size_t max_bytes) {
  Result<std::string> content = ctx.host().ReadFile(path, max_bytes);
  if (content.ok()) return std::move(content).value();
  if (content.status().code() != StatusCode::kNotFound) ctx.Warn(content.status().message());
  return std::nullopt;
}

}  // namespace vigil::tables::internal
