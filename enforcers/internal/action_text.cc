#include "enforcers/internal/action_text.h"

#include <utility>

namespace vigil::enforcers::action_text {
namespace {

class FunctionAction final : public Action {
 public:
  FunctionAction(packs::ActionSpec spec, PlanFunction plan) : spec_(std::move(spec)), plan_(plan) {}
  const packs::ActionSpec& spec() const override { return spec_; }
  Result<Plan> PlanFix(const Host& host, const packs::Params& args) const override {
    return plan_(host, args);
  }

 private:
  const packs::ActionSpec spec_;
  const PlanFunction plan_;
};

// The check of OneParam, ListParam and CheckHostPath: the value is shown as given.
Status CheckText(std::string_view action, std::string_view name, std::string_view value) {
  if (value.find_first_of("\n\r") != std::string_view::npos) {
    return Status::InvalidArgument(std::string(action) + ": " + std::string(name) + " '" +
                                   std::string(value) + "' holds a line break");
  }
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(action) + ": " + std::string(name) +
                                   " holds a NUL byte");
  }
  return Status::Ok();
}

}  // namespace

TextLines TextLines::Split(std::string_view text) {
  TextLines out;
  out.trailing_newline = text.empty() || text.back() == '\n';
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string TextLines::Join() const {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (i + 1 < lines.size() || trailing_newline) out += '\n';
  }
  return out;
}

void TextLines::Insert(size_t at, std::string line) {
  // A line appended after a last line without '\n' needs one between them.
  if (at >= lines.size()) {
    trailing_newline = true;
    lines.push_back(std::move(line));
    return;
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), std::move(line));
}

std::unique_ptr<Action> MakeFunctionAction(packs::ActionSpec spec, PlanFunction plan) {
  return std::make_unique<FunctionAction>(std::move(spec), plan);
}

std::string Arg(const packs::Params& args, std::string_view name, std::string_view fallback) {
  auto it = args.find(std::string(name));
  if (it == args.end() || it->second.items.empty()) return std::string(fallback);
  return it->second.text();
}

bool HasArg(const packs::Params& args, std::string_view name) {
  auto it = args.find(std::string(name));
  return it != args.end() && !it->second.items.empty();
}

std::vector<std::string> ListArg(const packs::Params& args, std::string_view name) {
  auto it = args.find(std::string(name));
  return it == args.end() ? std::vector<std::string>{} : it->second.items;
}

Result<std::string> OneParam(std::string_view action, const packs::Params& args,
                             std::string_view name, std::string_view fallback) {
  auto it = args.find(std::string(name));
  if (it == args.end() || it->second.items.empty()) return std::string(fallback);
  if (it->second.items.size() > 1) {
    return Status::InvalidArgument(std::string(action) + ": " + std::string(name) +
                                   " takes one value, not a list");
  }
  VIGIL_RETURN_IF_ERROR(CheckText(action, name, it->second.text()));
  return it->second.text();
}

Result<std::vector<std::string>> ListParam(std::string_view action, const packs::Params& args,
                                           std::string_view name) {
  std::vector<std::string> out;
  for (const std::string& item : ListArg(args, name)) {
    VIGIL_RETURN_IF_ERROR(CheckText(action, name, item));
    std::string_view trimmed = Trim(item);
    if (!trimmed.empty()) out.emplace_back(trimmed);
  }
  return out;
}

Status BadArg(std::string_view action, std::string_view param, std::string_view value,
              std::string_view why) {
  std::string shown(value);
  for (char& c : shown) {
    if (c == '\n' || c == '\r' || c == '\0') c = ' ';
  }
  return Status::InvalidArgument(std::string(action) + ": " + std::string(param) + " '" + shown +
                                 "' " + std::string(why));
}

Status CheckOneLine(std::string_view action, std::string_view param, std::string_view value,
                    bool allow_empty) {
  if (value.empty() && !allow_empty) return BadArg(action, param, value, "is empty");
  if (value.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
    return BadArg(action, param, value, "must be one line");
  }
  return Status::Ok();
}

Status CheckKey(std::string_view action, std::string_view param, std::string_view value) {
  VIGIL_RETURN_IF_ERROR(CheckOneLine(action, param, value));
  if (value.find_first_of(" \t=#") != std::string_view::npos) {
    return BadArg(action, param, value, "must not contain blanks, '=' or '#'");
  }
  return Status::Ok();
}

