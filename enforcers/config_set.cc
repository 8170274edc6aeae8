// config.set: makes `key` take `value` in a key/value file (pwquality.conf, login.defs,
// journald.conf's [Journal], /etc/default/useradd, ...).
//
// Every active line of the key (in the section, when one is given) gets the value, each keeping
// its own separator, so the result holds whether the program reads the first or the last line.
// A key set nowhere gets a new line after its commented-out example ("# minlen = 8") when the
// file has one, else at the end of the section or file. Comments start with '#' or ';'.
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;

constexpr std::string_view kAction = "config.set";

struct KeyValueLine {
  std::string key;
  std::string separator;  // between key and value: " = ", "=", "\t", ...
  std::string value;
  size_t key_start = 0;
};

// Splits "  key = value" at the first blank or '='; nullopt for a line without a key.
std::optional<KeyValueLine> ParseKeyValue(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && action_text::IsBlank(line[i])) ++i;
  KeyValueLine out;
  out.key_start = i;
  while (i < line.size() && !action_text::IsBlank(line[i]) && line[i] != '=') ++i;
  out.key = std::string(line.substr(out.key_start, i - out.key_start));
  if (out.key.empty()) return std::nullopt;
  const size_t sep_start = i;
  bool equals = false;
  while (i < line.size() && (action_text::IsBlank(line[i]) || (line[i] == '=' && !equals))) {
    if (line[i] == '=') equals = true;
    ++i;
  }
  out.separator = std::string(line.substr(sep_start, i - sep_start));
  out.value = std::string(action_text::Trim(line.substr(i)));
  return out;
}

bool IsComment(std::string_view trimmed) {
  return !trimmed.empty() && (trimmed.front() == '#' || trimmed.front() == ';');
}

// The section a header line opens ("[Journal]" -> "Journal"), or nullopt.
std::optional<std::string> SectionHeader(std::string_view trimmed) {
  if (trimmed.size() < 2 || trimmed.front() != '[' || trimmed.back() != ']') return std::nullopt;
  return std::string(action_text::Trim(trimmed.substr(1, trimmed.size() - 2)));
}

Result<Plan> PlanConfigSet(const Host& host, const packs::Params& args) {
  const std::string path = action_text::Arg(args, "path");
  const std::string key = action_text::Arg(args, "key");
  const std::string value = action_text::Arg(args, "value");
  const std::string section = action_text::Arg(args, "section");
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "path", path));
  VIGIL_RETURN_IF_ERROR(action_text::CheckKey(kAction, "key", key));
  if (key.front() == '[' || key.front() == ';') {
    return action_text::BadArg(kAction, "key", key, "is not a key");
  }
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "value", value, /*allow_empty=*/true));
  if (action_text::Trim(value) != value) {
    return action_text::BadArg(kAction, "value", value, "has leading or trailing blanks");
  }
  if (action_text::HasArg(args, "separator")) {
    const std::string separator = action_text::Arg(args, "separator");
    VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "separator", separator));
    if (separator.find_first_not_of(" \t=:") != std::string::npos) {
      return action_text::BadArg(kAction, "separator", separator,
                                 "may hold only blanks, '=' or ':'");
    }
  }
  if (action_text::HasArg(args, "section")) {
    VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "section", section));
    if (section.find_first_of("[]") != std::string::npos) {
      return action_text::BadArg(kAction, "section", section, "must not contain '[' or ']'");
    }
  }

  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content, action_text::ReadIfExists(host, path));
  TextLines text = TextLines::Split(content.value_or(""));

  std::string current;  // the section of the line being read
  bool changed = false, set = false, section_found = section.empty();
  std::string file_separator;
  size_t example = std::string::npos;      // the commented-out example line of the key
  size_t section_end = text.lines.size();  // after the last non-blank line of the section
  for (size_t i = 0; i < text.lines.size(); ++i) {
    std::string& line = text.lines[i];
    const std::string_view trimmed = action_text::Trim(line);
    if (auto header = SectionHeader(trimmed)) {
      current = *header;
      if (!section.empty() && current == section) {
        section_found = true;
        section_end = i + 1;
      }
      continue;
    }
    const bool in_scope = section.empty() || current == section;
    if (in_scope && !trimmed.empty()) section_end = i + 1;
    if (trimmed.empty()) continue;
    if (IsComment(trimmed)) {
      auto example_line = ParseKeyValue(trimmed.substr(1));
      if (in_scope && example_line && example_line->key == key) example = i;
      continue;
    }
    auto kv = ParseKeyValue(line);
    if (!kv) continue;
    if (file_separator.empty()) file_separator = kv->separator;
    if (!in_scope || kv->key != key) continue;
    set = true;
    if (kv->value == value) continue;
    line =
        line.substr(0, kv->key_start) + key + (kv->separator.empty() ? " " : kv->separator) + value;
    changed = true;
  }
  if (!set) {
    std::string separator = action_text::Arg(args, "separator", file_separator);
    if (separator.empty()) separator = " = ";
    const std::string new_line = key + separator + value;
    if (!section_found) {
      if (!text.lines.empty() && !action_text::Trim(text.lines.back()).empty()) {
        text.Insert(text.lines.size(), "");
      }
      text.Insert(text.lines.size(), "[" + section + "]");
      text.Insert(text.lines.size(), new_line);
    } else if (example != std::string::npos) {
      text.Insert(example + 1, new_line);
    } else {
      text.Insert(section.empty() ? text.lines.size() : section_end, new_line);
    }
    changed = true;
  }
  Plan plan;
  if (changed) plan.files.push_back(action_text::ContentEdit(path, text.Join()));
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeConfigSet() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Sets a key to a value in a key/value or INI configuration file.",
       {{"path", true, false, "the file, e.g. /etc/security/pwquality.conf"},
        {"key", true, false, "the key, e.g. minlen"},
        {"value", true, false, "the value"},
        {"separator", false, false,
         "between key and value on a new line: as the file's other lines, else \" = \""},
        {"section", false, false, "the INI section, e.g. Journal"}}},
      &PlanConfigSet);
}

}  // namespace vigil::enforcers
