// pam.ensure: makes a PAM stack file hold a line `type control module arguments`.
//
// An existing line of the module and type (and mode: pam_faillock.so preauth / authfail /
// authsucc are different lines) gets the control and arguments (a key=value argument
// replaces the same key, the module's other arguments stay); otherwise a new line goes before
// the first line of the type (or before/after a named module's first line of the type), and
// jumps of earlier lines ("[success=1 default=ignore]") that reach past the new line are
// widened by one, so every old line keeps its meaning. Lines continued with '\' are read
// joined, and written back on one line when edited. Refuses a new blocking line for a module
// the host does not have, and pam_deny.so as a blocking line, as both would fail every login.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;

constexpr std::string_view kAction = "pam.ensure";

struct Token {
  std::string text;
  size_t begin = 0, end = 0;  // byte offsets in the line
};

// PAM's word splitting: blanks separate words, "[...]" is one word even with blanks inside.
std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && action_text::IsBlank(line[i])) ++i;
    if (i >= line.size()) break;
    Token t;
    t.begin = i;
    if (line[i] == '[') {
      size_t close = line.find(']', i);
      i = close == std::string_view::npos ? line.size() : close + 1;
    }
    while (i < line.size() && !action_text::IsBlank(line[i])) ++i;
    t.end = i;
    t.text = std::string(line.substr(t.begin, t.end - t.begin));
    out.push_back(std::move(t));
  }
  return out;
}

// A rule line's tokens (type, control, module, arguments...), or none for comments, blank
// lines, "@include" and lines too short to be rules.
std::vector<Token> RuleTokens(std::string_view line) {
  const std::string_view trimmed = action_text::Trim(line);
  if (trimmed.empty() || trimmed.front() == '#' || trimmed.front() == '@') return {};
  std::vector<Token> tokens = Tokenize(line);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].text.starts_with('#')) {  // a comment to the end of the line
      tokens.resize(i);
      break;
    }
  }
  if (tokens.size() < 3) return {};
  return tokens;
}

std::string RuleType(const std::vector<Token>& tokens) {
  std::string type = action_text::Lower(tokens[0].text);
  return !type.empty() && type.front() == '-' ? type.substr(1) : type;
}

// A line as PAM reads it: one physical line, or several joined by a '\' at their end.
struct LogicalLine {
  std::vector<std::string> physical;
  std::string text;        // the physical lines joined, the continuation backslashes removed
  bool rewritten = false;  // written back as `text` on one line
};

std::vector<LogicalLine> JoinContinuations(const std::vector<std::string>& lines) {
  std::vector<LogicalLine> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    LogicalLine logical;
    logical.physical.push_back(lines[i]);
    logical.text = lines[i];
    const bool comment = action_text::Trim(lines[i]).starts_with('#');
    while (!comment && logical.text.ends_with('\\') && i + 1 < lines.size()) {
      logical.text.pop_back();
      logical.text += " " + lines[++i];
      logical.physical.push_back(lines[i]);
    }
    out.push_back(std::move(logical));
  }
  return out;
}

bool SameModule(std::string_view a, std::string_view b) { return BaseName(a) == BaseName(b); }

// Arguments that choose what a module does, so that lines with different ones are different
// lines of the stack (pam_faillock.so preauth / authfail / authsucc).
std::string_view Mode(const std::vector<std::string>& arguments) {
  for (const std::string& arg : arguments) {
    if (arg == "preauth" || arg == "authfail" || arg == "authsucc") return arg;
  }
  return "";
}

std::string ArgumentKey(std::string_view arg) { return std::string(arg.substr(0, arg.find('='))); }

bool ValidControl(std::string_view control) {
  static const std::vector<std::string_view> kWords = {"required", "requisite", "sufficient",
                                                       "optional", "include",   "substack"};
  for (std::string_view word : kWords) {
    if (control == word) return true;
  }
  if (control.size() < 3 || control.front() != '[' || control.back() != ']') return false;
  std::vector<std::string_view> pairs =
      action_text::SplitBlanks(control.substr(1, control.size() - 2));
  if (pairs.empty()) return false;
  for (std::string_view pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos || eq + 1 == pair.size()) return false;
  }
  return true;
}

// A control that fails the stack when the module fails (or cannot be loaded).
bool Blocking(std::string_view control) {
  return control == "required" || control == "requisite" ||
         (control.front() == '[' && (control.find("=die") != std::string_view::npos ||
                                     control.find("=bad") != std::string_view::npos));
}

