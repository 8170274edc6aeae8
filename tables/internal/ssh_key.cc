#include "tables/internal/ssh_key.h"

#include <array>
#include <cstdint>
#include <vector>

#include "engine/digest.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::string_view kPlainTypes[] = {
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-xmss@openssh.com",
};

// The plain key type of a certificate type ("ssh-rsa-cert-v01@openssh.com" -> "ssh-rsa";
// "sk-ssh-ed25519-cert-v01@openssh.com" -> "sk-ssh-ed25519@openssh.com"), or the type itself.
std::string PlainType(std::string_view type) {
  if (!type.ends_with(kCertSuffix)) return std::string(type);
  std::string plain(type.substr(0, type.size() - kCertSuffix.size()));
  if (plain.starts_with("sk-") || plain == "ssh-xmss") plain += "@openssh.com";
  return plain;
}

// Reads the SSH wire encoding (RFC 4251): uint32 lengths before strings and mpints.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool empty() const { return data_.empty(); }

  std::optional<std::string_view> String() {
    if (data_.size() < 4) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data());
    const uint32_t length =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    if (data_.size() - 4 < length) return std::nullopt;
    std::string_view out = data_.substr(4, length);
    data_.remove_prefix(4 + size_t{length});
    return out;
  }

 private:
  std::string_view data_;
};

// How many strings (or mpints) follow the type in a plain key of that type.
int KeyFieldCount(std::string_view plain) {
  if (plain == "ssh-rsa") return 2;                     // e, n
  if (plain == "ssh-dss") return 4;                     // p, q, g, y
  if (plain == "ssh-ed25519") return 1;                 // point
  if (plain == "sk-ssh-ed25519@openssh.com") return 2;  // point, application
  if (plain.starts_with("sk-ecdsa-")) return 3;         // curve, point, application
  if (plain.starts_with("ecdsa-")) return 2;            // curve, point
  if (plain == "ssh-xmss@openssh.com") return 2;        // parameter set, public key
  return 0;
}

// `data` in the SSH wire encoding: a big-endian uint32 length, then the bytes.
std::string WireString(std::string_view data) {
  const auto length = static_cast<uint32_t>(data.size());
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((length >> shift) & 0xff);
  out.append(data);
  return out;
}

// Significant bits of a big-endian unsigned number (an mpint's magnitude).
int BitLength(std::string_view number) {
  while (!number.empty() && number.front() == '\0') number.remove_prefix(1);
  if (number.empty()) return 0;
  int bits = static_cast<int>(number.size() - 1) * 8;
  for (auto top = static_cast<unsigned char>(number.front()); top != 0; top >>= 1) ++bits;
  return bits;
}

std::string HexToBytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(ParseUint(hex.substr(i, 2), 16).value_or(0));
  }
  return out;
}

Status BadKey(std::string_view type, std::string_view what) {
  return Status::InvalidArgument(std::string(type) + " key blob: " + std::string(what));
}

}  // namespace

bool IsSshKeyType(std::string_view type) {
  const std::string plain = PlainType(type);
  for (std::string_view known : kPlainTypes) {
    if (plain == known) return true;
  }
  return false;
}

Result<SshKeyLine> ParseSshKeyLine(std::string_view line, bool allow_options) {
  std::string_view rest = Trim(line);
  SshKeyLine key;
  auto next_word = [&rest]() {
    size_t end = rest.find_first_of(" \t");
    std::string_view word = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : Trim(rest.substr(end));
    return word;
  };
  size_t type_end = rest.find_first_of(" \t");
  if (!IsSshKeyType(rest.substr(0, type_end))) {
    if (!allow_options) return Status::InvalidArgument("unknown key type");
    // Options run to the first blank outside double quotes; '\"' does not close a quote.
    bool quoted = false;
    size_t i = 0;
    for (; i < rest.size() && (quoted || (rest[i] != ' ' && rest[i] != '\t')); ++i) {
      if (rest[i] == '\\' && i + 1 < rest.size() && rest[i + 1] == '"') {
        ++i;
      } else if (rest[i] == '"') {
        quoted = !quoted;
      }
    }
    if (quoted) return Status::InvalidArgument("unbalanced quotes in options");
    key.options = std::string(rest.substr(0, i));
    rest = Trim(rest.substr(i));
    type_end = rest.find_first_of(" \t");
    if (!IsSshKeyType(rest.substr(0, type_end))) {
      return Status::InvalidArgument("unknown key type");
    }
  }
  key.type = std::string(next_word());
  key.base64 = std::string(next_word());
  if (key.base64.empty()) return Status::InvalidArgument("no key after the type");
  key.comment = std::string(rest);
  return key;
}

Result<SshKeyInfo> InspectSshKey(std::string_view base64) {
  std::optional<std::string> blob = DecodeBase64(base64);
  if (!blob || blob->empty()) return Status::InvalidArgument("key is not valid base64");
  WireReader reader(*blob);
  std::optional<std::string_view> type = reader.String();
  if (!type || !IsSshKeyType(*type)) return Status::InvalidArgument("unknown key type in blob");
  const bool certificate = type->ends_with(kCertSuffix);
  if (certificate && !reader.String()) return BadKey(*type, "truncated");  // the nonce

  // The public key's own fields; a certificate carries them after its nonce.
  const std::string plain = PlainType(*type);
  std::vector<std::string_view> fields;
  for (int i = KeyFieldCount(plain); i > 0; --i) {
    std::optional<std::string_view> field = reader.String();
    if (!field) return BadKey(*type, "truncated");
    fields.push_back(*field);
  }
  if (!certificate && !reader.empty()) return BadKey(*type, "data after the key");

  SshKeyInfo info;
  info.type = std::string(*type);
  if (plain == "ssh-rsa") {
    info.bits = BitLength(fields[1]);  // e, n
  } else if (plain == "ssh-dss") {
    info.bits = BitLength(fields[0]);  // p, q, g, y
  } else if (plain == "ssh-ed25519" || plain == "sk-ssh-ed25519@openssh.com") {
    if (fields[0].size() != 32) return BadKey(*type, "bad Ed25519 point");
    info.bits = 256;
  } else if (plain.find("ecdsa-sha2-nistp") != std::string::npos) {
    const std::string_view curve = fields[0];
    if (plain.find(curve) == std::string::npos) return BadKey(*type, "curve does not match");
    if (curve == "nistp256") info.bits = 256;
    if (curve == "nistp384") info.bits = 384;
    if (curve == "nistp521") info.bits = 521;
  }
  // ssh-keygen fingerprints a certificate by the key it certifies.
  std::string key_blob = WireString(plain);
  for (std::string_view field : fields) key_blob += WireString(field);
  info.fingerprint = "SHA256:" + EncodeBase64Unpadded(HexToBytes(Sha256Hex(key_blob)));
  return info;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    size_t value = kBase64Alphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a single character left over cannot encode a byte
  return out;
}

std::string EncodeBase64Unpadded(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Alphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kBase64Alphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

}  // namespace vigil::tables::internal
