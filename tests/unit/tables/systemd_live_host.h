// A host that passes for this machine (is_machine_root()) while its files come from a test tree
// and its commands print canned output: for the live paths of tables that ask systemctl, which
// a container without a running systemd cannot exercise.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "tables/builtin.h"

namespace vigil::testing {

class CannedLiveHost : public Host {
 public:
  // `files` is a host opened at the tree that stands for "/"; it must outlive this one.
  explicit CannedLiveHost(const Host& files) : Host(""), files_(files) {}

  Result<std::string> Canonical(std::string_view path) const override {
    return files_.Canonical(path);
  }
  Result<std::string> ReadFile(std::string_view path, size_t max_bytes) const override {
    return files_.ReadFile(path, max_bytes);
  }
  Status ReadChunks(std::string_view path, size_t max_bytes,
                    const std::function<Status(std::string_view)>& consume) const override {
    return files_.ReadChunks(path, max_bytes, consume);
  }
  Result<std::vector<DirEntry>> ListDirectory(std::string_view path) const override {
    return files_.ListDirectory(path);
  }
  Result<struct stat> Stat(std::string_view path) const override { return files_.Stat(path); }
  Result<struct stat> Lstat(std::string_view path) const override { return files_.Lstat(path); }
  Result<std::string> ReadLink(std::string_view path) const override {
    return files_.ReadLink(path);
  }

  // Answers with outputs[argv[1]] ("list-units"), or NotFound as if systemctl were missing.
  Result<CommandResult> Run(const std::vector<std::string>& argv,
                            const CommandOptions&) const override {
    calls.push_back(argv);
    auto it = argv.size() > 1 ? outputs.find(argv[1]) : outputs.end();
    if (it == outputs.end()) return Status::NotFound(argv[0] + ": not found");
    return it->second;
  }

  std::map<std::string, CommandResult> outputs;
  mutable std::vector<std::vector<std::string>> calls;

 private:
  const Host& files_;
};

// Runs `sql` over the built-in tables on `host`.
inline Result<QueryResult> QueryHost(const Host& host, std::string_view sql) {
  TableRegistry registry;
  VIGIL_RETURN_IF_ERROR(tables::RegisterBuiltinTables(registry));
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(registry, host));
  return db->Query(sql);
}

}  // namespace vigil::testing
