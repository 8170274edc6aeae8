#include "tests/testing/process.h"

#include "engine/process.h"

namespace vigil::testing {

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::seconds limit) {
  CommandOptions options;
  options.input = input;
  options.timeout = limit;
  ProcessResult result;
  auto run = RunCommand(argv, options);
  if (!run.ok()) {
    result.err = run.status().ToString();
    return result;
  }
  result.exit_code = run->exit_code;
  result.out = std::move(run->out);
  result.err = std::move(run->err);
  result.elapsed = run->elapsed;
  return result;
}

}  // namespace vigil::testing
