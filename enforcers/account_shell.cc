// account.shell: gives an account a login shell in /etc/passwd, by default /usr/sbin/nologin so
// that it cannot log in interactively. Refuses root.
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kAction = "account.shell";
constexpr std::string_view kPasswd = "/etc/passwd";

Result<Plan> PlanAccountShell(const Host& host, const packs::Params& args) {
  const std::string user = action_text::Arg(args, "user");
  const std::string shell = action_text::Arg(args, "shell", "/usr/sbin/nologin");
  VIGIL_RETURN_IF_ERROR(action_text::CheckUserName(kAction, "user", user));
  VIGIL_RETURN_IF_ERROR(action_text::CheckAbsolutePath(kAction, "shell", shell));
  if (shell.find(':') != std::string::npos) {
    return action_text::BadArg(kAction, "shell", shell, "must not contain ':'");
  }
  VIGIL_ASSIGN_OR_RETURN(action_text::AccountRecord passwd,
                         action_text::FindAccountRecord(host, kAction, kPasswd, user));
  std::vector<std::string>& fields = passwd.fields;
  if (fields.size() != 7) {
    return Status::InvalidArgument(std::string(kPasswd) + ": malformed line for " + user);
  }
  Plan plan;
  if (user == "root" || fields[2] == "0") {
    plan.refused = "changing the shell of " + user +
                   " (uid 0) could leave no way to administer "
                   "the host";
    return plan;
  }
  if (fields[6] == shell) return plan;
  if (!host.Exists(shell)) plan.notes.push_back(shell + " does not exist on this host");
  fields[6] = shell;
  plan.files.push_back(passwd.Edit());
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeAccountShell() {
  return action_text::MakeFunctionAction(
      {std::string(kAction),
       "Sets an account's login shell (default /usr/sbin/nologin).",
       {{"user", true, false, "the account"},
        {"shell", false, false, "the shell; default /usr/sbin/nologin"}}},
      &PlanAccountShell);
}

}  // namespace vigil::enforcers
