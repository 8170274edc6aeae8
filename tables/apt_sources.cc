// apt_sources: the package repositories apt is configured with, one row per (type, URI, suite)
// of every entry in /etc/apt/sources.list and /etc/apt/sources.list.d, with what the
// repository's last downloaded Release file says about it.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/apt_lists.h"
#include "tables/internal/deb822.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::AptRelease;
using internal::EqualsIgnoreCase;

// Column positions, in the order of the column list below.
enum AptSourcesColumn : int {
  kName,
  kSource,
  kBaseUri,
  kRelease,
  kVersion,
  kMaintainer,
  kComponents,
  kArchitectures,
  kType,
  kSuite,
  kEntryComponents,
  kEntryArchitectures,
  kSignedBy,
  kTrusted,
  kEnabled,
  kFile,
  kLine,
  kColumnCount
};

Schema AptSourcesSchema() {
  constexpr std::string_view kFromRelease =
      "; from the repository's Release file in /var/lib/apt/lists, NULL when apt has not "
      "downloaded it";
  auto from_release = [&](std::string_view what) {
    return std::string(what) + std::string(kFromRelease);
  };
  return Schema{
      "apt_sources",
      "APT repositories: one row per type, URI and suite of every entry in "
      "/etc/apt/sources.list and /etc/apt/sources.list.d/*.list (one-line format, "
      "'deb [options] URI SUITE [COMPONENT...]') and /etc/apt/sources.list.d/*.sources "
      "(deb822 stanzas, where Types, URIs and Suites may each list several). Unlike osquery, "
      "deb-src entries, disabled stanzas and repositories apt has not downloaded yet are "
      "listed too; filter on type, enabled or release.",
      {
          {"name", ColumnType::kText,
           "The URI without its scheme and trailing '/', a space and the suite "
           "('deb.debian.org/debian bookworm')"},
          {"source", ColumnType::kText, "The file holding the entry"},
          {"base_uri", ColumnType::kText,
           "Repository URI without trailing '/'; a password in it is shown as ***"},
          {"release", ColumnType::kText, from_release("Codename field (bookworm)")},
          {"version", ColumnType::kText, from_release("Version field (12.5)")},
          {"maintainer", ColumnType::kText, from_release("Origin field (Debian)")},
          {"components", ColumnType::kText,
           from_release("Components the repository offers, space-separated")},
          {"architectures", ColumnType::kText,
           from_release("Architectures the repository offers, space-separated")},
          {"type", ColumnType::kText, "deb (binary packages) or deb-src (source packages)"},
          {"suite", ColumnType::kText,
           "Suite as the entry names it (bookworm-security, stable, or a path ending in '/' "
           "for a flat repository)"},
          {"entry_components", ColumnType::kText,
           "Components the entry asks for, space-separated; empty for a flat repository"},
          {"entry_architectures", ColumnType::kText,
           "Architectures the entry is limited to (arch= option or Architectures field), "
           "space-separated; NULL when not limited"},
          {"signed_by", ColumnType::kText,
           "Keyrings or key fingerprints the entry trusts (signed-by= option or Signed-By "
           "field), space-separated; 'inline' when the entry embeds the key itself; NULL when "
           "not set (any key in apt's trusted keyrings is accepted)"},
          {"trusted", ColumnType::kInteger,
           "1 when the entry sets trusted=yes (signatures are not checked), else 0"},
          {"enabled", ColumnType::kInteger, "0 for a deb822 stanza with 'Enabled: no', else 1"},
          {"file", ColumnType::kText, "The file holding the entry (the same as source)"},
          {"line", ColumnType::kInteger,
           "Line of the entry (one-line format) or of the stanza's first field (deb822)"},
      }};
}

constexpr size_t kMaxSourcesBytes = 4u << 20;

// One repository entry; deb822 stanzas expand to several.
struct Entry {
  std::vector<std::string> types, uris, suites;
  std::string components, architectures, signed_by;
  bool has_architectures = false;
  bool trusted = false;
  bool enabled = true;
  int line = 0;
};

std::string JoinWords(const std::vector<std::string_view>& words, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out.append(words[i]);
  }
  return out;
}

std::string CommasToSpaces(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == ',') c = ' ';
  }
  return out;
}

// Words separated by whitespace, where a '[' opens a group that runs, spaces included, to the
// next ']' ("[ arch=amd64 ]", "cdrom:[Debian GNU/Linux 12]/"). nullopt for an unclosed group.
std::optional<std::vector<std::string_view>> SplitEntryWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    size_t start = i;
    bool in_group = false;
    while (i < text.size() && (in_group || (text[i] != ' ' && text[i] != '\t'))) {
      if (text[i] == '[') in_group = true;
      if (text[i] == ']') in_group = false;
      ++i;
    }
    if (in_group) return std::nullopt;
    words.push_back(text.substr(start, i - start));
  }
  return words;
}

