// Tokens of nft's text syntax, for the nftables ruleset reader (nftables_ruleset.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

enum class NftTokenKind { kWord, kString, kOpen, kClose, kSemicolon, kNewline, kEnd };

struct NftToken {
  NftTokenKind kind = NftTokenKind::kEnd;
  std::string_view text;  // a view into the text passed to LexNft
  const std::string* file = nullptr;
  int line = 0;
  bool space_before = false;      // blanks, a comment or a line break precede it
  std::optional<int64_t> handle;  // from a "# handle N" comment after the token
};

// The tokens of `text`: words, "strings" (quotes kept), '{', '}', ';' and line breaks.
// '#' comments are dropped, a '\' before a line break joins the lines. An unterminated
// string is reported to ctx as "FILE:LINE: unterminated string". Tokens point into `text`
// and `file`, which must outlive them.
std::vector<NftToken> LexNft(const QueryContext& ctx, std::string_view text,
                             const std::string& file);

}  // namespace vigil::tables::internal
