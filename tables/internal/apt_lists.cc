#include "tables/internal/apt_lists.h"

#include <cstdio>

#include "engine/host.h"
#include "tables/internal/deb822.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

// Release files hold a checksum line per index; a large archive's is a few MiB.
constexpr size_t kMaxReleaseBytes = 64u << 20;

bool IsSchemeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.';
}

// Characters apt writes as %xx in list file names, besides controls, space and non-ASCII.
bool NeedsQuoting(unsigned char c) {
  static constexpr std::string_view kUnsafe = "\\|{}[]<>\"^~_=!@#$%&*";
  return c <= 0x20 || c >= 0x7f || kUnsafe.find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsYes(std::string_view value) { return EqualsIgnoreCase(Trim(value), "yes"); }

class ReleaseHandler final : public Deb822Handler {
 public:
  explicit ReleaseHandler(AptRelease& release) : release_(release) {}

  void OnField(std::string_view name, std::string_view value, int /*line*/) override {
    if (EqualsIgnoreCase(name, "Origin"))
      release_.origin = value;
    else if (EqualsIgnoreCase(name, "Label"))
      release_.label = value;
    else if (EqualsIgnoreCase(name, "Suite"))
      release_.suite = value;
    else if (EqualsIgnoreCase(name, "Codename"))
      release_.codename = value;
    else if (EqualsIgnoreCase(name, "Version"))
      release_.version = value;
    else if (EqualsIgnoreCase(name, "Components"))
      release_.components = value;
    else if (EqualsIgnoreCase(name, "Architectures"))
      release_.architectures = value;
    else if (EqualsIgnoreCase(name, "NotAutomatic"))
      release_.not_automatic = IsYes(value);
    else if (EqualsIgnoreCase(name, "ButAutomaticUpgrades")) {
      release_.but_automatic_upgrades = IsYes(value);
    }
  }
  void OnStanzaEnd() override { done_ = true; }
  bool Done() const override { return done_; }

 private:
  AptRelease& release_;
  bool done_ = false;
};

}  // namespace

std::string AptListPrefix(std::string_view uri, std::string_view suite) {
  size_t colon = uri.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    bool scheme = true;
    for (char c : uri.substr(0, colon)) scheme = scheme && IsSchemeChar(c);
    if (scheme) uri.remove_prefix(colon + 1);
  }
  if (uri.starts_with("//")) {
    uri.remove_prefix(2);
    size_t host_end = uri.find('/');
    size_t at = uri.substr(0, host_end).rfind('@');
    if (at != std::string_view::npos) uri.remove_prefix(at + 1);  // user:password@
  }
  std::string path(uri);
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += '/';
  if (!suite.empty() && suite.back() == '/') {
    path += suite;
  } else {
    path += "dists/";
    path += suite;
    path += '/';
  }
  std::string out;
  out.reserve(path.size() + 8);
  for (char c : path) {
    if (c == '/') {
      out += '_';
    } else if (NeedsQuoting(static_cast<unsigned char>(c))) {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string AptUnquote(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      if (std::optional<uint64_t> byte = ParseUint(text.substr(i + 1, 2), 16)) {
        out += static_cast<char>(*byte);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::optional<AptRelease> ReadAptRelease(const QueryContext& ctx, const std::string& path) {
  std::optional<std::string> text = ReadOptionalFile(ctx, path, kMaxReleaseBytes);
  if (!text) return std::nullopt;
  std::string_view body = *text;
  // A clear-signed file: armor headers up to a blank line, then the signed text.
  if (body.starts_with("-----BEGIN PGP SIGNED MESSAGE-----")) {
    size_t blank = body.find("\n\n");
    body = blank == std::string_view::npos ? std::string_view() : body.substr(blank + 2);
    size_t signature = body.find("\n-----BEGIN PGP SIGNATURE-----");
    if (signature != std::string_view::npos) body = body.substr(0, signature + 1);
  }
  AptRelease release;
  release.file = path;
  ReleaseHandler handler(release);
  Deb822Reader(ctx, path, handler).Parse(body);
  return release;
}

std::optional<AptRelease> FindAptRelease(const QueryContext& ctx, std::string_view prefix) {
  for (std::string_view name : {"InRelease", "Release"}) {
    std::string path = JoinPath(kAptListsDir, std::string(prefix) + std::string(name));
    if (!ctx.host().Exists(path)) continue;
    return ReadAptRelease(ctx, path);
  }
  return std::nullopt;
}

}  // namespace vigil::tables::internal
