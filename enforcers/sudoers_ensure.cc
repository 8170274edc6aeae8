// sudoers.ensure: makes a sudoers file hold a line and/or no active entry matching a regular
// expression (IEC 62443-3-3 SR 1.3/2.1: least privilege, e.g. no NOPASSWD grants). Matching
// entries are commented out with "# vigil: " rather than deleted, so the change is visible and
// can be undone by hand. `visudo -c -f` validates the result before sudo ever reads it.
#include <regex>
#include <string>
#include <vector>

#include "enforcers/internal/action_text.h"
#include "enforcers/system_actions.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kName = "sudoers.ensure";
constexpr std::string_view kDefaultFile = "/etc/sudoers.d/50-vigil";
constexpr std::string_view kCommentPrefix = "# vigil: ";

// '#' starts a comment unless it begins an include directive or a numeric user id (#1001).
bool IsComment(std::string_view line) {
  std::string_view t = action_text::Trim(line);
  if (t.empty()) return true;
  if (t[0] != '#') return false;
  if (t.starts_with("#include")) return false;
  return !(t.size() > 1 && t[1] >= '0' && t[1] <= '9');
}

// sudo skips files of an include directory whose names hold '.' or end in '~'.
bool SkippedBySudo(std::string_view path) {
  std::string name = BaseName(path);
  return ParentPath(path) == "/etc/sudoers.d" &&
         (name.find('.') != std::string::npos || name.ends_with('~'));
}

class SudoersEnsure final : public Action {
 public:
  SudoersEnsure() {
    spec_.name = std::string(kName);
    spec_.description =
        "Makes a sudoers file hold a line and comment out the entries matching a regular "
        "expression, checked with visudo.";
    spec_.params = {
        {"file", false, false, "the sudoers file (default /etc/sudoers.d/50-vigil)"},
        {"line", false, false, "an entry that must be present"},
        {"remove", false, false,
         "a regular expression (ECMAScript: \\s, \\b, \\d): matching entries are commented out"}};
  }

  const packs::ActionSpec& spec() const override { return spec_; }

  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    VIGIL_ASSIGN_OR_RETURN(std::string file,
                           action_text::OneParam(kName, args, "file", kDefaultFile));
    VIGIL_RETURN_IF_ERROR(action_text::CheckHostPath(kName, "file", file));
    VIGIL_ASSIGN_OR_RETURN(std::string raw_line, action_text::OneParam(kName, args, "line"));
    VIGIL_ASSIGN_OR_RETURN(std::string remove, action_text::OneParam(kName, args, "remove"));
    const std::string line(action_text::Trim(raw_line));
    if (line.empty() && remove.empty()) {
      return Status::InvalidArgument(std::string(kName) + ": give line, remove or both");
    }
    if (!line.empty() && IsComment(line)) {
      return Status::InvalidArgument(std::string(kName) + ": line '" + line +
                                     "' is a comment, not a sudoers entry");
    }
    if (!line.empty() && line.back() == '\\') {
      return Status::InvalidArgument(std::string(kName) + ": line '" + line +
                                     "' ends in a continuation '\\'");
    }
    if (!line.empty() && SkippedBySudo(file)) {
      return Status::InvalidArgument(std::string(kName) + ": file '" + file +
                                     "' would be skipped by sudo (a name in /etc/sudoers.d "
                                     "must hold no '.' and not end in '~')");
    }
    std::optional<std::regex> pattern;
    if (!remove.empty()) {
      try {
        pattern.emplace(remove, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Status::InvalidArgument(std::string(kName) + ": remove '" + remove +
                                       "' is not a regular expression: " + e.what());
      }
      if (!line.empty() && std::regex_search(line, *pattern)) {
        return Status::InvalidArgument(std::string(kName) + ": remove '" + remove +
                                       "' matches line '" + line + "' itself");
      }
    }

    auto current = action_text::ReadIfExists(host, file);
    if (!current.ok()) return current.status().WithContext(std::string(kName));
    const bool exists = current->has_value();
    action_text::TextLines lines = action_text::TextLines::Split(exists ? **current : "");

    bool changed = false;
    bool present = false;
    const std::string wanted = action_text::CollapseSpaces(line);
    // Entries continue over lines ending in '\'; a matching entry is commented out whole.
    for (size_t i = 0; i < lines.lines.size();) {
      size_t end = i;
      while (end + 1 < lines.lines.size() && !lines.lines[end].empty() &&
             lines.lines[end].back() == '\\') {
        ++end;
      }
      if (!IsComment(lines.lines[i])) {
        std::string entry;
        for (size_t j = i; j <= end; ++j) {
          std::string_view part = lines.lines[j];
          if (j < end) part.remove_suffix(1);
          entry += std::string(part) + (j < end ? " " : "");
        }
        if (pattern && std::regex_search(entry, *pattern)) {
          for (size_t j = i; j <= end; ++j)
            lines.lines[j] = std::string(kCommentPrefix) + lines.lines[j];
          changed = true;
        } else if (!wanted.empty() && action_text::CollapseSpaces(entry) == wanted) {
          present = true;
        }
      }
      i = end + 1;
    }
    Plan plan;
    if (!wanted.empty() && !present) {
      if (!exists) lines.lines.push_back("# Written by vigil (sudoers.ensure).");
      lines.lines.push_back(line);
      lines.trailing_newline = true;
      changed = true;
    }
    if (!changed) return plan;
    plan.files.push_back(action_text::ContentEdit(file, lines.Join(), 0440));
    plan.commands.push_back(
        {PlannedCommand::When::kValidate, {"visudo", "-c", "-f", "{{file:" + file + "}}"}});
    return plan;
  }

 private:
  packs::ActionSpec spec_;
};

}  // namespace

std::unique_ptr<Action> MakeSudoersEnsure() { return std::make_unique<SudoersEnsure>(); }

}  // namespace vigil::enforcers
