#include "tables/internal/sshd_config_parser.h"

#include <optional>
#include <set>
#include <utility>

#include "engine/host.h"
#include "tables/internal/sshd_keywords.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

// sshd gives up past this many nested Include levels.
constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxConfigBytes = 1u << 20;
// Where relative Include paths are taken from.
constexpr std::string_view kSshDirectory = "/etc/ssh";

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

// Splits a line into its keyword and the text after it as sshd does: the keyword ends at a
// blank or '=', and one '=' (with blanks around it) may separate it from the arguments.
std::pair<std::string_view, std::string_view> SplitKeyword(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && IsBlank(line[i])) ++i;
  const size_t start = i;
  while (i < line.size() && !IsBlank(line[i]) && line[i] != '=') ++i;
  std::string_view keyword = line.substr(start, i - start);
  const bool ended_by_equals = i < line.size() && line[i] == '=';
  if (i < line.size()) ++i;
  while (i < line.size() && IsBlank(line[i])) ++i;
  if (!ended_by_equals && i < line.size() && line[i] == '=') {
    ++i;
    while (i < line.size() && IsBlank(line[i])) ++i;
  }
  std::string_view rest = line.substr(i);
  while (!rest.empty() && IsBlank(rest.back())) rest.remove_suffix(1);
  return {keyword, rest};
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

// Whether the words after "Match" form a condition sshd accepts: "all" alone, or pairs of a
// known criterion and its pattern list.
bool ValidMatchCondition(const std::vector<std::string>& words) {
  if (words.size() == 1 && Lower(words[0]) == "all") return true;
  if (words.empty() || words.size() % 2 != 0) return false;
  static const std::set<std::string> kCriteria = {"user",         "group",     "host",   "address",
                                                  "localaddress", "localport", "rdomain"};
  for (size_t i = 0; i < words.size(); i += 2) {
    if (!kCriteria.contains(Lower(words[i]))) return false;
  }
  return true;
}

// Where a parsed line sits: inside which Match block, if any.
struct Context {
  std::string match;  // "" outside any Match block
  bool valid = true;  // false inside a Match block sshd would reject: its lines are skipped
};

class Parser {
 public:
  Parser(const QueryContext& ctx, SshdConfig& config) : ctx_(ctx), config_(config) {}

  void ParseFile(const std::string& file, std::string_view content, Context context, int depth) {
    for (const NumberedLine& line : SplitLines(content)) {
      auto [spelled, rest] = SplitKeyword(line.text);
      if (spelled.empty() || spelled.front() == '#') continue;
      if (rest.empty()) {
        Warn(file, line.number, "no argument after keyword '" + std::string(spelled) + "'");
        continue;
      }
      std::vector<std::string> args;
      if (!SplitSshdArguments(rest, args)) {
        Warn(file, line.number, "unbalanced quotes");
        continue;
      }
      const SshdKeyword* keyword = FindSshdKeyword(spelled);
      if (keyword == nullptr) {
        Warn(file, line.number, "unknown keyword '" + std::string(spelled) + "'");
        continue;
      }
      if (keyword->kind == SshdKeywordKind::kMatch) {
        context.valid = ValidMatchCondition(args);
        context.match = Join(args);
        if (!context.valid) Warn(file, line.number, "bad Match condition '" + context.match + "'");
        continue;
      }
      if (!context.valid) continue;
      Context line_context = context;
      if (!context.match.empty() && !keyword->match_allowed) {
        // `Match all` is active while sshd starts, so a global-only keyword after it is
        // accepted and applies globally; any other Match block rejects it.
        if (Lower(context.match) != "all") {
          Warn(file, line.number,
               "'" + std::string(spelled) + "' is not allowed within a Match block");
          continue;
        }
        line_context.match.clear();
      }
      if (args.empty()) {
        Warn(file, line.number, "missing argument for '" + std::string(spelled) + "'");
        continue;
      }
      switch (keyword->kind) {
        case SshdKeywordKind::kInclude:
          Include(file, line.number, args, line_context, depth);
          break;
        case SshdKeywordKind::kIgnored:
          break;
        case SshdKeywordKind::kAccumulates:
          if (keyword->name == "subsystem" &&
              !subsystems_.emplace(line_context.match, args[0]).second) {
            Warn(file, line.number, "Subsystem '" + args[0] + "' already defined");
            break;
          }
          Add(*keyword, args, line_context, file, line.number);
          break;
        case SshdKeywordKind::kFirstWins:
          if (seen_.emplace(line_context.match, std::string(keyword->name)).second) {
            Add(*keyword, args, line_context, file, line.number);
          }
          break;
        case SshdKeywordKind::kMatch:
          break;
      }
    }
  }

