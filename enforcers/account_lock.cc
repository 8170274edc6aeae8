// account.lock: locks an account's password as `usermod -L` does: a '!' in front of the hash in
// /etc/shadow. Other ways in (SSH keys) are not affected. Refuses root.
#include <string>
#include <vector>

#include "enforcers/file_actions.h"
#include "enforcers/internal/files_text.h"

namespace vigil::enforcers {
namespace {

using files_text::TextLines;

constexpr std::string_view kAction = "account.lock";
constexpr std::string_view kShadow = "/etc/shadow";

Result<Plan> PlanAccountLock(const Host& host, const packs::Params& args) {
  const std::string user = files_text::Arg(args, "user");
  VIGIL_RETURN_IF_ERROR(files_text::CheckKey(kAction, "user", user));
  if (user.find(':') != std::string::npos) {
    return files_text::BadArg(kAction, "user", user, "is not a user name");
  }
  Plan plan;
  Result<std::string> passwd = host.ReadFile("/etc/passwd");
  std::optional<std::vector<std::string>> account;
  if (passwd.ok()) account = files_text::FindColonRecord(*passwd, user);
  if (user == "root" || (account && account->size() > 2 && (*account)[2] == "0")) {
    plan.refused = "locking " + user + " (uid 0) could leave no way to administer the host";
    return plan;
  }
  VIGIL_ASSIGN_OR_RETURN(std::string shadow, host.ReadFile(kShadow));
  TextLines text = TextLines::Split(shadow);
  for (std::string& line : text.lines) {
    if (!line.starts_with(user + ":")) continue;
    auto fields = files_text::FindColonRecord(line, user);
    if (!fields || fields->size() < 2) {
      return Status::InvalidArgument(std::string(kShadow) + ": malformed line for " + user);
    }
    if ((*fields)[1].starts_with('!')) return plan;
    (*fields)[1] = "!" + (*fields)[1];
    line = files_text::JoinColonRecord(*fields);
    plan.files.push_back(files_text::ContentEdit(std::string(kShadow), text.Join()));
    return plan;
  }
  return Status::NotFound(std::string(kAction) + ": user '" + user + "' is not in " +
                          std::string(kShadow));
}

}  // namespace

std::unique_ptr<Action> MakeAccountLock() {
  return files_text::MakeFunctionAction({std::string(kAction),
                                         "Locks an account's password in /etc/shadow.",
                                         {{"user", true, false, "the account"}}},
                                        &PlanAccountLock);
}

}  // namespace vigil::enforcers
