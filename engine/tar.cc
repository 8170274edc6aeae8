#include "engine/tar.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <utility>

namespace vigil::tar {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kNameField = 100;
constexpr size_t kPrefixField = 155;
constexpr size_t kMaxPath = 255;

// Header fields: offset and length.
struct Field {
  size_t offset;
  size_t length;
};
constexpr Field kName{0, 100};
constexpr Field kMode{100, 8};
constexpr Field kUid{108, 8};
constexpr Field kGid{116, 8};
constexpr Field kSize{124, 12};
constexpr Field kMtime{136, 12};
constexpr Field kChecksum{148, 8};
constexpr size_t kTypeflag = 156;
constexpr Field kMagic{257, 6};
constexpr Field kVersion{263, 2};
constexpr Field kPrefix{345, 155};

using Header = std::array<char, kBlock>;

void Put(Header& header, Field field, std::string_view text) {
  std::memcpy(header.data() + field.offset, text.data(), std::min(text.size(), field.length));
}

// `value` as zero-padded octal filling length - 1 digits, then NUL.
void PutOctal(Header& header, Field field, uint64_t value) {
  std::string digits(field.length - 1, '0');
  for (size_t i = digits.size(); i-- > 0 && value > 0; value >>= 3) {
    digits[i] = static_cast<char>('0' + (value & 7));
  }
  Put(header, field, digits);
}

uint64_t Checksum(const char* block) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.length;
    sum += in_field ? static_cast<unsigned char>(' ') : static_cast<unsigned char>(block[i]);
  }
  return sum;
}

// Splits `path` into the ustar prefix and name fields; nullopt when it does not fit.
std::optional<std::pair<std::string_view, std::string_view>> Split(std::string_view path) {
  if (path.size() <= kNameField) return std::make_pair(std::string_view(), path);
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (slash > kPrefixField) break;
    if (path.size() - slash - 1 <= kNameField) {
      return std::make_pair(path.substr(0, slash), path.substr(slash + 1));
    }
  }
  return std::nullopt;
}

// A NUL-terminated (or field-filling) string field.
std::string_view Text(const char* block, Field field) {
  std::string_view raw(block + field.offset, field.length);
  return raw.substr(0, raw.find('\0'));
}

// An octal number field: optional leading spaces, digits, then NULs or spaces to the end.
std::optional<uint64_t> Octal(const char* block, Field field) {
  std::string_view raw(block + field.offset, field.length);
  size_t i = 0;
  while (i < raw.size() && raw[i] == ' ') ++i;
  uint64_t value = 0;
  size_t digits = 0;
  for (; i < raw.size() && raw[i] >= '0' && raw[i] <= '7'; ++i, ++digits) {
    if (value > (UINT64_MAX >> 3)) return std::nullopt;
    value = (value << 3) | static_cast<uint64_t>(raw[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  for (; i < raw.size(); ++i) {
    if (raw[i] != '\0' && raw[i] != ' ') return std::nullopt;
  }
  return value;
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (text.size() > 200) out += "...";
  return out + "'";
}

}  // namespace

Status CheckMemberPath(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("an empty file name");
  if (path.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("file name " + Quoted(path) + " contains a NUL byte");
  }
  if (path.size() > kMaxPath) {
    return Status::InvalidArgument("file name " + Quoted(path) + " is longer than " +
                                   std::to_string(kMaxPath) + " bytes");
  }
  if (path.front() == '/') {
    return Status::InvalidArgument("file name " + Quoted(path) +
                                   " is absolute; names must be relative to the directory");
  }
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty()) {
      return Status::InvalidArgument("file name " + Quoted(path) + " has an empty component");
    }
    if (part == "." || part == "..") {
      return Status::InvalidArgument("file name " + Quoted(path) + " has a '" + std::string(part) +
                                     "' component");
    }
    start = slash + 1;
  }
  return Status::Ok();
}

Result<std::string> Write(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [path, content] : files) {
    VIGIL_RETURN_IF_ERROR(CheckMemberPath(path));
    auto split = Split(path);
    if (!split) {
      return Status::InvalidArgument("file name " + Quoted(path) +
                                     " does not fit a tar header (a component is too long)");
    }
    Header header{};
    Put(header, kName, split->second);
    Put(header, kPrefix, split->first);
    PutOctal(header, kMode, 0644);
    PutOctal(header, kUid, 0);
    PutOctal(header, kGid, 0);
    PutOctal(header, kSize, content.size());
    PutOctal(header, kMtime, 0);
    header[kTypeflag] = '0';
    Put(header, kMagic, std::string_view("ustar\0", 6));
    Put(header, kVersion, "00");
    // Six octal digits, NUL, space: the form every reader takes.
    const uint64_t sum = Checksum(header.data());
    std::string digits(6, '0');
    for (size_t i = 6, v = sum; i-- > 0; v >>= 3) digits[i] = static_cast<char>('0' + (v & 7));
    Put(header, kChecksum, digits + std::string("\0 ", 2));
    out.append(header.data(), header.size());
    out += content;
    out.append((kBlock - content.size() % kBlock) % kBlock, '\0');
  }
  out.append(2 * kBlock, '\0');
  return out;
}

