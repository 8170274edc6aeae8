// Reads nft's text syntax into an NftRuleset (nftables_ruleset.h): included files are
// spliced into one token stream, then the statements are applied in order.
#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "engine/host.h"
#include "tables/internal/nftables_lexer.h"
#include "tables/internal/nftables_ruleset.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

constexpr int kMaxIncludeDepth = 16;  // nft's own limit
constexpr size_t kMaxFileBytes = 16u << 20;

bool IsFamily(std::string_view word) {
  return word == "ip" || word == "ip6" || word == "inet" || word == "arp" || word == "bridge" ||
         word == "netdev";
}

using Token = NftToken;
using TokenKind = NftTokenKind;

// One reading of a file (with its includes) or of a listing. Not shared between threads.
class Reader {
 public:
  Reader(const QueryContext& ctx, bool listing) : ctx_(ctx), listing_(listing) {}

  void LexFile(const std::string& path, int depth, std::vector<std::string>& chain) {
    std::optional<std::string> content = ReadOptionalFile(ctx_, path, kMaxFileBytes);
    if (!content) return;
    const std::string& text = storage_.emplace_back(std::move(*content));
    const std::string& name = storage_.emplace_back(path);
    chain.push_back(path);
    Splice(LexNft(ctx_, text, name), depth, chain);
    chain.pop_back();
  }

  void LexText(std::string_view text, std::string_view source) {
    const std::string& name = storage_.emplace_back(source);
    std::vector<std::string> chain;
    Splice(LexNft(ctx_, text, name), kMaxIncludeDepth, chain);
  }

  NftRuleset Parse() {
    Token end;  // kEnd, placed where the text ends
    end.file = tokens_.empty() ? &storage_.emplace_back() : tokens_.back().file;
    end.line = tokens_.empty() ? 1 : tokens_.back().line;
    tokens_.push_back(end);
    pos_ = 0;
    while (true) {
      SkipSeparators();
      if (AtEnd()) break;
      const Token& t = Peek();
      if (t.kind != TokenKind::kWord) {
        Warn(t, "unexpected '" + std::string(t.text) + "'");
        Advance();
        continue;
      }
      TopLevelStatement(t);
    }
    for (NftTable& table : ruleset_.tables) {
      for (NftChain& chain : table.chains) {
        if (chain.hook && !chain.policy) chain.policy = "accept";
      }
    }
    return std::move(ruleset_);
  }

 private:
  // Appends `tokens`, replacing each `include "NAME"` at the start of a statement by the
  // tokens of the files it names.
  void Splice(const std::vector<Token>& tokens, int depth, std::vector<std::string>& chain) {
    for (size_t k = 0; k < tokens.size(); ++k) {
      const Token& t = tokens[k];
      bool at_start = k == 0 || tokens[k - 1].kind == TokenKind::kNewline ||
                      tokens[k - 1].kind == TokenKind::kSemicolon ||
                      tokens[k - 1].kind == TokenKind::kOpen ||
                      tokens[k - 1].kind == TokenKind::kClose;
      if (t.kind == TokenKind::kWord && t.text == "include" && at_start && k + 1 < tokens.size() &&
          tokens[k + 1].kind == TokenKind::kString) {
        Include(t, Unquote(tokens[k + 1].text), depth, chain);
        tokens_.push_back(Token{TokenKind::kNewline, "\n", t.file, t.line, true, std::nullopt});
        ++k;
        continue;
      }
      tokens_.push_back(t);
    }
  }

  // Relative names are looked up in /etc (nft's default include directory); "./NAME" is
  // relative to the working directory of the loading service, "/". Wildcards may match nothing.
  void Include(const Token& at, std::string_view name, int depth, std::vector<std::string>& chain) {
    std::string pattern = name.starts_with("/")    ? std::string(name)
                          : name.starts_with("./") ? "/" + std::string(name.substr(2))
                                                   : "/etc/" + std::string(name);
    bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
    Result<std::vector<std::string>> files = ctx_.host().Glob(pattern);
    if (!files.ok() || files->empty()) {
      if (!wildcard) Warn(at, "cannot open include file '" + std::string(name) + "'");
      return;
    }
    for (const std::string& file : *files) {
      if ((wildcard && BaseName(file).starts_with(".")) || ctx_.host().IsDirectory(file)) continue;
      if (std::find(chain.begin(), chain.end(), file) != chain.end()) {
        Warn(at, "include loop: " + file + " is already being read");
      } else if (depth + 1 >= kMaxIncludeDepth) {
        Warn(at, "includes nested deeper than " + std::to_string(kMaxIncludeDepth));
      } else {
        LexFile(file, depth + 1, chain);
      }
    }
  }

