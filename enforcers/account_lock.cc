// account.lock: locks an account's password as `usermod -L` does: a '!' in front of the hash in
// /etc/shadow. Other ways in (SSH keys) are not affected. Refuses root.
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/action_text.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kAction = "account.lock";
constexpr std::string_view kShadow = "/etc/shadow";

Result<Plan> PlanAccountLock(const Host& host, const packs::Params& args) {
  const std::string user = action_text::Arg(args, "user");
  VIGIL_RETURN_IF_ERROR(action_text::CheckUserName(kAction, "user", user));
  Plan plan;
  Result<std::string> passwd = host.ReadFile("/etc/passwd");
  std::optional<std::vector<std::string>> account;
  if (passwd.ok()) account = action_text::FindColonRecord(*passwd, user);
  if (user == "root" || (account && account->size() > 2 && (*account)[2] == "0")) {
    plan.refused = "locking " + user + " (uid 0) could leave no way to administer the host";
    return plan;
  }
  VIGIL_ASSIGN_OR_RETURN(action_text::AccountRecord shadow,
                         action_text::FindAccountRecord(host, kAction, kShadow, user));
  std::vector<std::string>& fields = shadow.fields;
  if (fields.size() < 2) {
    return Status::InvalidArgument(std::string(kShadow) + ": malformed line for " + user);
  }
  if (fields[1].starts_with('!')) return plan;
  fields[1] = "!" + fields[1];
  plan.files.push_back(shadow.Edit());
  return plan;
}

}  // namespace

std::unique_ptr<Action> MakeAccountLock() {
  return action_text::MakeFunctionAction({std::string(kAction),
                                          "Locks an account's password in /etc/shadow.",
                                          {{"user", true, false, "the account"}}},
                                         &PlanAccountLock);
}

}  // namespace vigil::enforcers
