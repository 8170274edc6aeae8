#include "enforcers/internal/files_text.h"

#include <utility>

namespace vigil::enforcers::files_text {
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

Status CheckAbsolutePath(std::string_view action, std::string_view param, std::string_view value) {
  VIGIL_RETURN_IF_ERROR(CheckOneLine(action, param, value));
  if (value.front() != '/') return BadArg(action, param, value, "is not an absolute path");
  if (value.size() > 1 && value.back() == '/') {
    return BadArg(action, param, value, "names a folder, not a file");
  }
  size_t start = 1;
  while (start <= value.size()) {
    size_t end = value.find('/', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view part = value.substr(start, end - start);
    if ((part.empty() && end < value.size()) || part == "." || part == "..") {
      return BadArg(action, param, value, "is not a normalised path");
    }
    start = end + 1;
  }
  return Status::Ok();
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

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
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

std::string NormalizeBlanks(std::string_view text) {
  std::string out;
  for (std::string_view word : SplitBlanks(text)) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

std::optional<std::vector<std::string>> FindColonRecord(std::string_view text,
                                                        std::string_view name) {
  for (const std::string& line : TextLines::Split(text).lines) {
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0 ||
        line[name.size()] != ':') {
      continue;
    }
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t colon = line.find(':', start);
      fields.push_back(line.substr(start, colon == std::string::npos ? colon : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
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

bool HasUser(const Host& host, std::string_view user) {
  Result<std::string> passwd = host.ReadFile("/etc/passwd");
  return passwd.ok() && FindColonRecord(*passwd, user).has_value();
}

bool HasGroup(const Host& host, std::string_view group) {
  Result<std::string> groups = host.ReadFile("/etc/group");
  return groups.ok() && FindColonRecord(*groups, group).has_value();
}

}  // namespace vigil::enforcers::files_text
