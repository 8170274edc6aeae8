// profile.set: sets a shell variable for login shells in a file under /etc/profile.d
// (`TMOUT=900`, then `readonly TMOUT` and `export TMOUT`). Lines of the file that already
// assign, export or mark the variable read-only are replaced by that block.
#include <cctype>
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;

constexpr std::string_view kAction = "profile.set";

bool ValidName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// The value as a shell word: as it is when it needs no quoting, else in single quotes.
std::string ShellWord(std::string_view value) {
  if (!value.empty() &&
      value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                              "_./:,+-@%") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Whether the line assigns `name`, exports it or marks it read-only.
bool MentionsVariable(std::string_view line, const std::string& name) {
  std::vector<std::string_view> words = action_text::SplitBlanks(line);
  size_t i = 0;
  while (i < words.size() &&
         (words[i] == "readonly" || words[i] == "export" || words[i] == "declare" ||
          words[i] == "typeset" || (words[i].size() > 1 && words[i].front() == '-'))) {
    ++i;
  }
  if (i >= words.size()) return false;
  const std::string_view word = words[i];
  if (word.size() > name.size() && word.substr(0, name.size()) == name &&
      word[name.size()] == '=') {
    return true;
  }
  return i > 0 && word == name;  // "readonly TMOUT", "export TMOUT"
}

Result<Plan> PlanProfileSet(const Host& host, const packs::Params& args) {
  const std::string name = action_text::Arg(args, "name");
  const std::string value = action_text::Arg(args, "value");
  const std::string readonly = action_text::Arg(args, "readonly", "true");
  const std::string file =
      action_text::Arg(args, "file", "/etc/profile.d/90-vigil-" + action_text::Lower(name) + ".sh");
  if (!ValidName(name)) {
    return action_text::BadArg(kAction, "name", name, "is not a shell variable name");
  }
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "value", value, /*allow_empty=*/true));
  if (readonly != "true" && readonly != "false") {
    return action_text::BadArg(kAction, "readonly", readonly, "is not true or false");
  }
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "file", file));

  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content, action_text::ReadIfExists(host, file));
  TextLines text = TextLines::Split(content.value_or(""));
  std::erase_if(text.lines, [&](const std::string& line) { return MentionsVariable(line, name); });
  text.Insert(text.lines.size(), name + "=" + ShellWord(value));
  if (readonly == "true") text.Insert(text.lines.size(), "readonly " + name);
  text.Insert(text.lines.size(), "export " + name);
  Plan plan;
  if (text.Join() != content) plan.files.push_back(action_text::ContentEdit(file, text.Join()));
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeProfileSet() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Sets (and exports) a shell variable for login shells.",
       {{"name", true, false, "the variable, e.g. TMOUT"},
        {"value", true, false, "its value"},
        {"readonly", false, false, "\"true\" (default) or \"false\""},
        {"file", false, false, "default /etc/profile.d/90-vigil-<name in lower case>.sh"}}},
      &PlanProfileSet);
}

}  // namespace vigil::enforcers
