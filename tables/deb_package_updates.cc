// deb_package_updates: installed Debian packages for which apt's local package lists offer a
// newer version, with the archive that offers it. Works offline from what `apt update` last
// downloaded to /var/lib/apt/lists; it never contacts a repository.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/host.h"
#include "engine/sql/version_compare.h"
#include "engine/table.h"
#include "tables/internal/apt_lists.h"
#include "tables/internal/deb822.h"
#include "tables/internal/dpkg_status.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::AptRelease;
using internal::DpkgPackage;
using internal::EqualsIgnoreCase;

// Column positions, in the order of the column list below.
enum DebPackageUpdatesColumn : int {
  kName,
  kArch,
  kInstalledVersion,
  kCandidateVersion,
  kArchive,
  kSecurity,
  kListFile,
  kColumnCount
};

Schema DebPackageUpdatesSchema() {
  return Schema{
      "deb_package_updates",
      "Installed Debian packages (dpkg status other than not-installed and config-files) for "
      "which a package list in /var/lib/apt/lists (*_Packages, as the last apt update left "
      "them) offers a newer version, in Debian version order. The candidate is the highest "
      "version of the same name and architecture (or 'all') in any list, like apt with its "
      "default pin priorities; pins in /etc/apt/preferences are not applied, and archives "
      "whose Release file says NotAutomatic (experimental, backports) are left out. "
      "Compressed lists (*_Packages.lz4, .gz, .xz, ...) are not read: each gives a warning.",
      {
          {"name", ColumnType::kText, "Package name", kIndex},
          {"arch", ColumnType::kText, "Architecture of the installed package"},
          {"installed_version", ColumnType::kText, "Version dpkg has installed"},
          {"candidate_version", ColumnType::kText, "Newest version the lists offer"},
          {"archive", ColumnType::kText,
           "Suite offering the candidate, as the sources entry names it "
           "(bookworm-security); from the Release file's Suite for a flat repository; NULL "
           "when unknown"},
          {"security", ColumnType::kInteger,
           "1 when the candidate comes from a security archive (its suite or codename ends in "
           "-security), else 0; when several lists offer the candidate, a security one is "
           "preferred"},
          {"list_file", ColumnType::kText, "The package list offering the candidate"},
      }};
}

constexpr size_t kMaxPackagesBytes = size_t{1} << 30;

struct Candidate {
  std::string version;
  std::optional<std::string> archive;
  bool security = false;
  const std::string* list_file = nullptr;
};

struct Installed {
  const DpkgPackage* package = nullptr;
  std::optional<Candidate> best;
};

using InstalledByName = std::unordered_map<std::string_view, std::vector<Installed>>;

// Where a list file comes from.
struct ListOrigin {
  std::string file;
  std::optional<std::string> archive;
  bool security = false;
};

bool IsCompressedList(std::string_view name) {
  for (std::string_view suffix : {".gz", ".xz", ".lz4", ".zst", ".bz2", ".lzma"}) {
    if (name.ends_with(suffix) &&
        name.substr(0, name.size() - suffix.size()).ends_with("_Packages")) {
      return true;
    }
  }
  return false;
}

bool EndsWithSecurity(std::string_view suite) { return suite.ends_with("-security"); }

// Reads one Packages list, keeping only stanzas of installed packages.
class PackagesHandler final : public internal::Deb822Handler {
 public:
  PackagesHandler(InstalledByName& installed, const ListOrigin& origin)
      : installed_(installed), origin_(origin) {}

  void OnField(std::string_view name, std::string_view value, int /*line*/) override {
    if (EqualsIgnoreCase(name, "Package")) {
      auto it = installed_.find(value);
      matches_ = it == installed_.end() ? nullptr : &it->second;
    } else if (EqualsIgnoreCase(name, "Version")) {  // kept whatever the field order
      version_.assign(value);
    } else if (EqualsIgnoreCase(name, "Architecture")) {
      arch_.assign(value);
    }
  }

  void OnStanzaEnd() override {
    if (matches_ != nullptr && !version_.empty()) {
      for (Installed& installed : *matches_) Offer(installed);
    }
    matches_ = nullptr;
    version_.clear();
    arch_.clear();
  }

 private:
  void Offer(Installed& installed) const {
    std::string_view arch = installed.package->arch;
    if (arch_ != arch && arch_ != "all" && arch != "all") return;
    if (CompareDebianVersions(version_, installed.package->version) <= 0) return;
    if (installed.best) {
      int order = CompareDebianVersions(version_, installed.best->version);
      if (order < 0 || (order == 0 && (installed.best->security || !origin_.security))) return;
    }
    installed.best = Candidate{version_, origin_.archive, origin_.security, &origin_.file};
  }

