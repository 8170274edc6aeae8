// file.mode: takes away permission bits beyond `mode` (a stricter file is left as it is) and
// sets the owner and group when given.
#include <string>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kAction = "file.mode";

// The numeric id (third field) of `name` in the host's /etc/passwd or /etc/group.
std::optional<unsigned long> LookUpId(const Host& host, std::string_view file,
                                      std::string_view name) {
  Result<std::string> text = host.ReadFile(file);
  if (!text.ok()) return std::nullopt;
  auto record = action_text::FindColonRecord(*text, name);
  if (!record || record->size() < 3 || (*record)[2].empty() ||
      (*record)[2].find_first_not_of("0123456789") != std::string::npos ||
      (*record)[2].size() > 9) {
    return std::nullopt;
  }
  return std::stoul((*record)[2]);
}

Result<Plan> PlanFileMode(const Host& host, const packs::Params& args) {
  const std::string path = action_text::Arg(args, "path");
  const std::string mode_text = action_text::Arg(args, "mode");
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "path", path));
  if (mode_text.empty() || mode_text.size() > 5 ||
      mode_text.find_first_not_of("01234567") != std::string::npos ||
      std::stoul(mode_text, nullptr, 8) > 07777) {
    return action_text::BadArg(kAction, "mode", mode_text, "is not an octal mode such as 0640");
  }
  const mode_t allowed = static_cast<mode_t>(std::stoul(mode_text, nullptr, 8));
  std::optional<unsigned long> uid, gid;
  if (action_text::HasArg(args, "owner")) {
    const std::string owner = action_text::Arg(args, "owner");
    VIGIL_RETURN_IF_ERROR(action_text::CheckKey(kAction, "owner", owner));
    uid = LookUpId(host, "/etc/passwd", owner);
    if (!uid) return action_text::BadArg(kAction, "owner", owner, "is not a user in /etc/passwd");
  }
  if (action_text::HasArg(args, "group")) {
    const std::string group = action_text::Arg(args, "group");
    VIGIL_RETURN_IF_ERROR(action_text::CheckKey(kAction, "group", group));
    gid = LookUpId(host, "/etc/group", group);
    if (!gid) return action_text::BadArg(kAction, "group", group, "is not a group in /etc/group");
  }

  Result<struct stat> st = host.Stat(path);
  if (!st.ok() && st.status().code() == StatusCode::kNotFound) {
    return Status::NotFound(std::string(kAction) + ": path '" + path + "' does not exist");
  }
  VIGIL_RETURN_IF_ERROR(st);
  VIGIL_ASSIGN_OR_RETURN(std::string canonical, host.Canonical(path));
  FileEdit edit;
  edit.path = canonical;
  const mode_t current = st->st_mode & 07777;
  if ((current & ~allowed) != 0) edit.mode = current & allowed;
  if (uid && st->st_uid != *uid) edit.owner = action_text::Arg(args, "owner");
  if (gid && st->st_gid != *gid) edit.group = action_text::Arg(args, "group");
  Plan plan;
  if (edit.mode || edit.owner || edit.group) plan.files.push_back(std::move(edit));
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeFileMode() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Removes permission bits beyond a mode and sets a file's owner and group.",
       {{"path", true, false, "the file or folder"},
        {"mode", true, false, "octal, the most permissive mode allowed, e.g. 0640"},
        {"owner", false, false, "user name"},
        {"group", false, false, "group name"}}},
      &PlanFileMode);
}

}  // namespace vigil::enforcers
