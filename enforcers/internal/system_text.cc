#include "enforcers/internal/system_text.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "enforcers/internal/action_text.h"

namespace vigil::enforcers::system_text {
namespace {

using action_text::Trim;

bool IsPackageChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

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

}  // namespace vigil::enforcers::system_text
