// `vigil shell`: an interactive SQL shell over this host, with line editing and history on a
// terminal, and plain line reading when its input is a pipe or a file.
#include <editline/readline.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/remote_engine.h"

namespace vigil::cli {
namespace {

constexpr const char* kShellHelp =
    ".help                 Show this message\n"
    ".tables [PATTERN]     List tables, optionally those whose name contains PATTERN\n"
    ".schema [TABLE]       Show CREATE TABLE statements (all tables, or one)\n"
    ".mode MODE            Output mode: pretty, list, csv, json, line\n"
    ".headers on|off       Show column names (pretty, list, csv)\n"
    ".timer on|off         Print how long each statement took\n"
    ".quit, .exit          Leave the shell\n"
    "Statements end with ';' and may span lines. Vigil SQL is read-only.\n";

struct ShellState {
  std::unique_ptr<StatementEngine> engine;
  OutputMode mode = OutputMode::kPretty;
  bool headers = true;
  bool timer = false;
};

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  return home == nullptr ? "" : std::string(home) + "/.vigil_history";
}

// Reads one line: through the line editor on a terminal, plainly otherwise.
bool ReadLine(bool interactive, const char* prompt, std::string& line) {
  if (!interactive) return static_cast<bool>(std::getline(std::cin, line));
  char* raw = readline(prompt);
  if (raw == nullptr) return false;
  line = raw;
  std::free(raw);
  return true;
}

void RunStatement(ShellState& state, const std::string& sql) {
  auto start = std::chrono::steady_clock::now();
  auto writer = MakeWriter(state.mode, state.headers, std::cout);
  std::vector<std::string> columns;
  bool begun = false;
  auto produced = state.engine->Stream(
      sql, [&](const std::vector<std::string>& names) { columns = names; },
      [&](Row&& row) {
        if (!begun) writer->Begin(columns);
        begun = true;
        writer->AddRow(row);
        return true;
      });
  std::cout.flush();
  for (const std::string& w : state.engine->warnings()) {
    std::cerr << "warning: " << w << "\n";
  }
  if (!produced.ok()) {
    std::cerr << "Error: " << produced.status().message() << "\n";
    return;
  }
  if (begun || !columns.empty()) {
    if (!begun) writer->Begin(columns);
    writer->End();
  }
  const auto& max_rows = state.engine->options().max_rows;
  if (max_rows && *produced > *max_rows) {
    std::cerr << "(showing " << *max_rows << " of " << *produced << " rows)\n";
  }
  if (state.timer) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "Run Time: " << std::fixed << std::setprecision(3) << seconds << " s\n"
              << std::defaultfloat;
  }
}

std::string CreateStatement(const Schema& schema) {
  std::string out = "CREATE TABLE " + schema.name + "(";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const Column& c = schema.columns[i];
    out += (i > 0 ? ", " : "") + c.name + " " + std::string(ColumnTypeName(c.type));
    if (c.hidden()) out += " HIDDEN";
    if (c.required()) out += " REQUIRED";
    if (c.index()) out += " INDEX";
  }
  return out + ");";
}

bool ParseOnOff(const std::string& word, bool& out) {
  if (word == "on") out = true;
  else if (word == "off") out = false;
  else return false;
  return true;
}

