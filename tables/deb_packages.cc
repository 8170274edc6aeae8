// deb_packages: the packages dpkg knows as present on the host, from the status file of its
// admin directory (/var/lib/dpkg/status), in file order.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/dpkg_status.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::DpkgPackage;

// Column positions, in the order of the column list below.
enum DebPackagesColumn : int {
  kName,
  kVersion,
  kSource,
  kSize,
  kArch,
  kRevision,
  kStatus,
  kMaintainer,
  kSection,
  kPriority,
  kAdmindir,
  kSourceName,
  kSourceVersion,
  kColumnCount
};

Schema DebPackagesSchema() {
  return Schema{
      "deb_packages",
      "Debian packages from dpkg's database (the status file of the admin directory, "
      "/var/lib/dpkg/status unless admindir is constrained), in file order. Like dpkg-query "
      "-W, every package dpkg still records is listed except those in the not-installed "
      "state, so removed packages whose configuration files remain appear with status "
      "'deinstall ok config-files'; filter on status to see only installed ones. Text fields "
      "absent from a stanza are empty strings.",
      {
          {"name", ColumnType::kText, "Package name (the Package field)", kIndex},
          {"version", ColumnType::kText,
           "Installed version as dpkg writes it: [epoch:]upstream[-revision]"},
          {"source", ColumnType::kText,
           "The Source field as written: the source package name, followed by its version in "
           "parentheses when that differs from the binary's; empty when the source package "
           "has the binary's name and version"},
          {"size", ColumnType::kInteger,
           "The Installed-Size field: estimated disk space the package uses, in KiB (osquery "
           "describes this column as bytes but reports the same field); NULL when absent"},
          {"arch", ColumnType::kText, "Architecture (amd64, arm64, all, ...)"},
          {"revision", ColumnType::kText,
           "Debian revision: the part of the version after its last '-'; empty for native "
           "packages"},
          {"status", ColumnType::kText,
           "The Status field: desired action, error flag and state, as in 'install ok "
           "installed' or 'deinstall ok config-files'"},
          {"maintainer", ColumnType::kText, "The Maintainer field: name and e-mail address"},
          {"section", ColumnType::kText, "Archive section (admin, libs, net, ...)"},
          {"priority", ColumnType::kText, "Priority (required, important, standard, optional)"},
          {"admindir", ColumnType::kText,
           "dpkg admin directory the row comes from; /var/lib/dpkg unless the statement "
           "constrains it (admindir = '/other/dpkg' reads /other/dpkg/status)",
           kIndex},
          {"source_name", ColumnType::kText,
           "Source package name: Source without the version, or the package's own name when "
           "Source is absent (dpkg-query's ${source:Package}); what security trackers list"},
          {"source_version", ColumnType::kText,
           "Source package version: the version in parentheses in Source, else the package "
           "version (dpkg-query's ${source:Version})"},
      }};
}

// The Debian revision of a version: after the last '-', or "" for a native package.
std::string_view Revision(std::string_view version) {
  size_t dash = version.rfind('-');
  return dash == std::string_view::npos ? std::string_view() : version.substr(dash + 1);
}

class DebPackagesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<std::string> admindirs = {std::string(internal::kDefaultDpkgAdminDir)};
    if (std::optional<std::vector<std::string>> wanted = ctx.EqualsText("admindir")) {
      admindirs = std::move(*wanted);
    }
    std::vector<Row> rows;
    for (std::string& admindir : admindirs) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      // The column keeps the directory as the statement wrote it, so SQLite's own check of
      // the constraint passes.
      if (admindir.empty() || admindir[0] != '/') continue;  // host paths are absolute
      std::string path = JoinPath(admindir, "status");
      std::optional<std::string> text =
          internal::ReadOptionalFile(ctx, path, internal::kMaxDpkgStatusBytes);
      if (!text) continue;  // not a dpkg host, or the warning is given
      std::vector<DpkgPackage> packages = internal::ParseDpkgStatus(ctx, path, *text);
      rows.reserve(rows.size() + packages.size());
      for (const DpkgPackage& package : packages) {
        if (internal::DpkgState(package.status) == "not-installed") continue;
        if (!ctx.Matches(kName, Value(package.name))) continue;
        rows.push_back(MakeRow(ctx, package, admindir));
      }
    }
    return rows;
  }

 private:
  static Row MakeRow(const QueryContext& ctx, const DpkgPackage& package,
                     const std::string& admindir) {
    Row row(kColumnCount);
    auto set = [&](int column, std::string_view text) {
      if (ctx.IsUsed(column)) row[column] = text;
    };
    row[kName] = package.name;
    set(kVersion, package.version);
    set(kSource, package.source);
    if (std::optional<int64_t> size = internal::ParseInt(package.installed_size)) {
      row[kSize] = *size;
    }
    set(kArch, package.arch);
    set(kRevision, Revision(package.version));
    set(kStatus, package.status);
    set(kMaintainer, package.maintainer);
    set(kSection, package.section);
    set(kPriority, package.priority);
    row[kAdmindir] = admindir;
    set(kSourceName, internal::DpkgSourceName(package));
    set(kSourceVersion, internal::DpkgSourceVersion(package));
    return row;
  }

  const Schema schema_ = DebPackagesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeDebPackagesTable() { return std::make_unique<DebPackagesTable>(); }

}  // namespace vigil::tables
