// vigil: the node's command. Parses the command name and hands the rest to it.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage =
    "Usage: vigil COMMAND [OPTIONS]\n"
    "\n"
    "Vigil answers SQL about this host: every host trait and security control is a table.\n"
    "\n"
    "Commands:\n"
    "  sql STATEMENT   Run one read-only statement and print the result\n"
    "  shell           Interactive SQL shell (.help inside for its commands)\n"
    "  docs tables     Print the table reference (Markdown)\n"
    "  check PACK      Evaluate compliance packs (iec62443); --enforce repairs, --dry-run shows\n"
    "  packs validate  Validate pack files and print every problem\n"
    "  audit verify    Check the audit chain (audit show prints its records)\n"
    "  snapshots       List or restore the file contents enforcers kept before a change\n"
    "  daemon          The agent: checks, repairs and logs every cycle (--once for one cycle)\n"
    "\n"
    "Options:\n"
    "  --help          Show this help (vigil COMMAND --help for a command's options)\n"
    "  --version       Print the version\n"
    "\n"
    "Every command reads the host under --root DIR (default /).\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << "vigil " << VIGIL_VERSION << "\n";
    return 0;
  }
  if (command == "sql") return vigil::cli::RunSql(rest);
  if (command == "shell") return vigil::cli::RunShell(rest);
  if (command == "docs") return vigil::cli::RunDocs(rest);
  if (command == "packs") return vigil::cli::RunPacks(rest);
  if (command == "audit") return vigil::cli::RunAudit(rest);
  if (command == "check") return vigil::cli::RunCheck(rest);
  if (command == "snapshots") return vigil::cli::RunSnapshots(rest);
  if (command == "daemon") return vigil::cli::RunDaemon(rest);
  std::cerr << "vigil: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