bool ModuleInstalled(const Host& host, const std::string& module) {
  if (module.front() == '/') return host.Exists(module);
  for (std::string_view dir :
       {"/lib/security/", "/lib64/security/", "/usr/lib/security/", "/usr/lib64/security/",
        "/lib/*/security/", "/usr/lib/*/security/"}) {
    Result<std::vector<std::string>> found = host.Glob(std::string(dir) + module);
    if (found.ok() && !found->empty()) return true;
  }
  return false;
}

// The arguments `have` with `want` laid over: key=value replaces the same key, a flag is added
// when missing.
std::vector<std::string> MergeArguments(std::vector<std::string> have,
                                        const std::vector<std::string>& want) {
  for (const std::string& arg : want) {
    bool found = false;
    for (std::string& old : have) {
      if (old == arg || (arg.find('=') != std::string::npos && old.find('=') != std::string::npos &&
                         ArgumentKey(old) == ArgumentKey(arg))) {
        old = arg;
        found = true;
        break;
      }
    }
    if (!found) have.push_back(arg);
  }
  return have;
}

// `line` with every "action=N" jump of its control (its second token) that reaches the rule
// line `distance` lines further on, or past it, widened by one; nullopt when none does.
std::optional<std::string> WidenJumps(const std::string& line, const std::vector<Token>& tokens,
                                      size_t distance) {
  const std::string& control = tokens[1].text;
  std::string widened;
  bool changed = false;
  size_t i = 0;
  for (size_t eq = control.find('='); eq != std::string::npos; eq = control.find('=', eq + 1)) {
    size_t end = eq + 1;
    while (end < control.size() && std::isdigit(static_cast<unsigned char>(control[end]))) ++end;
    if (end == eq + 1 || end - eq > 6) continue;
    const size_t jump = std::stoul(control.substr(eq + 1, end - eq - 1));
    if (jump == 0 || jump < distance) continue;
    widened += control.substr(i, eq + 1 - i) + std::to_string(jump + 1);
    i = end;
    changed = true;
  }
  if (!changed) return std::nullopt;
  widened += control.substr(i);
  return line.substr(0, tokens[1].begin) + widened + line.substr(tokens[1].end);
}

