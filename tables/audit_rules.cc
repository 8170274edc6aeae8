// audit_rules: the Linux audit rules, from the kernel (`auditctl -l`, `auditctl -s`) or else
// from the files the audit service loads, with the file and line each rule comes from.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::ReadOptionalFile;
using internal::SplitFields;
using internal::SplitLines;
using internal::SplitWhitespace;
using internal::Trim;

// Column positions, in the order of the column list below.
enum AuditRulesColumn : int {
  kPosition,
  kRule,
  kType,
  kFlag,
  kValue,
  kAction,
  kList,
  kKey,
  kPath,
  kPermissions,
  kSyscalls,
  kFields,
  kFile,
  kLine,
  kSource,
  kColumnCount
};

Schema AuditRulesSchema() {
  return Schema{
      "audit_rules",
      "Linux audit rules in the order they are loaded, one row per rule or control setting. "
      "On the machine itself the kernel's rules (`auditctl -l`) and settings (`auditctl -s`, "
      "as -b, -f, -r, --backlog_wait_time and -e rows) are read; under another root, or when "
      "auditctl is missing or fails (a warning says why), the files: when "
      "/etc/audit/rules.d holds *.rules files, their concatenation as augenrules builds it "
      "(files in `ls -v` order; the first -D, the last -b and -f first, the last -e at the "
      "end), else /etc/audit/audit.rules as it is. Lines auditctl would reject are reported "
      "as warnings.",
      {
          {"position", ColumnType::kInteger, "Load order (from 1)"},
          {"rule", ColumnType::kText, "The rule as written (or as auditctl lists it), trimmed"},
          {"type", ColumnType::kText,
           "watch (-w, -W), syscall (-a, -A, -d: syscall, task, user, exclude and filesystem "
           "lists) or control (-D, -b, -f, -e, -r, --backlog_wait_time and the other settings)"},
          {"flag", ColumnType::kText, "The rule's leading option as written: -w, -a, -e, ..."},
          {"value", ColumnType::kText,
           "Argument of a control option ('2' for -e 2); NULL for rules and for -D"},
          {"action", ColumnType::kText,
           "always or never, from -a/-A/-d; NULL for watches and "
           "control rows"},
          {"list", ColumnType::kText,
           "exit, task, user, exclude, filesystem or io_uring, from -a/-A/-d; NULL otherwise"},
          {"key", ColumnType::kText, "The -k and -F key= values, joined by ','; NULL without"},
          {"path", ColumnType::kText,
           "Watched path: -w/-W, or -F path= / -F dir= of a syscall "
           "rule; NULL without"},
          {"permissions", ColumnType::kText,
           "-p or -F perm= (a combination of r, w, x, a); NULL "
           "without"},
          {"syscalls", ColumnType::kText, "The -S values joined by ','; NULL without"},
          {"fields", ColumnType::kText, "The -F and -C fields joined by ' '; NULL without"},
          {"file", ColumnType::kText, "The rules file the rule comes from; NULL for the kernel"},
          {"line", ColumnType::kInteger, "Line number (from 1) in file; NULL for the kernel"},
          {"source", ColumnType::kText,
           "'kernel', 'augenrules' (/etc/audit/rules.d) or 'audit.rules'"},
      }};
}

constexpr std::string_view kRulesDir = "/etc/audit/rules.d";
constexpr std::string_view kRulesFile = "/etc/audit/audit.rules";
constexpr size_t kMaxFileBytes = 4u << 20;

// Options taking an argument (`-k key`, `-kkey`); the others stand alone.
bool TakesArgument(std::string_view option) {
  static constexpr std::string_view kWithArgument[] = {
      "-a",      "-A", "-d", "-b", "-e", "-f", "-r", "-F", "-C",
      "-k",      "-p", "-S", "-w", "-W", "-R", "-q", "-m", "--backlog_wait_time",
      "--signal"};
  return std::find(std::begin(kWithArgument), std::end(kWithArgument), option) !=
         std::end(kWithArgument);
}

bool KnownStandalone(std::string_view option) {
  static constexpr std::string_view kStandalone[] = {
      "-D",           "-l",
      "-s",           "-i",
      "-c",           "-v",
      "-t",           "--loginuid-immutable",
      "--reset-lost", "--reset_backlog_wait_time_actual"};
  return std::find(std::begin(kStandalone), std::end(kStandalone), option) != std::end(kStandalone);
}

void Append(Value& cell, std::string_view text, char separator) {
  cell = cell.is_null() ? std::string(text) : cell.text() + separator + std::string(text);
}

