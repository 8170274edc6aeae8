// account.shell: gives an account a login shell in /etc/passwd, by default /usr/sbin/nologin so
// that it cannot log in interactively. Refuses root.
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/files_text.h"

namespace vigil::enforcers {
namespace {

using files_text::TextLines;

constexpr std::string_view kAction = "account.shell";
constexpr std::string_view kPasswd = "/etc/passwd";

Result<Plan> PlanAccountShell(const Host& host, const packs::Params& args) {
  const std::string user = files_text::Arg(args, "user");
  const std::string shell = files_text::Arg(args, "shell", "/usr/sbin/nologin");
  VIGIL_RETURN_IF_ERROR(files_text::CheckKey(kAction, "user", user));
  if (user.find(':') != std::string::npos) {
    return files_text::BadArg(kAction, "user", user, "is not a user name");
  }
  VIGIL_RETURN_IF_ERROR(files_text::CheckAbsolutePath(kAction, "shell", shell));
  if (shell.find(':') != std::string::npos) {
    return files_text::BadArg(kAction, "shell", shell, "must not contain ':'");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string passwd, host.ReadFile(kPasswd));
  TextLines text = TextLines::Split(passwd);
  Plan plan;
  for (std::string& line : text.lines) {
    if (!line.starts_with(user + ":")) continue;
    auto fields = files_text::FindColonRecord(line, user);
    if (!fields || fields->size() != 7) {
      return Status::InvalidArgument(std::string(kPasswd) + ": malformed line for " + user);
    }
    if (user == "root" || (*fields)[2] == "0") {
      plan.refused = "changing the shell of " + user +
                     " (uid 0) could leave no way to administer "
                     "the host";
      return plan;
    }
    if ((*fields)[6] == shell) return plan;
    if (!host.Exists(shell)) plan.notes.push_back(shell + " does not exist on this host");
    (*fields)[6] = shell;
    line = files_text::JoinColonRecord(*fields);
    plan.files.push_back(files_text::ContentEdit(std::string(kPasswd), text.Join()));
    return plan;
  }
  return Status::NotFound(std::string(kAction) + ": user '" + user + "' is not in " +
                          std::string(kPasswd));
}

}  // namespace

std::unique_ptr<Action> MakeAccountShell() {
  return files_text::MakeFunctionAction(
      {std::string(kAction),
       "Sets an account's login shell (default /usr/sbin/nologin).",
       {{"user", true, false, "the account"},
        {"shell", false, false, "the shell; default /usr/sbin/nologin"}}},
      &PlanAccountShell);
}

}  // namespace vigil::enforcers