  const Token& Peek() const { return tokens_[pos_]; }
  void Advance() {
    if (!AtEnd()) ++pos_;
  }
  bool AtEnd() const { return tokens_[pos_].kind == TokenKind::kEnd; }
  bool Is(TokenKind kind) const { return tokens_[pos_].kind == kind; }

  void SkipSeparators() {
    while (Is(TokenKind::kNewline) || Is(TokenKind::kSemicolon)) Advance();
  }

  // The tokens up to the end of the statement (a newline or ';' outside braces, consumed, or
  // the '}' closing the enclosing block, not consumed). Newlines inside braces are dropped.
  std::vector<const Token*> Statement() {
    std::vector<const Token*> out;
    int depth = 0;
    while (!AtEnd()) {
      const Token& t = Peek();
      if (depth == 0 && (t.kind == TokenKind::kNewline || t.kind == TokenKind::kSemicolon)) {
        Advance();
        break;
      }
      if (depth == 0 && t.kind == TokenKind::kClose) break;
      if (t.kind == TokenKind::kOpen) ++depth;
      if (t.kind == TokenKind::kClose) --depth;
      Advance();
      if (t.kind != TokenKind::kNewline) out.push_back(&t);
    }
    return out;
  }

  // Words of a block header ("table inet filter {"); consumes the '{' when there is one.
  std::vector<std::string_view> Header(bool& has_block) {
    std::vector<std::string_view> words;
    has_block = false;
    while (Is(TokenKind::kWord) || Is(TokenKind::kString)) {
      words.push_back(Peek().text);
      Advance();
    }
    if (Is(TokenKind::kOpen)) {
      has_block = true;
      Advance();
    } else if (Is(TokenKind::kNewline) || Is(TokenKind::kSemicolon)) {
      Advance();
    }
    return words;
  }

  static std::string Join(const std::vector<const Token*>& tokens, size_t from) {
    std::string out;
    for (size_t k = from; k < tokens.size(); ++k) {
      if (!out.empty() && tokens[k]->space_before) out += ' ';
      out.append(tokens[k]->text);
    }
    return out;
  }

  void Warn(const Token& at, const std::string& what) const {
    ctx_.Warn(*at.file + ":" + std::to_string(at.line) + ": " + what);
  }

  void TopLevelStatement(const Token& first) {
    std::string_view verb = first.text;
    if (verb == "table") {
      Advance();
      TableDeclaration(first);
    } else if (verb == "add" || verb == "create" || verb == "insert" || verb == "replace") {
      Advance();
      Command(first);
    } else if (verb == "define" || verb == "redefine") {
      std::vector<const Token*> s = Statement();
      if (s.size() < 4 || s[2]->text != "=") {
        Warn(first, "expected 'define NAME = VALUE'");
      } else {
        defines_[std::string(s[1]->text)] = Join(s, 3);
      }
    } else if (verb == "undefine") {
      std::vector<const Token*> s = Statement();
      if (s.size() >= 2) defines_.erase(std::string(s[1]->text));
    } else if (verb == "flush" || verb == "delete" || verb == "destroy") {
      Advance();
      FlushOrDelete(verb, Statement());
    } else if (verb == "list" || verb == "reset" || verb == "rename" || verb == "describe" ||
               verb == "monitor" || verb == "export" || verb == "import" || verb == "get") {
      (void)Statement();
    } else {
      Warn(first, "unknown statement '" + std::string(verb) + "'");
      (void)Statement();
    }
  }