// Returns false when the shell should end.
bool RunDotCommand(ShellState& state, const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  const std::string& cmd = words[0];
  if (cmd == ".quit" || cmd == ".exit" || cmd == ".q") return false;
  std::vector<Schema> tables;
  if (cmd == ".tables" || cmd == ".schema") {
    auto listed = state.engine->Tables();
    if (!listed.ok()) {
      std::cerr << "Error: " << listed.status().message() << "\n";
      return true;
    }
    tables = std::move(listed).value();
  }
  if (cmd == ".help") {
    std::cout << kShellHelp;
  } else if (cmd == ".tables") {
    for (const Schema& t : tables) {
      const std::string& name = t.name;
      if (words.size() < 2 || name.find(words[1]) != std::string::npos) {
        std::cout << "  => " << name << "\n";
      }
    }
  } else if (cmd == ".schema") {
    if (words.size() >= 2) {
      auto table = std::find_if(tables.begin(), tables.end(),
                                [&](const Schema& t) { return t.name == words[1]; });
      if (table == tables.end()) {
        std::cerr << "Error: no table named " << words[1] << " (try .tables)\n";
      } else {
        std::cout << CreateStatement(*table) << "\n";
      }
    } else {
      for (const Schema& t : tables) std::cout << CreateStatement(t) << "\n";
    }
  } else if (cmd == ".mode") {
    auto mode = words.size() == 2 ? ParseOutputMode(words[1]) : std::nullopt;
    if (!mode) {
      std::cerr << "Error: usage: .mode pretty|list|csv|json|line\n";
    } else {
      state.mode = *mode;
    }
  } else if (cmd == ".headers" || cmd == ".header") {
    if (words.size() != 2 || !ParseOnOff(words[1], state.headers)) {
      std::cerr << "Error: usage: .headers on|off\n";
    }
  } else if (cmd == ".timer") {
    if (words.size() != 2 || !ParseOnOff(words[1], state.timer)) {
      std::cerr << "Error: usage: .timer on|off\n";
    }
  } else {
    std::cerr << "Error: unknown command " << cmd << " (try .help)\n";
  }
  return true;
}

}  // namespace

int RunShell(const std::vector<std::string>& args) {
  FlagSet flags("vigil shell [OPTIONS]",
                "An interactive SQL shell over this host's tables. Type .help for its commands.\n"
                "On a terminal it has line editing and keeps history in ~/.vigil_history;\n"
                "with piped input it runs the statements it reads and exits.");
  AddStatementEngineFlags(flags);
  if (Status s = flags.Parse(args); !s.ok()) {
    std::cerr << "vigil shell: " << s.message() << "\n(see vigil shell --help)\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (!flags.positionals().empty()) {
    std::cerr << "vigil shell: unexpected argument " << flags.positionals()[0]
              << " (to run one statement use vigil sql)\n";
    return 2;
  }
  auto engine = OpenStatementEngine(flags);
  if (!engine.ok()) {
    std::cerr << "vigil shell: " << engine.status().message() << "\n";
    return engine.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  ShellState state{std::move(engine).value()};
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  if (!interactive) state.mode = ::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList;
  if (!interactive) state.headers = state.mode == OutputMode::kPretty;

  const std::string history = HistoryPath();
  if (interactive) {
    std::cout << "vigil " << VIGIL_VERSION << " shell on "
              << state.engine->Describe()
              << ". Enter .help for usage hints.\n";
    using_history();
    if (!history.empty()) read_history(history.c_str());
  }
  std::string pending;
  std::string line;
  while (ReadLine(interactive, pending.empty() ? "vigil> " : "  ...> ", line)) {
    if (pending.empty()) {
      size_t first = line.find_first_not_of(" \t");
      if (first == std::string::npos) continue;
      if (line[first] == '.') {
        if (interactive) add_history(line.c_str());
        if (!RunDotCommand(state, line.substr(first))) break;
        continue;
      }
    }
    pending += line;
    pending += '\n';
    if (!IsCompleteStatement(pending)) continue;
    if (interactive) {
      std::string entry = pending.substr(0, pending.size() - 1);
      add_history(entry.c_str());
    }
    RunStatement(state, pending);
    pending.clear();
  }
  if (!pending.empty() && pending.find_first_not_of(" \t\n") != std::string::npos) {
    RunStatement(state, pending);  // a last statement without ';'
  }
  if (interactive) {
    if (!history.empty()) write_history(history.c_str());
    std::cout << "\n";
  }
  return 0;
}

}  // namespace vigil::cli
