#include "enforcers/internal/system_text.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace vigil::enforcers::system_text {
namespace {

Status CheckText(std::string_view action, std::string_view name, std::string_view value) {
  if (value.find('\n') != std::string_view::npos || value.find('\r') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(action) + ": " + std::string(name) + " '" +
                                   std::string(value) + "' holds a line break");
  }
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(action) + ": " + std::string(name) +
                                   " holds a NUL byte");
  }
  return Status::Ok();
}

bool IsPackageChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

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
  auto it = args.find(std::string(name));
  if (it == args.end()) return out;
  for (const std::string& item : it->second.items) {
    VIGIL_RETURN_IF_ERROR(CheckText(action, name, item));
    std::string_view trimmed = Trim(item);
    if (!trimmed.empty()) out.emplace_back(trimmed);
  }
  return out;
}

Status CheckHostPath(std::string_view action, std::string_view param, std::string_view path) {
  VIGIL_RETURN_IF_ERROR(CheckText(action, param, path));
  std::string prefix =
      std::string(action) + ": " + std::string(param) + " '" + std::string(path) + "' ";
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument(prefix + "is not an absolute path");
  }
  if (path.back() == '/') return Status::InvalidArgument(prefix + "names a folder, not a file");
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") {
      return Status::InvalidArgument(prefix + "holds '..'");
    }
    start = end + 1;
  }
  return Status::Ok();
}

std::string_view Trim(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = text.find_last_not_of(" \t\r");
  return text.substr(b, e - b + 1);
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

std::string CollapseSpaces(std::string_view text) {
  std::string out;
  for (const std::string& word : Words(text)) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

Lines Lines::Split(std::string_view text) {
  Lines result;
  result.final_newline = text.empty() || text.back() == '\n';
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    result.lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

std::string Lines::Join() const {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (i + 1 < lines.size() || final_newline) out += '\n';
  }
  return out;
}

Result<Cidr> ParseCidr(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(text) +
                                   "' is not a CIDR (" + std::string(why) + ")");
  };
  std::string_view address = text;
  std::optional<int> prefix;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    int value = -1;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size()) {
      return bad("prefix length is not a number");
    }
    prefix = value;
  }
  std::array<unsigned char, 16> bytes{};
  Cidr cidr;
  const std::string address_text(address);
  int bits = 32;
  if (::inet_pton(AF_INET, address_text.c_str(), bytes.data()) == 1) {
    cidr.family = 4;
  } else if (::inet_pton(AF_INET6, address_text.c_str(), bytes.data()) == 1) {
    cidr.family = 6;
    bits = 128;
  } else {
    return bad("not an IPv4 or IPv6 address");
  }
  int length = prefix.value_or(bits);
  if (length < 0 || length > bits) return bad("prefix length out of range");
  for (int bit = length; bit < bits; ++bit) {
    bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  }
  char buffer[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(cidr.family == 4 ? AF_INET : AF_INET6, bytes.data(), buffer, sizeof(buffer));
  cidr.text = std::string(buffer) + "/" + std::to_string(length);
  return cidr;
}

std::vector<DebPackage> ParseDebStanzas(std::string_view text) {
  std::vector<DebPackage> out;
  DebPackage current;
  auto flush = [&] {
    if (!current.name.empty()) out.push_back(std::move(current));
    current = DebPackage();
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) {
      flush();
      if (end == text.size()) break;
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t' || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string value(Trim(line.substr(colon + 1)));
    if (key == "Package")
      current.name = value;
    else if (key == "Architecture")
      current.arch = value;
    else if (key == "Version")
      current.version = value;
    else if (key == "Status")
      current.status = value;
    else if (key == "Priority")
      current.priority = value;
    else if (key == "Essential")
      current.essential = value == "yes";
    if (end == text.size()) break;
  }
  flush();
  return out;
}

std::string_view DpkgState(std::string_view status) {
  std::vector<std::string> words = Words(status);
  if (words.size() < 3) return {};
  size_t pos = status.rfind(words[2]);
  return status.substr(pos, words[2].size());
}

bool DpkgFilesPresent(std::string_view status) {
  std::string_view state = DpkgState(status);
  return !state.empty() && state != "not-installed" && state != "config-files";
}

Status CheckPackageName(std::string_view action, std::string_view package) {
  std::string_view name = package;
  std::string_view arch;
  if (size_t colon = package.find(':'); colon != std::string_view::npos) {
    name = package.substr(0, colon);
    arch = package.substr(colon + 1);
  }
  bool ok = name.size() >= 2 && std::isalnum(static_cast<unsigned char>(name[0])) &&
            !(name[0] >= 'A' && name[0] <= 'Z');
  for (char c : name) ok = ok && IsPackageChar(c);
  if (package.find(':') != std::string_view::npos) {
    ok = ok && !arch.empty();
    for (char c : arch) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!ok) {
    return Status::InvalidArgument(std::string(action) + ": packages item '" +
                                   std::string(package) + "' is not a Debian package name");
  }
  return Status::Ok();
}

bool PackageMatches(const DebPackage& stanza, std::string_view package) {
  size_t colon = package.find(':');
  if (colon == std::string_view::npos) return stanza.name == package;
  return stanza.name == package.substr(0, colon) && stanza.arch == package.substr(colon + 1);
}

std::map<std::string, std::vector<std::string>> ParseInstallSection(std::string_view text) {
  std::map<std::string, std::vector<std::string>> out;
  bool in_install = false;
  Lines lines = Lines::Split(text);
  std::string pending;  // a line continued with '\'
  for (const std::string& raw : lines.lines) {
    std::string_view line = Trim(raw);
    if (!pending.empty()) {
      pending += ' ';
    }
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1);
      continue;
    }
    std::string full = pending + std::string(line);
    pending.clear();
    std::string_view l = Trim(full);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l.front() == '[') {
      in_install = l == "[Install]";
      continue;
    }
    if (!in_install) continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(Trim(l.substr(0, eq)));
    std::vector<std::string> words = Words(l.substr(eq + 1));
    std::vector<std::string>& values = out[key];
    if (words.empty()) values.clear();
    values.insert(values.end(), words.begin(), words.end());
  }
  return out;
}

}  // namespace vigil::enforcers::system_text
