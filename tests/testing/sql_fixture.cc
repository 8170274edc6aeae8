#include "tests/testing/sql_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/host.h"
#include "engine/registry.h"
#include "tables/builtin.h"

namespace vigil::testing {

std::string FixtureRoot(std::string_view name) {
  return std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/hosts/" + std::string(name);
}

Result<QueryResult> RunSql(std::string_view root, std::string_view sql,
                           const QueryOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Host> host, Host::Open(root));
  TableRegistry registry;
  VIGIL_RETURN_IF_ERROR(tables::RegisterBuiltinTables(registry));
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(registry, *host));
  return db->Query(sql, options);
}

std::vector<std::string> RowsAsText(const QueryResult& result) {
  std::vector<std::string> out;
  for (const Row& row : result.rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += '|';
      line += row[i].is_null() ? "NULL" : row[i].ToString();
    }
    out.push_back(std::move(line));
  }
  return out;
}

std::string CommandOutput(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run: " << command;
    return out;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "command failed (" << status << "): " << command;
  }
  return out;
}

bool HaveCommand(const std::string& name) {
  std::string probe = "command -v " + name + " >/dev/null 2>&1";
  return std::system(probe.c_str()) == 0;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "vigil-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  path_ = made;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
// "etc/x" and "/etc/x" both name path_/etc/x: an absolute name must never escape the directory.
std::filesystem::path Inside(const std::string& dir, std::string_view relative) {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  return std::filesystem::path(dir) / relative;
}
}  // namespace

void TempDir::WriteFile(std::string_view relative, std::string_view content) const {
  std::filesystem::path target = Inside(path_, relative);
  std::filesystem::create_directories(target.parent_path());
  std::ofstream out(target, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) ADD_FAILURE() << "cannot write " << target;
}

void TempDir::MakeDir(std::string_view relative) const {
  std::filesystem::create_directories(Inside(path_, relative));
}

void TempDir::Symlink(std::string_view target, std::string_view relative) const {
  std::filesystem::path link = Inside(path_, relative);
  std::filesystem::create_directories(link.parent_path());
  std::filesystem::create_symlink(std::string(target), link);
}

}  // namespace vigil::testing