namespace {

// The checks both path checks share, after their line checks: absolute, not a folder, and the
// first component for which `bad_part` gives a reason ("" when none does).
template <typename BadPart>
Status CheckPathParts(std::string_view action, std::string_view param, std::string_view value,
                      BadPart bad_part) {
  if (value.empty() || value.front() != '/') {
    return BadArg(action, param, value, "is not an absolute path");
  }
  if (value.size() > 1 && value.back() == '/') {
    return BadArg(action, param, value, "names a folder, not a file");
  }
  size_t start = 1;
  while (start <= value.size()) {
    size_t end = value.find('/', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view why = bad_part(value.substr(start, end - start), end == value.size());
    if (!why.empty()) return BadArg(action, param, value, why);
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace

Status CheckAbsolutePath(std::string_view action, std::string_view param, std::string_view value) {
  VIGIL_RETURN_IF_ERROR(CheckOneLine(action, param, value));
  return CheckPathParts(action, param, value, [](std::string_view part, bool last) {
    return (part.empty() && !last) || part == "." || part == ".." ? "is not a normalised path" : "";
  });
}

Status CheckHostPath(std::string_view action, std::string_view param, std::string_view path) {
  VIGIL_RETURN_IF_ERROR(CheckText(action, param, path));
  if (path == "/") return BadArg(action, param, path, "names a folder, not a file");
  return CheckPathParts(action, param, path, [](std::string_view part, bool) {
    return part == ".." ? "holds '..'" : "";
  });
}

Result<std::optional<std::string>> ReadIfExists(const Host& host, std::string_view path) {
  Result<std::string> content = host.ReadFile(path);
  if (content.ok()) return std::optional<std::string>(std::move(*content));
  if (content.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return content.status();
}

FileEdit ContentEdit(std::string path, std::string content, mode_t mode_if_new) {
  FileEdit edit;
  edit.path = std::move(path);
  edit.content = std::move(content);
  edit.mode_if_new = mode_if_new;
  return edit;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (IsBlank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (IsBlank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> SplitBlanks(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  auto blank = [](char c) { return IsBlank(c) || c == '\n'; };
  while (i < text.size()) {
    while (i < text.size() && blank(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !blank(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

namespace {

std::string JoinWords(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

}  // namespace

std::string NormalizeBlanks(std::string_view text) { return JoinWords(SplitBlanks(text)); }

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  for (std::string_view word : tables::internal::SplitWhitespace(text)) words.emplace_back(word);
  return words;
}

std::string CollapseSpaces(std::string_view text) {
  return JoinWords(tables::internal::SplitWhitespace(text));
}

std::optional<std::vector<std::string>> FindColonRecord(std::string_view text,
                                                        std::string_view name) {
  for (const std::string& line : TextLines::Split(text).lines) {
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0 ||
        line[name.size()] != ':') {
      continue;
    }
    std::vector<std::string> fields;
    for (std::string_view field : tables::internal::SplitFields(line, ':')) {
      fields.emplace_back(field);
    }
    return fields;
  }
  return std::nullopt;
}

std::string JoinColonRecord(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ':';
    out += fields[i];
  }
  return out;
}

FileEdit AccountRecord::Edit() {
  text.lines[line] = JoinColonRecord(fields);
  return ContentEdit(path, text.Join());
}

Result<AccountRecord> FindAccountRecord(const Host& host, std::string_view action,
                                        std::string_view path, std::string_view user) {
  VIGIL_ASSIGN_OR_RETURN(std::string content, host.ReadFile(path));
  AccountRecord record;
  record.path = std::string(path);
  record.text = TextLines::Split(content);
  for (; record.line < record.text.lines.size(); ++record.line) {
    std::optional<std::vector<std::string>> fields =
        FindColonRecord(record.text.lines[record.line], user);
    if (!fields) continue;
    record.fields = std::move(*fields);
    return record;
  }
  return Status::NotFound(std::string(action) + ": user '" + std::string(user) + "' is not in " +
                          std::string(path));
}

Status CheckUserName(std::string_view action, std::string_view param, std::string_view user) {
  VIGIL_RETURN_IF_ERROR(CheckKey(action, param, user));
  if (user.find(':') != std::string_view::npos) {
    return BadArg(action, param, user, "is not a user name");
  }
  return Status::Ok();
}

bool HasUser(const Host& host, std::string_view user) {
  Result<std::string> passwd = host.ReadFile("/etc/passwd");
  return passwd.ok() && FindColonRecord(*passwd, user).has_value();
}

bool HasGroup(const Host& host, std::string_view group) {
  Result<std::string> groups = host.ReadFile("/etc/group");
  return groups.ok() && FindColonRecord(*groups, group).has_value();
}

}  // namespace vigil::enforcers::action_text