// One rule line as auditctl reads it, or an error message.
Result<Row> ParseRule(std::string_view text) {
  Row row(kColumnCount);
  row[kRule] = text;
  std::vector<std::string_view> words = SplitWhitespace(text);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view word = words[i];
    if (word.size() < 2 || word[0] != '-') {
      return Status::InvalidArgument("'" + std::string(word) + "' is not an auditctl option");
    }
    std::string_view option = word;
    std::optional<std::string_view> argument;
    if (word.starts_with("--")) {
      if (TakesArgument(option)) {
        if (i + 1 >= words.size()) break;
        argument = words[++i];
      }
    } else {
      option = word.substr(0, 2);
      if (TakesArgument(option)) {
        if (word.size() > 2) {
          argument = word.substr(2);
        } else if (i + 1 < words.size()) {
          argument = words[++i];
        }
      } else if (word.size() > 2) {
        return Status::InvalidArgument("unknown option '" + std::string(word) + "'");
      }
    }
    if (TakesArgument(option) && !argument) {
      return Status::InvalidArgument("option " + std::string(option) + " needs an argument");
    }
    if (!TakesArgument(option) && !KnownStandalone(option)) {
      return Status::InvalidArgument("unknown option '" + std::string(option) + "'");
    }
    if (row[kFlag].is_null()) {
      row[kFlag] = option;
      bool watch = option == "-w" || option == "-W";
      bool syscall = option == "-a" || option == "-A" || option == "-d";
      row[kType] = watch ? "watch" : syscall ? "syscall" : "control";
      if (!watch && !syscall && argument) row[kValue] = *argument;
    }
    if (option == "-a" || option == "-A" || option == "-d") {
      for (std::string_view part : SplitFields(*argument, ',')) {
        if (part == "always" || part == "never") {
          row[kAction] = part;
        } else if (part == "exit" || part == "task" || part == "user" || part == "exclude" ||
                   part == "filesystem" || part == "io_uring") {
          row[kList] = part;
        } else {
          return Status::InvalidArgument("unknown list or action '" + std::string(part) + "'");
        }
      }
    } else if (option == "-w" || option == "-W") {
      row[kPath] = *argument;
    } else if (option == "-p") {
      row[kPermissions] = *argument;
    } else if (option == "-k") {
      Append(row[kKey], *argument, ',');
    } else if (option == "-S") {
      Append(row[kSyscalls], *argument, ',');
    } else if (option == "-F" || option == "-C") {
      Append(row[kFields], *argument, ' ');
      std::string_view field = *argument;
      size_t eq = field.find('=');
      if (option == "-F" && eq != std::string_view::npos && eq > 0 && field[eq - 1] != '!') {
        std::string_view name = field.substr(0, eq), value = field.substr(eq + 1);
        if (name == "key") Append(row[kKey], value, ',');
        if (name == "path" || name == "dir") row[kPath] = value;
        if (name == "perm") row[kPermissions] = value;
      }
    }
  }
  if (row[kType].is_null()) return Status::InvalidArgument("empty rule");
  return row;
}

// `ls -v` order: runs of digits compare as numbers.
bool VersionLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      std::string_view na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

struct RuleLine {
  std::string text;
  std::string file;
  int line = 0;
};

std::vector<RuleLine> ReadRuleLines(const QueryContext& ctx, const std::string& file) {
  std::vector<RuleLine> out;
  std::optional<std::string> content = ReadOptionalFile(ctx, file, kMaxFileBytes);
  if (!content) return out;
  for (const internal::NumberedLine& line : SplitLines(*content)) {
    std::string_view text = Trim(line.text);
    if (text.empty() || text.front() == '#') continue;
    out.push_back({std::string(text), file, line.number});
  }
  return out;
}

// What augenrules writes: the first -D, the last -b, the last -f, every other line in order,
// the last -e.
std::vector<RuleLine> Augenrules(const QueryContext& ctx, const std::vector<std::string>& files) {
  std::optional<RuleLine> minus_d, minus_b, minus_f, minus_e;
  std::vector<RuleLine> rest;
  for (const std::string& file : files) {
    for (RuleLine& line : ReadRuleLines(ctx, file)) {
      std::string_view text = line.text;
      if (text.starts_with("-e")) {
        minus_e = std::move(line);
      } else if (text.starts_with("-D")) {
        if (!minus_d) minus_d = std::move(line);
      } else if (text.starts_with("-f")) {
        minus_f = std::move(line);
      } else if (text.starts_with("-b")) {
        minus_b = std::move(line);
      } else {
        rest.push_back(std::move(line));
      }
    }
  }
  std::vector<RuleLine> out;
  for (std::optional<RuleLine>* first : {&minus_d, &minus_b, &minus_f}) {
    if (*first) out.push_back(std::move(**first));
  }
  for (RuleLine& line : rest) out.push_back(std::move(line));
  if (minus_e) out.push_back(std::move(*minus_e));
  return out;
}

