// Runs a program to completion for integration tests: feeds it stdin, collects stdout and
// stderr, and kills it if it outlives its time limit.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace vigil::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when it was killed or could not start
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace vigil::testing
