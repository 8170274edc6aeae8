#include "tables/internal/dpkg_status.h"

#include "tables/internal/deb822.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

class StatusHandler final : public Deb822Handler {
 public:
  StatusHandler(const QueryContext& ctx, const std::string& path,
                std::vector<DpkgPackage>& packages)
      : ctx_(ctx), path_(path), packages_(packages) {}

  void OnField(std::string_view name, std::string_view value, int line) override {
    if (current_.line == 0) current_.line = line;
    // Dispatch on the first letter: most fields of a stanza are not wanted.
    switch (name[0] | 0x20) {
      case 'p':
        if (EqualsIgnoreCase(name, "Package"))
          current_.name = value;
        else if (EqualsIgnoreCase(name, "Priority"))
          current_.priority = value;
        break;
      case 'v':
        if (EqualsIgnoreCase(name, "Version")) current_.version = value;
        break;
      case 'a':
        if (EqualsIgnoreCase(name, "Architecture")) current_.arch = value;
        break;
      case 's':
        if (EqualsIgnoreCase(name, "Status"))
          current_.status = value;
        else if (EqualsIgnoreCase(name, "Source"))
          current_.source = value;
        else if (EqualsIgnoreCase(name, "Section"))
          current_.section = value;
        break;
      case 'i':
        if (EqualsIgnoreCase(name, "Installed-Size")) current_.installed_size = value;
        break;
      case 'm':
        if (EqualsIgnoreCase(name, "Maintainer")) current_.maintainer = value;
        break;
      default:
        break;
    }
  }

  void OnStanzaEnd() override {
    if (current_.name.empty()) {
      ctx_.Warn(path_ + ":" + std::to_string(current_.line) + ": stanza without a Package field");
    } else {
      packages_.push_back(current_);
    }
    current_ = DpkgPackage();
  }

 private:
  const QueryContext& ctx_;
  const std::string& path_;
  std::vector<DpkgPackage>& packages_;
  DpkgPackage current_;
};

}  // namespace

std::vector<DpkgPackage> ParseDpkgStatus(const QueryContext& ctx, const std::string& path,
                                         std::string_view text) {
  std::vector<DpkgPackage> packages;
  packages.reserve(text.size() / 900 + 16);  // about one stanza per KiB on real hosts
  StatusHandler handler(ctx, path, packages);
  Deb822Reader(ctx, path, handler).Parse(text);
  return packages;
}

std::string_view DpkgState(std::string_view status) {
  status = Trim(status);
  size_t space = status.find_last_of(" \t");
  return space == std::string_view::npos ? std::string_view() : status.substr(space + 1);
}

bool DpkgFilesPresent(std::string_view status) {
  std::string_view state = DpkgState(status);
  return !state.empty() && state != "not-installed" && state != "config-files";
}

std::string_view DpkgSourceName(const DpkgPackage& package) {
  std::string_view source = Trim(package.source);
  if (source.empty()) return package.name;
  return Trim(source.substr(0, source.find_first_of(" \t(")));
}

std::string_view DpkgSourceVersion(const DpkgPackage& package) {
  std::string_view source = package.source;
  size_t open = source.find('(');
  size_t close = source.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return package.version;
  }
  return Trim(source.substr(open + 1, close - open - 1));
}

}  // namespace vigil::tables::internal
