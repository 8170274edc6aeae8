// Helpers for SQL-first tests: run a statement against the built-in tables with the host root
// at a fixture tree, and compare with what the system's own tools print.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/sql/database.h"
#include "engine/status.h"

namespace vigil::testing {

// tests/fixtures/hosts/NAME in the source tree.
std::string FixtureRoot(std::string_view name);

// Runs `sql` over the built-in tables with the host root at `root` ("/" for this machine).
Result<QueryResult> RunSql(std::string_view root, std::string_view sql,
                           const QueryOptions& options = {});

// Every row as text, cells joined by '|': {"root|0", "daemon|1"}. NULL prints as "NULL".
std::vector<std::string> RowsAsText(const QueryResult& result);

// Runs a shell command and returns its standard output; fails the test if it exits non-zero.
std::string CommandOutput(const std::string& command);
// Whether the command can be found on PATH.
bool HaveCommand(const std::string& name);

// A temporary directory removed (recursively) when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path() + relative, creating parent directories.
  void WriteFile(std::string_view relative, std::string_view content) const;
  void MakeDir(std::string_view relative) const;
  void Symlink(std::string_view target, std::string_view relative) const;

 private:
  std::string path_;
};

}  // namespace vigil::testing
