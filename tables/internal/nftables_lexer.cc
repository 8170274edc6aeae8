#include "tables/internal/nftables_lexer.h"

#include <algorithm>

#include "tables/internal/text.h"

namespace vigil::tables::internal {

std::vector<NftToken> LexNft(const QueryContext& ctx, std::string_view s, const std::string& file) {
  std::vector<NftToken> out;
  int line = 1;
  bool space = false;
  auto push = [&](NftTokenKind kind, size_t start, size_t end) {
    out.push_back(NftToken{kind, s.substr(start, end - start), &file, line, space, std::nullopt});
    space = false;
  };
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      space = true;
      ++i;
    } else if (c == '\\' && (s.substr(i + 1, 1) == "\n" || s.substr(i + 1, 2) == "\r\n")) {
      i += s[i + 1] == '\n' ? 2 : 3;
      ++line;
      space = true;
    } else if (c == '\n') {
      push(NftTokenKind::kNewline, i, i + 1);
      ++line;
      ++i;
      space = true;
    } else if (c == '#') {
      size_t end = std::min(s.find('\n', i), s.size());
      std::string_view comment = Trim(s.substr(i + 1, end - i - 1));
      if (comment.starts_with("handle ") && !out.empty() &&
          out.back().kind != NftTokenKind::kNewline) {
        out.back().handle = ParseInt(Trim(comment.substr(7)));
      }
      i = end;
      space = true;
    } else if (c == '"') {
      size_t end = i + 1;
      while (end < s.size() && s[end] != '"' && s[end] != '\n') end += s[end] == '\\' ? 2 : 1;
      if (end >= s.size() || s[end] != '"') {
        ctx.Warn(file + ":" + std::to_string(line) + ": unterminated string");
        end = std::min(end, s.size());
        push(NftTokenKind::kString, i, end);
        i = end;
      } else {
        push(NftTokenKind::kString, i, end + 1);
        i = end + 1;
      }
    } else if (c == '{' || c == '}' || c == ';') {
      push(c == '{'   ? NftTokenKind::kOpen
           : c == '}' ? NftTokenKind::kClose
                      : NftTokenKind::kSemicolon,
           i, i + 1);
      ++i;
    } else {
      size_t end = s.find_first_of(" \t\r\n{};\"#", i);
      end = end == std::string_view::npos ? s.size() : end;
      push(NftTokenKind::kWord, i, end);
      i = end;
    }
  }
  return out;
}

}  // namespace vigil::tables::internal
