// The subcommands of `vigil`. Each takes its arguments after the command name and returns the
// process exit code: 0 success, 1 the work failed (a bad statement, a failed check), 2 usage.
#pragma once

#include <string>
#include <vector>

namespace vigil::cli {

// Where a node keeps its store (snapshots, audit chain, outbox) unless --state-dir says.
inline constexpr const char* kDefaultStateDir = "/var/lib/vigil";

int RunSql(const std::vector<std::string>& args);
int RunShell(const std::vector<std::string>& args);
int RunDocs(const std::vector<std::string>& args);
int RunPacks(const std::vector<std::string>& args);
int RunAudit(const std::vector<std::string>& args);
int RunCheck(const std::vector<std::string>& args);
int RunSnapshots(const std::vector<std::string>& args);
int RunDaemon(const std::vector<std::string>& args);

}  // namespace vigil::cli