  // table [FAMILY] NAME [{ ... }]
  void TableDeclaration(const Token& at) {
    bool has_block = false;
    std::vector<std::string_view> words = Header(has_block);
    if (words.empty() || words.size() > 2) {
      Warn(at, "expected 'table [FAMILY] NAME'");
      if (has_block) SkipBlock();
      return;
    }
    std::string_view family = words.size() == 2 ? words[0] : "ip";
    ruleset_.GetTable(family, words.back());
    if (has_block) TableBody(family, words.back());
  }

  void TableBody(std::string_view family, std::string_view name) {
    while (true) {
      SkipSeparators();
      if (AtEnd()) return;
      if (Is(TokenKind::kClose)) {
        Advance();
        return;
      }
      const Token& t = Peek();
      if (t.kind == TokenKind::kWord && t.text == "chain") {
        Advance();
        bool has_block = false;
        std::vector<std::string_view> words = Header(has_block);
        if (words.size() != 1) {
          Warn(t, "expected 'chain NAME'");
          if (has_block) SkipBlock();
          continue;
        }
        NftChain& chain = DeclareChain(family, name, words[0], t);
        if (has_block) ChainBody(family, chain);
        continue;
      }
      (void)Statement();  // sets, maps, flowtables, stateful objects, table flags and comments
    }
  }

  NftChain& DeclareChain(std::string_view family, std::string_view table, std::string_view name,
                         const Token& at) {
    NftChain& chain = ruleset_.GetTable(family, table).GetChain(name);
    if (chain.line == 0) {
      chain.file = listing_ ? "" : *at.file;
      chain.line = at.line;
    }
    return chain;
  }

  void ChainBody(std::string_view family, NftChain& chain) {
    while (true) {
      SkipSeparators();
      if (AtEnd()) return;
      if (Is(TokenKind::kClose)) {
        Advance();
        return;
      }
      std::vector<const Token*> s = Statement();
      if (s.empty()) continue;
      std::string_view first = s[0]->kind == TokenKind::kWord ? s[0]->text : "";
      if (first == "type") {
        ChainSpec(family, s, chain);
      } else if (first == "policy" && s.size() >= 2) {
        chain.policy = Substitute(*s[1]);
      } else if (first == "comment" || first == "devices" || first == "device" ||
                 first == "flags") {
        continue;
      } else {
        AddRule(chain, s, 0, false);
      }
    }
  }

  // type TYPE hook HOOK [device DEV | devices = { ... }] priority PRIORITY [; policy POLICY]
  void ChainSpec(std::string_view family, const std::vector<const Token*>& s, NftChain& chain) {
    for (size_t k = 0; k < s.size(); ++k) {
      std::string_view word = s[k]->text;
      bool has_next = k + 1 < s.size();
      if ((word == "type" || word == "hook" || word == "policy") && has_next) {
        std::string value = Substitute(*s[++k]);
        (word == "type" ? chain.type : word == "hook" ? chain.hook : chain.policy) = value;
      } else if (word == "priority") {
        std::string expression;
        while (k + 1 < s.size() && s[k + 1]->text != "policy") {
          expression += Substitute(*s[++k]);
        }
        chain.priority = ChainPriority(family, expression);
        if (!chain.priority) Warn(*s[0], "unknown chain priority '" + expression + "'");
      }
    }
  }

  std::string Substitute(const Token& t) {
    if (!t.text.starts_with("$")) return std::string(t.text);
    auto it = defines_.find(std::string(t.text.substr(1)));
    if (it != defines_.end()) return it->second;
    Warn(t, "undefined variable '" + std::string(t.text) + "'");
    return std::string(t.text);
  }

  void AddRule(NftChain& chain, const std::vector<const Token*>& s, size_t from, bool front) {
    if (from >= s.size()) return;
    NftRule rule{Join(s, from), listing_ ? "" : *s[from]->file, s[from]->line, std::nullopt};
    for (size_t k = from; k < s.size(); ++k) {
      if (s[k]->handle) rule.handle = s[k]->handle;
    }
    if (front) {
      chain.rules.insert(chain.rules.begin(), std::move(rule));
    } else {
      chain.rules.push_back(std::move(rule));
    }
  }

