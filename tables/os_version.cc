// os_version: the distribution described by os-release(5), in one row.
#include <sys/utsname.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum OsVersionColumn : int {
  kName,
  kVersion,
  kMajor,
  kMinor,
  kPatch,
  kBuild,
  kPlatform,
  kPlatformLike,
  kCodename,
  kArch,
  kColumnCount
};

Schema OsVersionSchema() {
  return Schema{
      "os_version",
      "The operating system from /etc/os-release (or /usr/lib/os-release when the former is "
      "missing). Always one row; fields the file lacks are empty, numbers NULL.",
      {
          {"name", ColumnType::kText, "Distribution name (NAME)"},
          {"version", ColumnType::kText, "Version as shown to people (VERSION)"},
          {"major", ColumnType::kInteger,
           "First number of VERSION_ID; NULL when VERSION_ID does not start with a number"},
          {"minor", ColumnType::kInteger,
           "Second number of VERSION_ID; 0 when VERSION_ID has no second part"},
          {"patch", ColumnType::kInteger,
           "Third number of VERSION_ID; 0 when VERSION_ID has no third part"},
          {"build", ColumnType::kText, "Build identifier (BUILD_ID), usually empty"},
          {"platform", ColumnType::kText, "Distribution id (ID), e.g. debian, ubuntu, rhel"},
          {"platform_like", ColumnType::kText, "Related distribution ids (ID_LIKE)"},
          {"codename", ColumnType::kText, "Release code name (VERSION_CODENAME)"},
          {"arch", ColumnType::kText,
           "Machine architecture of the running kernel (uname), also when the host root "
           "points at another tree"},
      }};
}

// The value of an os-release assignment: shell-style quoting with single or double quotes,
// and backslash escapes inside double quotes and in unquoted text.
std::string Unquote(std::string_view raw) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        out += c;
      }
    } else if (c == '\\' && i + 1 < raw.size()) {
      out += raw[++i];
    } else if (quote == '"' && c == '"') {
      quote = 0;
    } else if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else if (quote == 0 && (c == ' ' || c == '\t')) {
      break;  // unquoted whitespace ends the value (a trailing comment or garbage)
    } else {
      out += c;
    }
  }
  return out;
}

std::map<std::string, std::string, std::less<>> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string, std::less<>> fields;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    fields[std::string(line.substr(0, eq))] = Unquote(line.substr(eq + 1));
  }
  return fields;
}

// The dot-separated numbers at the start of VERSION_ID ("22.04" -> 22, 4); parsing stops at
// the first part that does not start with a digit.
std::vector<int64_t> VersionNumbers(std::string_view version_id) {
  std::vector<int64_t> numbers;
  while (numbers.size() < 3) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(version_id.data(), version_id.data() + version_id.size(), n);
    if (ec != std::errc() || n < 0) break;
    numbers.push_back(n);
    version_id.remove_prefix(static_cast<size_t>(end - version_id.data()));
    if (version_id.empty() || version_id[0] != '.') break;
    version_id.remove_prefix(1);
  }
  return numbers;
}

std::string MachineArch() {
  struct utsname names;
  if (::uname(&names) != 0) return "";
  return names.machine;
}

class OsVersionTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    Result<std::string> text = ctx.host().ReadFile("/etc/os-release");
    if (!text.ok()) text = ctx.host().ReadFile("/usr/lib/os-release");
    auto fields = ParseOsRelease(text.ok() ? std::string_view(*text) : std::string_view());
    auto field = [&fields](std::string_view key) -> std::string {
      auto it = fields.find(key);
      return it == fields.end() ? std::string() : it->second;
    };

    Row row(kColumnCount);
    row[kName] = field("NAME");
    row[kVersion] = field("VERSION");
    std::vector<int64_t> numbers = VersionNumbers(field("VERSION_ID"));
    if (!numbers.empty()) {
      numbers.resize(3, 0);
      row[kMajor] = numbers[0];
      row[kMinor] = numbers[1];
      row[kPatch] = numbers[2];
    }
    row[kBuild] = field("BUILD_ID");
    row[kPlatform] = field("ID");
    row[kPlatformLike] = field("ID_LIKE");
    row[kCodename] = field("VERSION_CODENAME");
    row[kArch] = MachineArch();
    std::vector<Row> rows;
    rows.push_back(std::move(row));
    return rows;
  }

 private:
  const Schema schema_ = OsVersionSchema();
};

}  // namespace

std::unique_ptr<Table> MakeOsVersionTable() { return std::make_unique<OsVersionTable>(); }

}  // namespace vigil::tables
