// modprobe.block: stops a kernel module from loading: /etc/modprobe.d/vigil-block.conf gets
// `install MODULE /bin/false` (explicit loads fail) and `blacklist MODULE` (no autoloading by
// alias). A module that is loaded now stays loaded until it is unloaded or the host reboots.
#include <cctype>
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

using action_text::TextLines;

constexpr std::string_view kAction = "modprobe.block";
constexpr std::string_view kFile = "/etc/modprobe.d/vigil-block.conf";

// modprobe treats '-' and '_' in module names alike.
std::string ModuleKey(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

Result<Plan> PlanModprobeBlock(const Host& host, const packs::Params& args) {
  const std::string module = action_text::Arg(args, "module");
  VIGIL_RETURN_IF_ERROR(action_text::CheckOneLine(kAction, "module", module));
  for (char c : module) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return action_text::BadArg(kAction, "module", module, "is not a kernel module name");
    }
  }
  const std::string key = ModuleKey(module);
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content,
                         action_text::ReadIfExists(host, kFile));
  TextLines text = TextLines::Split(content.value_or(""));
  bool install = false, blacklist = false, changed = false;
  const std::string install_line = "install " + module + " /bin/false";
  for (std::string& line : text.lines) {
    std::vector<std::string_view> words = action_text::SplitBlanks(line);
    if (words.size() < 2 || ModuleKey(words[1]) != key) continue;
    if (words[0] == "blacklist") blacklist = true;
    if (words[0] != "install") continue;
    if (!install &&
        action_text::NormalizeBlanks(line) == "install " + std::string(words[1]) + " /bin/false") {
      install = true;
      continue;
    }
    line = install ? "# vigil: " + line : install_line;  // another command would run instead
    install = true;
    changed = true;
  }
  if (!install) text.Insert(text.lines.size(), install_line);
  if (!blacklist) text.Insert(text.lines.size(), "blacklist " + module);
  Plan plan;
  if (!install || !blacklist || changed) {
    plan.files.push_back(action_text::ContentEdit(std::string(kFile), text.Join()));
  }
  if (auto modules = host.ReadFile("/proc/modules"); modules.ok() && !plan.files.empty()) {
    for (const std::string& line : TextLines::Split(*modules).lines) {
      if (ModuleKey(line.substr(0, line.find(' '))) == key) {
        plan.notes.push_back(module +
                             " is loaded now and stays loaded until it is unloaded "
                             "(modprobe -r " +
                             module + ") or the host reboots");
      }
    }
  }
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeModprobeBlock() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Stops a kernel module from being loaded.",
       {{"module", true, false, "the module, e.g. usb-storage"}}},
      &PlanModprobeBlock);
}

}  // namespace vigil::enforcers