  InstalledByName& installed_;
  const ListOrigin& origin_;
  std::vector<Installed>* matches_ = nullptr;
  std::string version_;
  std::string arch_;
};

// The Release file prefix and suite of a list file name:
// "host_debian_dists_bookworm-security_main_binary-amd64_Packages" ->
// {"host_debian_dists_bookworm-security_", "bookworm-security"}; a flat repository's
// "host_repo_._Packages" -> {"host_repo_._", nullopt}.
std::pair<std::string, std::optional<std::string>> SplitListName(std::string_view name) {
  size_t dists = name.rfind("_dists_");
  if (dists != std::string_view::npos) {
    size_t start = dists + 7;
    size_t end = name.find('_', start);
    if (end != std::string_view::npos) {
      return {std::string(name.substr(0, end + 1)),
              internal::AptUnquote(name.substr(start, end - start))};
    }
  }
  name.remove_suffix(std::string_view("Packages").size());
  return {std::string(name), std::nullopt};
}

class DebPackageUpdatesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    const std::string status_path = JoinPath(internal::kDefaultDpkgAdminDir, "status");
    std::optional<std::string> status =
        internal::ReadOptionalFile(ctx, status_path, internal::kMaxDpkgStatusBytes);
    if (!status) return rows;
    const std::vector<DpkgPackage> packages = internal::ParseDpkgStatus(ctx, status_path, *status);
    std::vector<std::pair<std::string_view, size_t>> order;  // name, index in its vector
    InstalledByName installed;
    for (const DpkgPackage& package : packages) {
      if (!internal::DpkgFilesPresent(package.status)) continue;
      if (!ctx.Matches(kName, Value(package.name))) continue;
      std::vector<Installed>& same_name = installed[package.name];
      order.emplace_back(package.name, same_name.size());
      same_name.push_back(Installed{&package, std::nullopt});
    }
    if (installed.empty()) return rows;

    VIGIL_ASSIGN_OR_RETURN(std::vector<ListOrigin> lists, FindLists(ctx));
    for (const ListOrigin& list : lists) {
      PackagesHandler handler(installed, list);
      internal::Deb822Reader reader(ctx, list.file, handler);
      Status read =
          ctx.host().ReadChunks(list.file, kMaxPackagesBytes, [&](std::string_view chunk) {
            reader.Feed(chunk);
            return ctx.CheckDeadline();
          });
      if (read.code() == StatusCode::kDeadlineExceeded) return read;
      if (!read.ok()) {
        ctx.Warn(read.message());
        continue;
      }
      reader.Finish();
    }

    for (const auto& [name, index] : order) {
      const Installed& item = installed[name][index];
      if (!item.best) continue;
      Row row(kColumnCount);
      row[kName] = name;
      row[kArch] = item.package->arch;
      row[kInstalledVersion] = item.package->version;
      row[kCandidateVersion] = item.best->version;
      if (item.best->archive) row[kArchive] = *item.best->archive;
      row[kSecurity] = item.best->security;
      row[kListFile] = *item.best->list_file;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  // The plain package lists to read, with their archive; warns about compressed ones.
  static Result<std::vector<ListOrigin>> FindLists(const QueryContext& ctx) {
    std::vector<ListOrigin> lists;
    const std::string dir(internal::kAptListsDir);
    Result<std::vector<DirEntry>> entries = ctx.host().ListDirectory(dir);
    if (!entries.ok()) {
      if (entries.status().code() != StatusCode::kNotFound) ctx.Warn(entries.status().message());
      return lists;
    }
    std::unordered_map<std::string, std::optional<AptRelease>> releases;
    for (const DirEntry& entry : *entries) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      const std::string& name = entry.name;
      if (entry.type != FileType::kRegular && entry.type != FileType::kSymlink) continue;
      if (IsCompressedList(name)) {
        ctx.Warn(JoinPath(dir, name) + ": compressed package list not read");
        continue;
      }
      if (!name.ends_with("_Packages")) continue;
      auto [prefix, suite] = SplitListName(name);
      auto [it, added] = releases.try_emplace(prefix);
      if (added) it->second = internal::FindAptRelease(ctx, prefix);
      const std::optional<AptRelease>& release = it->second;
      if (release && release->not_automatic) continue;
      ListOrigin origin{JoinPath(dir, name), suite, false};
      if (!origin.archive && release && !release->suite.empty()) origin.archive = release->suite;
      origin.security =
          (suite && EndsWithSecurity(*suite)) ||
          (release && (EndsWithSecurity(release->suite) || EndsWithSecurity(release->codename)));
      lists.push_back(std::move(origin));
    }
    return lists;
  }

  const Schema schema_ = DebPackageUpdatesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeDebPackageUpdatesTable() {
  return std::make_unique<DebPackageUpdatesTable>();
}

}  // namespace vigil::tables