  // add|create|insert|replace OBJECT ...
  void Command(const Token& verb) {
    if (!Is(TokenKind::kWord)) {
      (void)Statement();
      return;
    }
    const Token& object = Peek();
    if (object.text == "table") {
      Advance();
      TableDeclaration(object);
    } else if (object.text == "chain") {
      Advance();
      bool has_block = false;
      std::vector<std::string_view> w = Header(has_block);
      if (w.size() < 2 || w.size() > 3) {
        Warn(object, "expected 'chain [FAMILY] TABLE NAME'");
        if (has_block) SkipBlock();
        return;
      }
      std::string_view family = w.size() == 3 ? w[0] : "ip";
      NftChain& chain = DeclareChain(family, w[w.size() - 2], w.back(), object);
      if (has_block) ChainBody(family, chain);
    } else if (object.text == "rule") {
      Advance();
      std::vector<const Token*> s = Statement();
      size_t k = !s.empty() && IsFamily(s[0]->text) ? 1 : 0;
      std::string_view family = k == 1 ? s[0]->text : "ip";
      if (s.size() < k + 3) {
        Warn(object, "expected 'rule [FAMILY] TABLE CHAIN STATEMENT...'");
        return;
      }
      NftTable* table = ruleset_.FindTable(family, s[k]->text);
      NftChain* chain = table != nullptr ? table->FindChain(s[k + 1]->text) : nullptr;
      if (chain == nullptr) {
        Warn(object, "no chain '" + std::string(s[k + 1]->text) + "' in table " +
                         std::string(family) + " " + std::string(s[k]->text));
        return;
      }
      size_t from = k + 2;
      while (from + 1 < s.size() && (s[from]->text == "position" || s[from]->text == "index" ||
                                     s[from]->text == "handle")) {
        from += 2;
      }
      AddRule(*chain, s, from, verb.text == "insert");
    } else {
      (void)Statement();  // sets, elements, maps, flowtables, stateful objects
    }
  }

  void FlushOrDelete(std::string_view verb, const std::vector<const Token*>& s) {
    if (s.empty()) return;
    std::string_view object = s[0]->text;
    if (object == "ruleset") {
      if (verb == "flush") ruleset_.tables.clear();
      return;
    }
    size_t k = s.size() > 1 && IsFamily(s[1]->text) ? 2 : 1;
    std::string_view family = k == 2 ? s[1]->text : "ip";
    if (k >= s.size()) return;
    NftTable* table = ruleset_.FindTable(family, s[k]->text);
    if (table == nullptr) return;
    if (object == "table") {
      if (verb == "flush") {
        for (NftChain& chain : table->chains) chain.rules.clear();
      } else {
        std::erase_if(ruleset_.tables, [table](const NftTable& t) { return &t == table; });
      }
    } else if (object == "chain" && k + 1 < s.size()) {
      NftChain* chain = table->FindChain(s[k + 1]->text);
      if (chain == nullptr) return;
      if (verb == "flush") {
        chain->rules.clear();
      } else {
        std::erase_if(table->chains, [chain](const NftChain& c) { return &c == chain; });
      }
    }
  }

  void SkipBlock() {
    int depth = 1;
    while (!AtEnd() && depth > 0) {
      if (Is(TokenKind::kOpen)) ++depth;
      if (Is(TokenKind::kClose)) --depth;
      Advance();
    }
  }

  const QueryContext& ctx_;
  const bool listing_;
  std::deque<std::string> storage_;  // file contents and names the tokens point into
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::map<std::string, std::string> defines_;
  NftRuleset ruleset_;
};

}  // namespace

NftRuleset LoadNftConfig(const QueryContext& ctx, std::string_view path) {
  Reader reader(ctx, /*listing=*/false);
  std::vector<std::string> chain;
  reader.LexFile(std::string(path), 0, chain);
  return reader.Parse();
}

NftRuleset ParseNftListing(const QueryContext& ctx, std::string_view text,
                           std::string_view source) {
  Reader reader(ctx, /*listing=*/true);
  reader.LexText(text, source);
  return reader.Parse();
}

}  // namespace vigil::tables::internal
