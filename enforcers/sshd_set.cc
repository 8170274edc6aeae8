// sshd.set: makes a global sshd setting take `value`, edited where sshd takes it from.
//
// The configuration is read with the parser the sshd_config table uses, so the line this edits
// is the one the check reported: the first global line of the keyword, in the main file or a
// file it includes. A keyword set nowhere gets a line in /etc/ssh/sshd_config before its first
// Match block. For keywords whose lines add up (Port, AllowGroups, ...) the first line is
// rewritten and the other global lines are commented out, so the value is the whole list.
// Match blocks that override the keyword are left alone and named in the plan's notes.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"
#include "engine/query_context.h"
#include "engine/schema.h"
#include "tables/internal/sshd_config_parser.h"
#include "tables/internal/sshd_keywords.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;
using tables::internal::FindSshdKeyword;
using tables::internal::SshdConfig;
using tables::internal::SshdKeyword;
using tables::internal::SshdKeywordKind;
using tables::internal::SshdSetting;

constexpr std::string_view kAction = "sshd.set";
constexpr std::string_view kMainFile = tables::internal::kSshdConfigPath;
constexpr std::string_view kCommentOut = "# vigil: ";

// Where the arguments of a configuration line start: after the keyword, its blanks and an
// optional '=' (sshd accepts "Key value", "Key=value" and "Key = value").
size_t ArgumentsStart(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && action_text::IsBlank(line[i])) ++i;
  while (i < line.size() && !action_text::IsBlank(line[i]) && line[i] != '=') ++i;
  bool equals = false;
  while (i < line.size() && (action_text::IsBlank(line[i]) || (line[i] == '=' && !equals))) {
    if (line[i] == '=') equals = true;
    ++i;
  }
  return i;
}

std::string FirstWordLower(std::string_view line) {
  std::string_view trimmed = action_text::Trim(line);
  size_t end = 0;
  while (end < trimmed.size() && !action_text::IsBlank(trimmed[end]) && trimmed[end] != '=') ++end;
  return action_text::Lower(trimmed.substr(0, end));
}

// The global value sshd would use for `keyword` once `changed` is `value`.
std::string Effective(const SshdConfig& config, std::string_view keyword, std::string_view changed,
                      const std::string& value) {
  if (keyword == changed) return action_text::Lower(value);
  std::vector<const SshdSetting*> global = config.Global(keyword);
  return global.empty() ? "" : action_text::Lower(global.front()->value);
}

// Whether any authorized_keys file in the usual places holds a key.
bool AnyAuthorizedKey(const Host& host) {
  std::vector<std::string> files;
  for (std::string_view pattern : {"/root/.ssh/authorized_keys*", "/home/*/.ssh/authorized_keys*",
                                   "/etc/ssh/authorized_keys/*"}) {
    Result<std::vector<std::string>> found = host.Glob(pattern);
    if (found.ok()) files.insert(files.end(), found->begin(), found->end());
  }
  for (const std::string& file : files) {
    Result<std::string> text = host.ReadFile(file);
    if (!text.ok()) continue;
    for (const std::string& line : TextLines::Split(*text).lines) {
      std::string_view t = action_text::Trim(line);
      if (!t.empty() && t.front() != '#') return true;
    }
  }
  return false;
}

// Why setting keyword to value would leave nobody a way to log in, or "" when it would not.
std::string LockoutReason(const Host& host, const SshdConfig& config, std::string_view keyword,
                          const std::string& value, const std::vector<std::string>& words) {
  auto on = [&](std::string_view k) { return Effective(config, k, keyword, value) != "no"; };
  static const std::set<std::string_view> kMethods = {
      "passwordauthentication", "kbdinteractiveauthentication", "pubkeyauthentication",
      "hostbasedauthentication", "gssapiauthentication"};
  if (kMethods.contains(keyword)) {
    if (!on("passwordauthentication") && !on("kbdinteractiveauthentication") &&
        !on("pubkeyauthentication") && !on("hostbasedauthentication") &&
        !on("gssapiauthentication")) {
      return "it would turn off the last authentication method sshd offers";
    }
    if (!on("passwordauthentication") && !on("kbdinteractiveauthentication") &&
        on("pubkeyauthentication") && !AnyAuthorizedKey(host)) {
      return "public keys would be the only way in and no authorized_keys file holds a key";
    }
  }
  if ((keyword == "denyusers" || keyword == "denygroups") &&
      std::find(words.begin(), words.end(), "*") != words.end()) {
    return "'*' would deny every account";
  }
  if (keyword == "allowusers" || keyword == "allowgroups") {
    const bool users = keyword == "allowusers";
    for (std::string word : words) {
      if (users) word = word.substr(0, word.find('@'));
      if (word.find_first_of("*?!") != std::string::npos) return "";
      if (users ? action_text::HasUser(host, word) : action_text::HasGroup(host, word)) return "";
    }
    return users ? "it names no account of this host" : "it names no group of this host";
  }
  if (keyword == "maxauthtries" && value == "0") {
    return "no authentication attempt would be allowed";
  }
  return "";
}