 private:
  void Include(const std::string& file, int line, const std::vector<std::string>& args,
               const Context& context, int depth) {
    for (const std::string& arg : args) {
      // A '~' path is not expanded by sshd's glob and so names nothing.
      if (arg.empty() || arg.front() == '~') continue;
      const std::string pattern = arg.front() == '/' ? arg : JoinPath(kSshDirectory, arg);
      Result<std::vector<std::string>> paths = ctx_.host().Glob(pattern);
      if (!paths.ok()) continue;  // no match: nothing to include
      for (const std::string& path : *paths) {
        if (depth + 1 > kMaxIncludeDepth) {
          Warn(file, line, "Include of " + path + " nested too deeply");
          continue;
        }
        Result<std::string> content = ctx_.host().ReadFile(path, kMaxConfigBytes);
        if (!content.ok()) {
          Warn(file, line, "cannot include " + path + ": " + content.status().message());
          continue;
        }
        ParseFile(path, *content, context, depth + 1);
      }
    }
  }

  void Add(const SshdKeyword& keyword, const std::vector<std::string>& args, const Context& context,
           const std::string& file, int line) {
    SshdSetting setting;
    setting.keyword = std::string(keyword.name);
    setting.value = Join(args);
    setting.match = context.match;
    setting.file = file;
    setting.line = line;
    config_.settings.push_back(std::move(setting));
  }

  void Warn(const std::string& file, int line, const std::string& message) const {
    ctx_.Warn(file + ":" + std::to_string(line) + ": " + message);
  }

  const QueryContext& ctx_;
  SshdConfig& config_;
  std::set<std::pair<std::string, std::string>> seen_;        // (match, keyword) already set
  std::set<std::pair<std::string, std::string>> subsystems_;  // (match, subsystem name)
};

}  // namespace

std::vector<const SshdSetting*> SshdConfig::Global(std::string_view keyword) const {
  std::vector<const SshdSetting*> out;
  for (const SshdSetting& setting : settings) {
    if (setting.match.empty() && setting.keyword == keyword) out.push_back(&setting);
  }
  return out;
}

SshdConfig LoadSshdConfig(const QueryContext& ctx, std::string_view path) {
  SshdConfig config;
  std::optional<std::string> content = ReadOptionalFile(ctx, path, kMaxConfigBytes);
  if (!content) return config;
  config.found = true;
  Parser parser(ctx, config);
  parser.ParseFile(std::string(path), *content, Context{}, 0);

  std::set<std::string> set_globally;  // copies: settings grows below
  for (const SshdSetting& setting : config.settings) {
    if (setting.match.empty()) set_globally.insert(setting.keyword);
  }
  for (const SshdDefault& fallback : SshdDefaults()) {
    if (set_globally.contains(std::string(fallback.keyword))) continue;
    SshdSetting setting;
    setting.keyword = std::string(fallback.keyword);
    setting.value = std::string(fallback.value);
    setting.is_default = true;
    config.settings.push_back(std::move(setting));
  }
  return config;
}

bool SplitSshdArguments(std::string_view text, std::vector<std::string>& words) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    if (text[i] == '#') break;  // a comment: the rest of the line
    std::string word;
    char quote = 0;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '\\' && i + 1 < text.size()) {
        const char next = text[i + 1];
        if (next == '\'' || next == '"' || next == '\\' || (quote == 0 && next == ' ')) {
          word += next;
          ++i;
        } else {
          word += c;  // not an escape sshd knows: kept as written
        }
      } else if (quote == 0 && (c == ' ' || c == '\t')) {
        break;
      } else if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
      } else if (quote != 0 && c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    }
    if (quote != 0) return false;
    words.push_back(std::move(word));
  }
  return true;
}

}  // namespace vigil::tables::internal
