// audit.rules: adds missing Linux audit rules to a rules file (IEC 62443-3-3 SR 2.8/2.9/6.1).
// A rule counts as present when any *.rules file of /etc/audit/rules.d (or the target file)
// holds it, spaces aside. Control settings (-e, -b, -f, -r, --backlog_wait_time) replace the
// same option in the target file, and an `-e` line always stays last, where augenrules and
// auditctl expect it: with `-e 2` the rules are locked until the next boot.
//
// Rules are syntax-checked here, without the kernel (auditctl has no dry run): options and
// their arguments, action/list pairs, permissions, field operators.
#include <charconv>
#include <set>
#include <string>
#include <vector>

#include "enforcers/internal/action_text.h"
#include "enforcers/system_actions.h"

namespace vigil::enforcers {
namespace {

constexpr std::string_view kName = "audit.rules";
constexpr std::string_view kDefaultFile = "/etc/audit/rules.d/50-vigil.rules";
constexpr std::string_view kRulesDir = "/etc/audit/rules.d";

bool IsNumber(std::string_view text) {
  unsigned long value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && err == std::errc() && end == text.data() + text.size();
}

bool IsWord(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool IsControl(std::string_view flag) {
  return flag == "-e" || flag == "-b" || flag == "-f" || flag == "-r" ||
         flag == "--backlog_wait_time";
}

// "" when `rule` is a rule auditctl accepts, else what is wrong with it.
std::string SyntaxError(const std::vector<std::string>& w) {
  if (w.empty()) return "is empty";
  const std::string& flag = w[0];
  auto need = [&](size_t i, std::string_view what) -> std::string {
    return i < w.size() ? "" : flag + " needs " + std::string(what);
  };
  if (flag == "-e" || flag == "-f") {
    if (w.size() != 2 || (w[1] != "0" && w[1] != "1" && w[1] != "2")) {
      return flag + " takes one value: 0, 1 or 2";
    }
    return "";
  }
  if (flag == "-b" || flag == "-r" || flag == "--backlog_wait_time") {
    if (w.size() != 2 || !IsNumber(w[1])) return flag + " takes one number";
    return "";
  }
  if (flag == "-D") {
    if (w.size() == 1 || (w.size() == 3 && w[1] == "-k")) return "";
    return "-D takes nothing but an optional -k KEY";
  }
  if (flag == "--loginuid-immutable" || flag == "--reset-lost" || flag == "-i" || flag == "-c") {
    return w.size() == 1 ? "" : flag + " takes no argument";
  }
  bool watch = flag == "-w" || flag == "-W";
  bool syscall = flag == "-a" || flag == "-A" || flag == "-d";
  if (!watch && !syscall) return "starts with '" + flag + "', not an auditctl rule option";
  if (std::string e = need(1, watch ? "a path" : "ACTION,LIST"); !e.empty()) return e;
  if (watch && w[1][0] != '/') return "watches '" + w[1] + "', not an absolute path";
  if (syscall) {
    size_t comma = w[1].find(',');
    std::string a = w[1].substr(0, comma);
    std::string b = comma == std::string::npos ? "" : w[1].substr(comma + 1);
    static const std::set<std::string> kActions = {"always", "never"};
    static const std::set<std::string> kLists = {"task",    "exit",       "user",
                                                 "exclude", "filesystem", "io_uring"};
    if (!((kActions.contains(a) && kLists.contains(b)) ||
          (kLists.contains(a) && kActions.contains(b)))) {
      return "has '" + w[1] +
             "' where ACTION,LIST (always|never with exit, task, user, "
             "exclude, filesystem or io_uring) belongs";
    }
  }
  for (size_t i = 2; i < w.size(); i += 2) {
    const std::string& option = w[i];
    if (i + 1 >= w.size()) return option + " needs a value";
    const std::string& value = w[i + 1];
    if (option == "-k") {
      if (value.size() > 256) return "has a key longer than 256 characters";
    } else if (option == "-p" && watch) {
      if (value.empty() || value.size() > 4 ||
          value.find_first_not_of("rwxa") != std::string::npos) {
        return "has permissions '" + value + "' (a combination of r, w, x and a)";
      }
    } else if (option == "-S" && syscall) {
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        if (!IsWord(value.substr(start, comma - start))) {
          return "has syscall list '" + value + "' (names or numbers, comma-separated)";
        }
        start = comma + 1;
      }
    } else if ((option == "-F" || option == "-C") && syscall) {
      size_t op = value.find_first_of("=!<>&");
      if (op == 0 || op == std::string::npos || !IsWord(value.substr(0, op))) {
        return "has field '" + value + "' (FIELD OP VALUE, e.g. auid>=1000)";
      }
      static const std::vector<std::string> kOps = {"!=", "<=", ">=", "&=", "=", "<", ">", "&"};
      bool known = false;
      for (const std::string& o : kOps) {
        if (value.compare(op, o.size(), o) == 0) {
          known = value.size() > op + o.size();
          break;
        }
      }
      if (!known) return "has field '" + value + "' without an operator and a value";
    } else {
      return "has option '" + option + "', which " + flag + " rules do not take";
    }
  }
  return "";
}

bool IsActive(std::string_view line) {
  std::string_view t = action_text::Trim(line);
  return !t.empty() && t[0] != '#';
}

class AuditRules final : public Action {
 public:
  AuditRules() {
    spec_.name = std::string(kName);
    spec_.description =
        "Adds missing audit rules to a rules file of /etc/audit/rules.d, keeping an -e line last, "
        "and loads them.";
    spec_.params = {
        {"rules", true, true, "auditctl rule lines, e.g. \"-w /etc/passwd -p wa -k identity\""},
        {"file", false, false, "the rules file (default /etc/audit/rules.d/50-vigil.rules)"}};
  }

