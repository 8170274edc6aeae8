// Runs a program to completion: feeds it stdin, collects stdout and stderr (each bounded), and
// kills it when it outlives its time limit. Used by Host::Run (validators such as `sshd -t`,
// live state such as `nft -j list ruleset`) and by the integration tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil {

struct CommandResult {
  int exit_code = -1;  // the program's exit status; 128 + N when killed by signal N
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

struct CommandOptions {
  std::string input;  // written to the program's stdin, which is then closed
  std::chrono::milliseconds timeout{10'000};
  size_t max_output = 16u << 20;  // per stream; the rest is read and dropped
};

// argv[0] is looked up in PATH. Errors: NotFound when the program does not exist,
// DeadlineExceeded when it was killed for running too long (with what it printed so far in the
// message), IoError when it could not be started. A non-zero exit is not an error.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& options = {});

// "nft -j list ruleset": argv joined for messages, with arguments that need it quoted.
std::string FormatCommand(const std::vector<std::string>& argv);

}  // namespace vigil
