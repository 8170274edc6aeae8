#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/remote_engine.h"

namespace vigil::cli {

int RunSql(const std::vector<std::string>& args) {
  FlagSet flags("vigil sql [OPTIONS] STATEMENT",
                "Runs one read-only SQL statement against this host's tables and prints the "
                "result.\nOutput is a boxed table on a terminal and '|'-separated rows without a "
                "header otherwise,\nunless a format is chosen. Exit status: 0 on success, 1 when "
                "the statement fails, 2 on bad usage.");
  flags.Bool("json", "Print a JSON array of objects (integers and reals as numbers)");
  flags.Bool("csv", "Print CSV with a header row");
  flags.Bool("line", "Print one 'column = value' line per column, rows separated by a blank line");
  flags.Bool("pretty", "Print a boxed table with a header");
  flags.Bool("list", "Print rows with cells separated by '|', without a header");
  AddStatementEngineFlags(flags);
  if (Status s = flags.Parse(args); !s.ok()) {
    std::cerr << "vigil sql: " << s.message() << "\n(see vigil sql --help)\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (flags.positionals().size() != 1) {
    std::cerr << "vigil sql: expected exactly one STATEMENT (quote it), got "
              << flags.positionals().size() << "\n(see vigil sql --help)\n";
    return 2;
  }
  OutputMode mode = ::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList;
  bool headers = mode == OutputMode::kPretty;
  int chosen = 0;
  for (auto [name, m] : {std::pair{"json", OutputMode::kJson}, {"csv", OutputMode::kCsv},
                         {"line", OutputMode::kLine}, {"pretty", OutputMode::kPretty},
                         {"list", OutputMode::kList}}) {
    if (!flags.IsSet(name)) continue;
    ++chosen;
    mode = m;
    headers = m != OutputMode::kList;
  }
  if (chosen > 1) {
    std::cerr << "vigil sql: choose one of --json, --csv, --line, --pretty, --list\n";
    return 2;
  }

  auto engine = OpenStatementEngine(flags);
  if (!engine.ok()) {
    std::cerr << "vigil sql: " << engine.status().message() << "\n";
    return engine.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  auto writer = MakeWriter(mode, headers, std::cout);
  // Nothing is printed until the first row, so a statement that fails at once prints only
  // its error.
  std::vector<std::string> columns;
  bool begun = false;
  auto produced = (*engine)->Stream(
      flags.positionals()[0],
      [&](const std::vector<std::string>& names) { columns = names; },
      [&](Row&& row) {
        if (!begun) writer->Begin(columns);
        begun = true;
        writer->AddRow(row);
        return true;
      });
  std::cout.flush();
  for (const std::string& w : (*engine)->warnings()) std::cerr << "warning: " << w << "\n";
  if (!produced.ok()) {
    std::cerr << "vigil sql: " << produced.status().message() << "\n";
    return 1;
  }
  if (!begun) writer->Begin(columns);
  writer->End();
  const auto& max_rows = (*engine)->options().max_rows;
  if (max_rows && *produced > *max_rows) {
    std::cerr << "vigil sql: printed " << *max_rows << " of " << *produced
              << " rows (--max-rows)\n";
  }
  return 0;
}

}  // namespace vigil::cli
