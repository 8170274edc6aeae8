// banner.set: makes a login banner file (/etc/issue, /etc/issue.net, /etc/motd) hold `text`.
#include <string>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kAction = "banner.set";

Result<Plan> PlanBannerSet(const Host& host, const packs::Params& args) {
  const std::string path = action_text::Arg(args, "path");
  std::string text = action_text::Arg(args, "text");
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "path", path));
  if (action_text::Trim(text).empty())
    return action_text::BadArg(kAction, "text", text, "is empty");
  if (text.find('\0') != std::string::npos) {
    return action_text::BadArg(kAction, "text", text, "contains a NUL byte");
  }
  if (text.back() != '\n') text += '\n';
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> content, action_text::ReadIfExists(host, path));
  Plan plan;
  if (content != text) plan.files.push_back(action_text::ContentEdit(path, text));
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeBannerSet() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Makes a login banner file hold the given text.",
       {{"path", true, false, "the banner file, e.g. /etc/issue.net"},
        {"text", true, false, "the banner; a final newline is added when missing"}}},
      &PlanBannerSet);
}

}  // namespace vigil::enforcers