Result<std::map<std::string, std::string>> Read(std::string_view archive, const Limits& limits) {
  if (archive.size() % kBlock != 0) {
    return Status::InvalidArgument("tar archive: its length " + std::to_string(archive.size()) +
                                   " is not a multiple of 512 bytes (cut short?)");
  }
  std::map<std::string, std::string> files;
  size_t members = 0;
  size_t total = 0;
  for (size_t at = 0;;) {
    if (at >= archive.size()) {
      return Status::InvalidArgument("tar archive: no end-of-archive block after " +
                                     std::to_string(members) + " members (cut short?)");
    }
    const char* block = archive.data() + at;
    if (AllZero(std::string_view(block, kBlock))) {
      if (!AllZero(archive.substr(at))) {
        return Status::InvalidArgument("tar archive: data after the end-of-archive block at byte " +
                                       std::to_string(at));
      }
      break;
    }
    ++members;
    std::string name(Text(block, kName));
    const std::string prefix(Text(block, kPrefix));
    const std::string where = "tar member " + std::to_string(members);
    auto member = [&](const std::string& what) {
      return Status::InvalidArgument(where + (name.empty() ? "" : " (" + Quoted(name) + ")") +
                                     ": " + what);
    };
    if (members > limits.max_members) {
      return member("more than " + std::to_string(limits.max_members) + " members");
    }
    const std::string_view magic(block + kMagic.offset, kMagic.length);
    const std::string_view version(block + kVersion.offset, kVersion.length);
    const bool posix = magic == std::string_view("ustar\0", 6) && version == "00";
    const bool gnu = magic == "ustar " && version == std::string_view(" \0", 2);
    if (!posix && !gnu) return member("not a ustar header (its magic is " + Quoted(magic) + ")");
    if (posix && !prefix.empty()) name = prefix + "/" + name;
    auto checksum = Octal(block, kChecksum);
    if (!checksum) return member("its checksum field is not an octal number");
    if (*checksum != Checksum(block)) {
      return member("bad header checksum (stored " + std::to_string(*checksum) + ", computed " +
                    std::to_string(Checksum(block)) + ")");
    }
    auto size = Octal(block, kSize);
    if (!size) return member("its size field is not an octal number");
    const char type = block[kTypeflag];
    at += kBlock;
    const size_t padded =
        *size > archive.size() ? archive.size() + 1 : (*size + kBlock - 1) / kBlock * kBlock;
    if (padded > archive.size() - at) {
      return member("its " + std::to_string(*size) +
                    " bytes of content run past the end of the "
                    "archive");
    }
    while (name.starts_with("./")) name.erase(0, 2);
    if (type == '5') {
      if (name.ends_with('/')) name.pop_back();
      if (!name.empty()) {
        if (Status s = CheckMemberPath(name); !s.ok()) return member(s.message());
      }
      at += padded;
      continue;
    }
    if (type != '0' && type != '\0') {
      std::string kind = "type '" + std::string(1, type) + "'";
      if (type == '1' || type == '2') kind = "a link";
      if (type == '3' || type == '4') kind = "a device";
      if (type == '6') kind = "a FIFO";
      if (type == 'x' || type == 'g') kind = "a pax extended header";
      if (type == 'L' || type == 'K') kind = "a GNU long-name header";
      return member("is " + kind + "; only regular files and directories are accepted");
    }
    if (Status s = CheckMemberPath(name); !s.ok()) return member(s.message());
    if (*size > limits.max_member_bytes) {
      return member("is " + std::to_string(*size) + " bytes, more than the limit of " +
                    std::to_string(limits.max_member_bytes));
    }
    total += *size;
    if (total > limits.max_total_bytes) {
      return member("takes the files past the limit of " + std::to_string(limits.max_total_bytes) +
                    " bytes in all");
    }
    if (files.contains(name)) return member("is in the archive twice");
    files.emplace(name, std::string(archive.substr(at, *size)));
    at += padded;
  }
  return files;
}

}  // namespace vigil::tar