Result<std::string> RunAuditctl(const Host& host, std::string_view option) {
  CommandOptions options;
  options.timeout = std::chrono::seconds(10);
  std::vector<std::string> argv = {"auditctl", std::string(option)};
  Result<CommandResult> result = host.Run(argv, options);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return Status::Unavailable(FormatCommand(argv) + " exited with status " +
                               std::to_string(result->exit_code) + ": " +
                               result->err.substr(0, result->err.find('\n')));
  }
  return std::move(result->out);
}

// The kernel's rules, settings first and -e last as a rules file would load them.
Result<std::vector<RuleLine>> KernelRules(const Host& host) {
  // The two programs run side by side: one after the other, their start-up times add up (a
  // Host is safe to share between threads). The future is waited for on every path.
  auto run_status = [&host] { return RunAuditctl(host, "-s"); };
  std::future<Result<std::string>> status_future;
  try {
    status_future = std::async(std::launch::async, run_status);
  } catch (const std::system_error&) {
    // No thread to spare: `auditctl -s` runs after `auditctl -l`.
  }
  VIGIL_ASSIGN_OR_RETURN(std::string rules, RunAuditctl(host, "-l"));
  VIGIL_ASSIGN_OR_RETURN(std::string status,
                         status_future.valid() ? status_future.get() : run_status());
  std::map<std::string, std::string> settings;
  for (const internal::NumberedLine& line : SplitLines(status)) {
    std::vector<std::string_view> words = SplitWhitespace(line.text);
    if (words.size() >= 2) settings[std::string(words[0])] = std::string(words[1]);
  }
  std::vector<RuleLine> out;
  auto setting = [&](const char* name, const char* option) {
    auto it = settings.find(name);
    if (it != settings.end()) out.push_back({std::string(option) + " " + it->second, "", 0});
  };
  setting("backlog_limit", "-b");
  setting("failure", "-f");
  setting("rate_limit", "-r");
  setting("backlog_wait_time", "--backlog_wait_time");
  for (const internal::NumberedLine& line : SplitLines(rules)) {
    std::string_view text = Trim(line.text);
    if (text.empty() || text == "No rules") continue;
    out.push_back({std::string(text), "", 0});
  }
  setting("enabled", "-e");
  return out;
}

class AuditRulesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<RuleLine> lines;
    std::string source;
    if (ctx.host().is_machine_root()) {
      Result<std::vector<RuleLine>> kernel = KernelRules(ctx.host());
      if (kernel.ok()) {
        lines = std::move(*kernel);
        source = "kernel";
      } else if (kernel.status().code() != StatusCode::kNotFound) {
        ctx.Warn("cannot read the kernel's audit rules (" + kernel.status().message() +
                 "); reporting the rules files instead");
      }
    }
    if (source.empty()) {
      std::vector<std::string> files;
      Result<std::vector<DirEntry>> entries = ctx.host().ListDirectory(kRulesDir);
      if (entries.ok()) {
        for (const DirEntry& entry : *entries) {
          if (entry.name.front() == '.' || !entry.name.ends_with(".rules")) continue;
          files.push_back(JoinPath(kRulesDir, entry.name));
        }
      } else if (entries.status().code() != StatusCode::kNotFound) {
        ctx.Warn(entries.status().message());
      }
      std::sort(files.begin(), files.end(), VersionLess);
      source = files.empty() ? "audit.rules" : "augenrules";
      lines = files.empty() ? ReadRuleLines(ctx, std::string(kRulesFile)) : Augenrules(ctx, files);
    }

    std::vector<Row> rows;
    int64_t position = 0;
    for (RuleLine& line : lines) {
      Result<Row> parsed = ParseRule(line.text);
      std::string where =
          line.file.empty() ? "auditctl" : line.file + ":" + std::to_string(line.line);
      if (!parsed.ok()) {
        ctx.Warn(where + ": " + parsed.status().message());
        continue;
      }
      Row row = std::move(*parsed);
      row[kPosition] = ++position;
      if (!line.file.empty()) {
        row[kFile] = line.file;
        row[kLine] = line.line;
      }
      row[kSource] = source;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = AuditRulesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeAuditRulesTable() { return std::make_unique<AuditRulesTable>(); }

}  // namespace vigil::tables