// "deb [opt=v ...] URI SUITE [COMPONENT...]"; false with a reason when malformed.
bool ParseOneLine(std::string_view text, Entry& entry, std::string& error) {
  std::optional<std::vector<std::string_view>> words = SplitEntryWords(text);
  if (!words) {
    error = "unclosed '['";
    return false;
  }
  if (words->empty()) return false;
  std::string_view type = (*words)[0];
  if (type != "deb" && type != "deb-src") {
    error = "unknown type '" + std::string(type) + "', expected deb or deb-src";
    return false;
  }
  entry.types = {std::string(type)};
  size_t next = 1;
  if (next < words->size() && (*words)[next].starts_with('[')) {
    std::string_view options = (*words)[next++];
    if (!options.ends_with(']')) {
      error = "options must be followed by a space";
      return false;
    }
    options = options.substr(1, options.size() - 2);
    for (std::string_view option : internal::SplitWhitespace(options)) {
      auto [key, value] = internal::SplitKeyValue(option, '=');
      if (key == "arch") {
        entry.architectures = CommasToSpaces(value);
        entry.has_architectures = true;
      } else if (key == "signed-by") {
        entry.signed_by = CommasToSpaces(value);
      } else if (key == "trusted") {
        entry.trusted = value == "yes";
      }
    }
  }
  if (words->size() < next + 2) {
    error = "expected '" + std::string(type) + " [options] URI SUITE [COMPONENT...]'";
    return false;
  }
  entry.uris = {std::string((*words)[next])};
  entry.suites = {std::string((*words)[next + 1])};
  entry.components = JoinWords(*words, next + 2);
  return true;
}

// Collects the stanzas of a .sources file.
class SourcesHandler final : public internal::Deb822Handler {
 public:
  SourcesHandler(const QueryContext& ctx, const std::string& path, std::vector<Entry>& entries)
      : ctx_(ctx), path_(path), entries_(entries) {}

  void OnField(std::string_view name, std::string_view value, int line) override {
    if (current_.line == 0) current_.line = line;
    in_signed_by_ = false;
    auto words = [&] {
      std::vector<std::string> out;
      for (std::string_view w : internal::SplitWhitespace(value)) out.emplace_back(w);
      return out;
    };
    if (EqualsIgnoreCase(name, "Types"))
      current_.types = words();
    else if (EqualsIgnoreCase(name, "URIs"))
      current_.uris = words();
    else if (EqualsIgnoreCase(name, "Suites"))
      current_.suites = words();
    else if (EqualsIgnoreCase(name, "Components"))
      current_.components = JoinWords(internal::SplitWhitespace(value));
    else if (EqualsIgnoreCase(name, "Architectures")) {
      current_.architectures = JoinWords(internal::SplitWhitespace(value));
      current_.has_architectures = true;
    } else if (EqualsIgnoreCase(name, "Signed-By")) {
      current_.signed_by = JoinWords(internal::SplitWhitespace(value));
      in_signed_by_ = true;
    } else if (EqualsIgnoreCase(name, "Enabled")) {
      current_.enabled = !EqualsIgnoreCase(value, "no");
    } else if (EqualsIgnoreCase(name, "Trusted")) {
      current_.trusted = EqualsIgnoreCase(value, "yes");
    }
  }

  void OnContinuation(std::string_view text, int /*line*/) override {
    if (!in_signed_by_ || current_.signed_by == "inline") return;
    if (text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
      current_.signed_by = "inline";
      return;
    }
    if (!current_.signed_by.empty()) current_.signed_by += ' ';
    current_.signed_by.append(text);
  }

  void OnStanzaEnd() override {
    const char* missing = current_.types.empty()    ? "Types"
                          : current_.uris.empty()   ? "URIs"
                          : current_.suites.empty() ? "Suites"
                                                    : nullptr;
    if (missing != nullptr) {
      ctx_.Warn(path_ + ":" + std::to_string(current_.line) + ": stanza without " + missing);
    } else {
      entries_.push_back(std::move(current_));
    }
    current_ = Entry();
    in_signed_by_ = false;
  }

 private:
  const QueryContext& ctx_;
  const std::string& path_;
  std::vector<Entry>& entries_;
  Entry current_;
  bool in_signed_by_ = false;
};