Result<Plan> PlanSshdSet(const Host& host, const packs::Params& args) {
  const std::string key = action_text::Arg(args, "key");
  const std::string value = action_text::Arg(args, "value");
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "key", key));
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "value", value));
  const SshdKeyword* keyword = FindSshdKeyword(key);
  if (keyword == nullptr) return action_text::BadArg(kAction, "key", key, "is not an sshd keyword");
  if (keyword->kind == SshdKeywordKind::kIgnored) {
    return action_text::BadArg(kAction, "key", key, "is deprecated or unsupported by sshd");
  }
  if (keyword->kind == SshdKeywordKind::kMatch || keyword->kind == SshdKeywordKind::kInclude) {
    return action_text::BadArg(kAction, "key", key, "is not a setting");
  }
  std::vector<std::string> words;
  if (!tables::internal::SplitSshdArguments(value, words)) {
    return action_text::BadArg(kAction, "value", value, "has an unbalanced quote");
  }
  if (words.empty()) return action_text::BadArg(kAction, "value", value, "is empty");
  std::string wanted;
  for (const std::string& w : words) wanted += (wanted.empty() ? "" : " ") + w;

  Plan plan;
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> main,
                         action_text::ReadIfExists(host, kMainFile));
  if (!main) {
    plan.refused = std::string(kMainFile) + " does not exist; is openssh-server installed?";
    return plan;
  }
  static const Schema kNoSchema;
  QueryContext ctx(host, kNoSchema);
  std::vector<std::string> warnings;
  ctx.SetWarningSink(&warnings);
  const SshdConfig config = tables::internal::LoadSshdConfig(ctx);

  const std::string name(keyword->name);
  std::vector<const SshdSetting*> lines;
  for (const SshdSetting* s : config.Global(name)) {
    if (!s->is_default) lines.push_back(s);
  }
  for (const SshdSetting& s : config.settings) {
    if (s.keyword == name && !s.match.empty()) {
      plan.notes.push_back(s.file + ":" + std::to_string(s.line) + ": the Match " + s.match +
                           " block sets " + key + " to '" + s.value +
                           "' for the connections it matches; left as it is");
    }
  }
  const bool compliant = !lines.empty() && lines.front()->value == wanted &&
                         (keyword->kind != SshdKeywordKind::kAccumulates || lines.size() == 1);
  if (compliant) return Plan{};
  // Lines sshd would reject make the validator fail; say which before it does.
  for (std::string& warning : warnings) plan.notes.push_back(std::move(warning));

  if (std::string reason = LockoutReason(host, config, name, wanted, words); !reason.empty()) {
    plan.refused = "setting " + key + " to '" + value + "' could leave no way to log in: " + reason;
    return plan;
  }

  std::map<std::string, TextLines> files;  // edited files, by host path
  auto file = [&](const std::string& path) -> Result<TextLines*> {
    auto it = files.find(path);
    if (it == files.end()) {
      VIGIL_ASSIGN_OR_RETURN(std::string text, host.ReadFile(path));
      it = files.emplace(path, TextLines::Split(text)).first;
    }
    return &it->second;
  };
  if (lines.empty()) {
    VIGIL_ASSIGN_OR_RETURN(TextLines * text, file(std::string(kMainFile)));
    size_t at = text->lines.size();
    for (size_t i = 0; i < text->lines.size(); ++i) {
      if (FirstWordLower(text->lines[i]) == "match") {
        at = i;
        break;
      }
    }
    text->Insert(at, key + " " + value);
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      VIGIL_ASSIGN_OR_RETURN(TextLines * text, file(lines[i]->file));
      const size_t index = static_cast<size_t>(lines[i]->line - 1);
      if (index >= text->lines.size()) {
        return Status::Internal(lines[i]->file + ":" + std::to_string(lines[i]->line) +
                                ": line not found");
      }
      std::string& line = text->lines[index];
      line =
          i == 0 ? line.substr(0, ArgumentsStart(line)) + value : std::string(kCommentOut) + line;
    }
  }
  for (auto& [path, text] : files)
    plan.files.push_back(action_text::ContentEdit(path, text.Join()));

  // sshd -t reads Include paths and HostKey files on this machine, not under --root: relative
  // Includes are taken from the real /etc/ssh. Under another root the tree's host keys are
  // passed with -h so the check does not depend on this machine's keys.
  std::vector<std::string> validate = {"sshd", "-t", "-f",
                                       "{{file:" + std::string(kMainFile) + "}}"};
  if (!host.is_machine_root()) {
    for (const SshdSetting* key_file : config.Global("hostkey")) {
      if (host.Exists(key_file->value)) {
        validate.push_back("-h");
        validate.push_back("{{file:" + key_file->value + "}}");
      }
    }
  }
  plan.commands.push_back({PlannedCommand::When::kValidate, std::move(validate)});
  plan.commands.push_back(
      {PlannedCommand::When::kApply, {"systemctl", "try-reload-or-restart", "ssh.service"}});
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeSshdSet() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Makes a global sshd setting take a value, edited where sshd reads it from.",
       {{"key", true, false, "sshd keyword, e.g. PermitRootLogin"},
        {"value", true, false, "the value, as written after the keyword"}}},
      &PlanSshdSet);
}

}  // namespace vigil::enforcers
