#include "tests/testing/fixture_hosts.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "tests/testing/sql_fixture.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;

// Git keeps only the executable bit, so each tree's permissions are set on a copy.
struct FileMode {
  const char* path;
  mode_t mode;
};
const FileMode kHardenedModes[] = {
    {"/etc/group", 0644},
    {"/etc/gshadow", 0640},
    {"/etc/passwd", 0644},
    {"/etc/shadow", 0640},
    {"/etc/sudoers", 0440},
    {"/etc/sudoers.d/README", 0440},
    {"/etc/sudoers.d/historian", 0440},
    {"/home/engineer/.ssh", 0700},
    {"/home/engineer/.ssh/authorized_keys", 0600},
    {"/var/log/audit", 0700},
    {"/var/log/audit/audit.log", 0600},
};
const FileMode kWeakModes[] = {
    {"/etc/group", 0644},
    {"/etc/gshadow", 0644},
    {"/etc/passwd", 0644},
    {"/etc/shadow", 0644},
    {"/etc/sudoers", 0440},
    {"/etc/sudoers.d/90-commissioning", 0644},
    {"/etc/sudoers.d/README", 0440},
    {"/etc/sudoers.d/historian", 0440},
    {"/home/engineer/.ssh", 0755},
    {"/home/engineer/.ssh/authorized_keys", 0644},
    {"/var/log/audit", 0755},
    {"/var/log/audit/audit.log", 0644},
};
// Files whose age a check judges (signatures, the backup marker) are dated on the copy: fresh
// on the hardened host, a year old on the weak one.
const std::vector<std::string> kDatedFiles = {
    "/var/lib/clamav/daily.cvd", "/var/lib/clamav/main.cvd", "/var/lib/backup/last-success"};


}  // namespace

std::string StageFixtureHost(std::string_view name, const std::string& parent) {
  const std::string root = parent + "/" + std::string(name);
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::copy(FixtureRoot(name), root, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
           ec);
  EXPECT_FALSE(ec) << "copying " << name << ": " << ec.message();
  const bool weak = name == "iec-weak";
  const bool hardened = name == "iec-hardened";
  if (weak || hardened) {
    for (const FileMode& m : weak ? std::vector<FileMode>(std::begin(kWeakModes), std::end(kWeakModes))
                                  : std::vector<FileMode>(std::begin(kHardenedModes),
                                                          std::end(kHardenedModes))) {
      EXPECT_EQ(::chmod((root + m.path).c_str(), m.mode), 0) << m.path;
    }
    for (const std::string& file : kDatedFiles) {
      if (!fs::exists(root + file)) continue;
      fs::file_time_type when = fs::file_time_type::clock::now();
      if (weak) when -= std::chrono::hours(24 * 365);
      fs::last_write_time(root + file, when, ec);
      EXPECT_FALSE(ec) << file << ": " << ec.message();
    }
  }
  return root;
}

}  // namespace vigil::testing
