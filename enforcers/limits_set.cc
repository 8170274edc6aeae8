// limits.set: makes pam_limits set `domain type item value`.
//
// pam_limits reads /etc/security/limits.conf, then /etc/security/limits.d/*.conf in name order,
// a later line of the same domain, type and item winning; so every such line in those files
// gets the value, and when none exists `file` gets a new line.
#include <set>
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;

constexpr std::string_view kAction = "limits.set";
constexpr std::string_view kDefaultFile = "/etc/security/limits.d/90-vigil.conf";

bool KnownItem(std::string_view item) {
  static const std::set<std::string_view> kItems = {
      "core",  "data",       "fsize",    "memlock",   "nofile",       "rss",        "stack",
      "cpu",   "nproc",      "as",       "maxlogins", "maxsyslogins", "nonewprivs", "priority",
      "locks", "sigpending", "msgqueue", "nice",      "rtprio"};
  return kItems.contains(item);
}

Result<Plan> PlanLimitsSet(const Host& host, const packs::Params& args) {
  const std::string domain = action_text::Arg(args, "domain");
  const std::string type = action_text::Arg(args, "type");
  const std::string item = action_text::Arg(args, "item");
  const std::string value = action_text::Arg(args, "value");
  const std::string file = action_text::Arg(args, "file", kDefaultFile);
  VIGIL_RETURN_IF_ERROR(action_text::CheckKey(kAction, "domain", domain));
  if (type != "soft" && type != "hard" && type != "-") {
    return action_text::BadArg(kAction, "type", type, "is not soft, hard or -");
  }
  if (!KnownItem(item)) {
    return action_text::BadArg(kAction, "item", item, "is not a pam_limits item");
  }
  VIGIL_RETURN_IF_ERROR(action_text::CheckKey(kAction, "value", value));
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "file", file));

  std::vector<std::string> paths = {"/etc/security/limits.conf"};
  if (auto found = host.Glob("/etc/security/limits.d/*.conf"); found.ok()) {
    paths.insert(paths.end(), found->begin(), found->end());
  }
  paths.push_back(file);
  Plan plan;
  std::set<std::string> seen;
  bool present = false;
  for (const std::string& path : paths) {
    if (!seen.insert(path).second) continue;
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content,
                           action_text::ReadIfExists(host, path));
    if (!content) continue;
    TextLines text = TextLines::Split(*content);
    bool changed = false;
    for (std::string& line : text.lines) {
      std::string_view code = std::string_view(line).substr(0, line.find('#'));
      std::vector<std::string_view> words = action_text::SplitBlanks(code);
      if (words.size() != 4 || words[0] != domain || words[1] != type || words[2] != item) continue;
      present = true;
      if (words[3] == value) continue;
      const size_t at = static_cast<size_t>(words[3].data() - line.data());
      line = line.substr(0, at) + value + line.substr(at + words[3].size());
      changed = true;
    }
    if (changed) plan.files.push_back(action_text::ContentEdit(path, text.Join()));
  }
  if (!present) {  // then no file was edited
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content,
                           action_text::ReadIfExists(host, file));
    TextLines text = TextLines::Split(content.value_or(""));
    text.Insert(text.lines.size(), domain + " " + type + " " + item + " " + value);
    plan.files.push_back(action_text::ContentEdit(file, text.Join()));
  }
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeLimitsSet() {
  return action_text::MakeFunctionAction({std::string(kAction),
                                          "Sets a resource limit that pam_limits applies at login.",
                                          {{"domain", true, false, "user, @group or *"},
                                           {"type", true, false, "soft, hard or -"},
                                           {"item", true, false, "e.g. core, nproc, maxlogins"},
                                           {"value", true, false, "the limit, e.g. 0 or unlimited"},
                                           {"file", false, false,
                                            "where a new line goes; default "
                                            "/etc/security/limits.d/90-vigil.conf"}}},
                                         &PlanLimitsSet);
}

}  // namespace vigil::enforcers