Result<Plan> PlanPamEnsure(const Host& host, const packs::Params& args) {
  const std::string file = action_text::Arg(args, "file");
  const std::string type = action_text::Arg(args, "type");
  const std::string control = action_text::NormalizeBlanks(action_text::Arg(args, "control"));
  const std::string module = action_text::Arg(args, "module");
  const std::vector<std::string> arguments = action_text::ListArg(args, "arguments");
  const std::string before = action_text::Arg(args, "before");
  const std::string after = action_text::Arg(args, "after");
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "file", file));
  if (type != "auth" && type != "account" && type != "password" && type != "session") {
    return action_text::BadArg(kAction, "type", type,
                               "is not one of auth, account, password, session");
  }
  if (!ValidControl(control)) {
    return action_text::BadArg(kAction, "control", action_text::Arg(args, "control"),
                               "is not a PAM control (required, requisite, sufficient, optional, "
                               "include, substack or [value=action ...])");
  }
  for (const auto& [param, text] :
       {std::pair<std::string_view, const std::string&>{"module", module},
        {"before", before},
        {"after", after}}) {
    if (param != "module" && text.empty()) continue;
    VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, param, text));
    if (text.find_first_of(" \t") != std::string::npos) {
      return action_text::BadArg(kAction, param, text, "is not a module name");
    }
  }
  if (!before.empty() && !after.empty()) {
    return action_text::BadArg(kAction, "after", after, "cannot be given with before");
  }
  for (const std::string& arg : arguments) {
    VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "arguments", arg));
    if (arg.find_first_of(" \t") != std::string::npos) {
      return action_text::BadArg(kAction, "arguments", arg, "must not contain blanks");
    }
  }

  Plan plan;
  // A blocking line for a module PAM cannot load fails the stack (a line that blocks already
  // is taken as proof that the module is there).
  auto refuse_missing_module = [&](std::string_view old_control) {
    if (!Blocking(control) || (!old_control.empty() && Blocking(old_control)) ||
        ModuleInstalled(host, module)) {
      return false;
    }
    plan.refused = module + " is not installed on this host: a " + control + " " + type +
                   " line for it in " + file + " would fail every login";
    return true;
  };
  if (Blocking(control) && SameModule(module, "pam_deny.so")) {
    plan.refused = "a " + control + " pam_deny.so line in " + file + " would fail every login";
    return plan;
  }
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content, action_text::ReadIfExists(host, file));
  if (!content) {
    return Status::NotFound(std::string(kAction) + ": file '" + file + "' does not exist");
  }
  TextLines text = TextLines::Split(*content);
  std::vector<LogicalLine> lines = JoinContinuations(text.lines);
  auto edited = [&] {
    std::vector<std::string> physical;
    for (const LogicalLine& line : lines) {
      if (line.rewritten) {
        physical.push_back(line.text);
      } else {
        physical.insert(physical.end(), line.physical.begin(), line.physical.end());
      }
    }
    text.lines = std::move(physical);
    return action_text::ContentEdit(file, text.Join());
  };

  std::vector<size_t> typed;  // indices of the rule lines of `type`
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<Token> tokens = RuleTokens(lines[i].text);
    if (tokens.empty() || RuleType(tokens) != type) continue;
    typed.push_back(i);
    if (!SameModule(tokens[2].text, module)) continue;
    std::vector<std::string> have;
    for (size_t a = 3; a < tokens.size(); ++a) have.push_back(tokens[a].text);
    if (Mode(have) != Mode(arguments)) continue;
    // The module's line: give it the control and arguments.
    const std::vector<std::string> merged = MergeArguments(have, arguments);
    if (action_text::NormalizeBlanks(tokens[1].text) == control && merged == have) return plan;
    if (refuse_missing_module(tokens[1].text)) return plan;
    const std::string& line = lines[i].text;
    std::string rebuilt = line.substr(0, tokens[1].begin) + control +
                          line.substr(tokens[1].end, tokens[2].end - tokens[1].end);
    const std::string gap =
        tokens.size() > 3 ? line.substr(tokens[2].end, tokens[3].begin - tokens[2].end) : " ";
    for (size_t a = 0; a < merged.size(); ++a) rebuilt += (a == 0 ? gap : " ") + merged[a];
    lines[i].text = rebuilt;
    lines[i].rewritten = true;
    plan.files.push_back(edited());
    return plan;
  }

  // A new line: where, among the lines of its type (q), and in the file (at).
  if (refuse_missing_module("")) return plan;
  size_t q = 0;
  const std::string& anchor = before.empty() ? after : before;
  if (!anchor.empty()) {
    std::optional<size_t> found;
    for (size_t k = 0; k < typed.size() && !found; ++k) {
      if (SameModule(RuleTokens(lines[typed[k]].text)[2].text, anchor)) found = k;
    }
    if (!found) {
      plan.refused = file + " has no " + type + " line for " + anchor + " to put " + module +
                     (before.empty() ? " after" : " before");
      return plan;
    }
    q = before.empty() ? *found + 1 : *found;
  }
  const size_t at = q < typed.size() ? typed[q] : (typed.empty() ? lines.size() : typed.back() + 1);
  for (size_t p = 0; p < q; ++p) {
    LogicalLine& jumper = lines[typed[p]];
    // A jump of N from line p lands on line p + N + 1; the new line sits at q.
    if (auto widened = WidenJumps(jumper.text, RuleTokens(jumper.text), q - p - 1)) {
      jumper.text = *widened;
      jumper.rewritten = true;
    }
  }
  LogicalLine added;
  added.text = type + "\t" + control + "\t" + module;
  for (const std::string& arg : arguments) added.text += " " + arg;
  added.rewritten = true;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), std::move(added));
  if (at == lines.size() - 1) text.trailing_newline = true;
  plan.files.push_back(edited());
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakePamEnsure() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Makes a PAM stack file hold a module line with given arguments.",
       {{"file", true, false, "the stack, e.g. /etc/pam.d/common-password"},
        {"type", true, false, "auth, account, password or session"},
        {"control", true, false, "e.g. requisite, required, [default=die]"},
        {"module", true, false, "e.g. pam_pwquality.so"},
        {"arguments", false, true, "module arguments; key=value replaces the same key"},
        {"before", false, false, "a module: the new line goes before its first line of the type"},
        {"after", false, false, "a module: the new line goes after its first line of the type"}}},
      &PlanPamEnsure);
}

}  // namespace vigil::enforcers