  const packs::ActionSpec& spec() const override { return spec_; }

  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    VIGIL_ASSIGN_OR_RETURN(std::string file,
                           action_text::OneParam(kName, args, "file", kDefaultFile));
    VIGIL_RETURN_IF_ERROR(action_text::CheckHostPath(kName, "file", file));
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> raw,
                           action_text::ListParam(kName, args, "rules"));
    if (raw.empty()) return Status::InvalidArgument(std::string(kName) + ": rules is empty");
    std::vector<std::string> rules;
    for (const std::string& r : raw) {
      std::vector<std::string> words = action_text::Words(r);
      if (std::string error = SyntaxError(words); !error.empty()) {
        return Status::InvalidArgument(std::string(kName) + ": rule '" + r + "' " + error);
      }
      rules.push_back(action_text::CollapseSpaces(r));
    }

    auto current = action_text::ReadIfExists(host, file);
    if (!current.ok()) return current.status().WithContext(std::string(kName));
    const bool exists = current->has_value();
    action_text::TextLines lines = action_text::TextLines::Split(exists ? **current : "");

    // Rules already in force through the other files augenrules reads.
    std::set<std::string> elsewhere;
    const bool in_rules_dir = ParentPath(file) == kRulesDir;
    if (in_rules_dir) {
      auto others = host.Glob(std::string(kRulesDir) + "/*.rules");
      if (others.ok()) {
        for (const std::string& other : *others) {
          if (other == file) continue;
          auto text = host.ReadFile(other);
          if (!text.ok()) continue;
          for (const std::string& l : action_text::TextLines::Split(*text).lines) {
            if (IsActive(l)) elsewhere.insert(action_text::CollapseSpaces(l));
          }
        }
      }
    }

    bool changed = false;
    std::vector<std::string> enable;  // an -e rule to end the file with
    for (const std::string& rule : rules) {
      bool present = elsewhere.contains(rule);
      for (const std::string& l : lines.lines) {
        present = present || (IsActive(l) && action_text::CollapseSpaces(l) == rule);
      }
      if (present) continue;
      const std::string flag = action_text::Words(rule)[0];
      if (flag == "-e") {
        // One -e, last: an -e line that already ends the file takes the new value in place;
        // any other is retired and the new one appended.
        std::vector<size_t> at;
        size_t last_active = lines.lines.size();
        for (size_t i = 0; i < lines.lines.size(); ++i) {
          if (!IsActive(lines.lines[i])) continue;
          last_active = i;
          if (action_text::Words(lines.lines[i])[0] == "-e") at.push_back(i);
        }
        if (at.size() == 1 && at[0] == last_active) {
          lines.lines[at[0]] = rule;
        } else {
          for (size_t i : at) lines.lines[i] = "# vigil: " + lines.lines[i];
          enable = {rule};
        }
        changed = true;
        continue;
      }
      if (IsControl(flag)) {
        // A setting: the first line of the same option takes the new value; repeats retire.
        bool replaced = false;
        for (std::string& l : lines.lines) {
          if (!IsActive(l) || action_text::Words(l)[0] != flag) continue;
          l = replaced ? "# vigil: " + l : rule;
          replaced = true;
        }
        if (replaced) {
          changed = true;
          continue;
        }
      }
      // Before the file's -e line, which must stay last.
      size_t at = lines.lines.size();
      for (size_t i = 0; i < lines.lines.size(); ++i) {
        if (IsActive(lines.lines[i]) && action_text::Words(lines.lines[i])[0] == "-e") {
          at = i;
          break;
        }
      }
      if (!exists && lines.lines.empty()) {
        lines.lines.push_back("# Written by vigil (audit.rules).");
        at = 1;
      }
      lines.lines.insert(lines.lines.begin() + static_cast<std::ptrdiff_t>(at), rule);
      changed = true;
    }
    Plan plan;
    if (!changed) return plan;
    if (!enable.empty()) {
      if (!exists && lines.lines.empty())
        lines.lines.push_back("# Written by vigil (audit.rules).");
      lines.lines.push_back(enable.front());
    }
    lines.trailing_newline = true;
    plan.files.push_back(action_text::ContentEdit(file, lines.Join(), 0640));
    if (in_rules_dir) {
      plan.commands.push_back({PlannedCommand::When::kApply, {"augenrules", "--load"}});
    } else {
      plan.commands.push_back({PlannedCommand::When::kApply, {"auditctl", "-R", file}});
    }
    if (host.is_machine_root()) {
      auto status = host.Run({"auditctl", "-s"});
      if (status.ok() && status->out.find("enabled 2") != std::string::npos) {
        plan.notes.push_back(
            "the kernel's audit rules are locked (-e 2): the new rules load at the next boot");
      }
    }
    return plan;
  }

 private:
  packs::ActionSpec spec_;
};

}  // namespace

std::unique_ptr<Action> MakeAuditRules() { return std::make_unique<AuditRules>(); }

}  // namespace vigil::enforcers
