// Runs a program to completion for integration tests (engine/process.h underneath), giving a
// result even when it cannot start (exit_code -1 and the reason in err).
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
