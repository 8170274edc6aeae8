#include "cli/local_engine.h"

#include <filesystem>

#include "tables/builtin.h"

namespace vigil::cli {

void AddEngineFlags(FlagSet& flags) {
  flags.Value("root", "DIR", "Read the host under DIR instead of /", "/");
  flags.Value("timeout", "DURATION", "Time limit per statement (10, 10s, 500ms, 2m)", "10s");
  flags.Value("max-rows", "N", "Print at most N rows of a result and count the rest");
}

Result<LocalEngine> OpenLocalEngine(const FlagSet& flags) {
  LocalEngine engine;
  VIGIL_ASSIGN_OR_RETURN(engine.options.timeout, ParseDuration(*flags.Get("timeout")));
  if (auto max_rows = flags.Get("max-rows")) {
    VIGIL_ASSIGN_OR_RETURN(long long n, ParseCount(*max_rows, "--max-rows"));
    engine.options.max_rows = static_cast<size_t>(n);
  }
  VIGIL_ASSIGN_OR_RETURN(engine.host, Host::Open(*flags.Get("root")));
  engine.registry = std::make_unique<TableRegistry>();
  VIGIL_RETURN_IF_ERROR(tables::RegisterBuiltinTables(*engine.registry));
  VIGIL_ASSIGN_OR_RETURN(engine.database, Database::Open(*engine.registry, *engine.host));
  return engine;
}

Result<std::string> ReadLocalFile(const std::string& path, size_t max_bytes) {
  if (path.empty()) return Status::InvalidArgument("empty file name");
  std::string absolute = path;
  if (absolute[0] != '/') {
    std::error_code ec;
    absolute = std::filesystem::absolute(path, ec).string();
    if (ec) return Status::IoError("cannot resolve " + path + ": " + ec.message());
  }
  VIGIL_ASSIGN_OR_RETURN(auto machine, Host::Open("/"));
  auto content = machine->ReadFile(absolute, max_bytes);
  if (!content.ok() && absolute != path) {
    return Status(content.status()).WithContext(path);
  }
  return content;
}

}  // namespace vigil::cli
