// A program running in the background for integration tests: the hub, agents, a vigilctl that
// waits. Its standard output and error go to files the test reads; the destructor kills it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vigil::testing {

class BackgroundProcess {
 public:
  // Starts argv[0] with `argv`; standard output to `out_file`, error to `err_file` (each
  // emptied first; "" for /dev/null). pid() is -1 when it could not start.
  BackgroundProcess(std::vector<std::string> argv, const std::string& out_file,
                    const std::string& err_file);
  ~BackgroundProcess();  // SIGKILL when still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  void Signal(int sig) const;
  // The exit status (128 + signal when killed), or -1 when it has not exited within `limit`.
  // Once it has exited, the same status every time.
  int Wait(std::chrono::milliseconds limit);
  // SIGTERM, then Wait(limit).
  int Terminate(std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Polls `done` every 50 ms for up to `limit`; its last answer.
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds limit);

// The whole content of a file ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// The value after "KEY " on the first line of `text` that starts with it, or "".
std::string LineValue(const std::string& text, const std::string& key);

}  // namespace vigil::testing