std::vector<Entry> ReadOneLineFile(const QueryContext& ctx, const std::string& path,
                                   std::string_view text) {
  std::vector<Entry> entries;
  for (const internal::NumberedLine& line : internal::SplitLines(text)) {
    std::string_view content = line.text.substr(0, line.text.find('#'));
    if (internal::Trim(content).empty()) continue;
    Entry entry;
    entry.line = line.number;
    std::string error;
    if (ParseOneLine(content, entry, error)) {
      entries.push_back(std::move(entry));
    } else {
      ctx.Warn(path + ":" + std::to_string(line.number) + ": " + error);
    }
  }
  return entries;
}

// The URI with a password in it replaced by "***": "https://user:pw@host/" ->
// "https://user:***@host/". Query results travel to the hub; secrets should not.
std::string MaskPassword(std::string_view uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri);
  size_t start = scheme + 3;
  size_t at = uri.substr(start, uri.find('/', start) - start).rfind('@');
  if (at == std::string_view::npos) return std::string(uri);
  size_t colon = uri.substr(start, at).find(':');
  if (colon == std::string_view::npos) return std::string(uri);
  return std::string(uri.substr(0, start + colon + 1)) + "***" +
         std::string(uri.substr(start + at));
}

// The URI without scheme and trailing '/': "http://host/debian/" -> "host/debian".
std::string NameOfUri(std::string_view uri) {
  size_t scheme = uri.find("://");
  if (scheme != std::string_view::npos) {
    uri.remove_prefix(scheme + 3);
  } else if (size_t colon = uri.find(':'); colon != std::string_view::npos) {
    uri.remove_prefix(colon + 1);
  }
  while (!uri.empty() && uri.back() == '/') uri.remove_suffix(1);
  return std::string(uri);
}

class AptSourcesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<std::string> files = {"/etc/apt/sources.list"};
    if (auto listed = ctx.host().Glob("/etc/apt/sources.list.d/*"); listed.ok()) {
      for (std::string& file : *listed) {
        if (file.ends_with(".list") || file.ends_with(".sources")) files.push_back(std::move(file));
      }
    }
    const bool want_release = ctx.IsUsed(kRelease) || ctx.IsUsed(kVersion) ||
                              ctx.IsUsed(kMaintainer) || ctx.IsUsed(kComponents) ||
                              ctx.IsUsed(kArchitectures);
    std::map<std::string, std::optional<AptRelease>> releases;  // by list prefix
    std::vector<Row> rows;
    for (const std::string& file : files) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      std::optional<std::string> text = internal::ReadOptionalFile(ctx, file, kMaxSourcesBytes);
      if (!text) continue;
      std::vector<Entry> entries;
      if (file.ends_with(".sources")) {
        SourcesHandler handler(ctx, file, entries);
        internal::Deb822Reader(ctx, file, handler).Parse(*text);
      } else {
        entries = ReadOneLineFile(ctx, file, *text);
      }
      for (const Entry& entry : entries) {
        for (const std::string& type : entry.types) {
          for (const std::string& uri : entry.uris) {
            for (const std::string& suite : entry.suites) {
              Row row = MakeRow(entry, type, uri, suite, file);
              if (want_release) {
                std::string prefix = internal::AptListPrefix(uri, suite);
                auto [it, added] = releases.try_emplace(prefix);
                if (added) it->second = internal::FindAptRelease(ctx, prefix);
                if (it->second) AddRelease(*it->second, row);
              }
              rows.push_back(std::move(row));
            }
          }
        }
      }
    }
    return rows;
  }

 private:
  static Row MakeRow(const Entry& entry, const std::string& type, const std::string& uri,
                     const std::string& suite, const std::string& file) {
    std::string base_uri = MaskPassword(uri);
    while (base_uri.size() > 1 && base_uri.back() == '/') base_uri.pop_back();
    Row row(kColumnCount);
    row[kName] = NameOfUri(base_uri) + " " + suite;
    row[kSource] = file;
    row[kBaseUri] = std::move(base_uri);
    row[kType] = type;
    row[kSuite] = suite;
    row[kEntryComponents] = entry.components;
    if (entry.has_architectures) row[kEntryArchitectures] = entry.architectures;
    if (!entry.signed_by.empty()) row[kSignedBy] = entry.signed_by;
    row[kTrusted] = entry.trusted;
    row[kEnabled] = entry.enabled;
    row[kFile] = file;
    row[kLine] = entry.line;
    return row;
  }

  static void AddRelease(const AptRelease& release, Row& row) {
    row[kRelease] = release.codename;
    row[kVersion] = release.version;
    row[kMaintainer] = release.origin;
    row[kComponents] = release.components;
    row[kArchitectures] = release.architectures;
  }

  const Schema schema_ = AptSourcesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeAptSourcesTable() { return std::make_unique<AptSourcesTable>(); }

}  // namespace vigil::tables
