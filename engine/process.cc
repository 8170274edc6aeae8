#include "engine/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// write() to a pipe whose reader has gone raises SIGPIPE, which would end the whole process
// (the agent). Block it for this thread, and swallow the one the write may leave pending.
ssize_t WriteWithoutSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t w = ::write(fd, data, size);
  if (w < 0 && errno == EPIPE) {
    timespec zero{};
    sigtimedwait(&pipe_only, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return w;
}

}  // namespace

std::string FormatCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& options) {
  if (argv.empty()) return Status::InvalidArgument("no command to run");
  int in[2], out[2], err[2], exec_error[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
      ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(exec_error, O_CLOEXEC) != 0) {
    return Status::FromErrno(errno, "pipe for " + argv[0]);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork for " + argv[0]);
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args[0], args.data());
    int e = errno;
    (void)!::write(exec_error[1], &e, sizeof(e));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(exec_error[1]);
  int exec_errno = 0;
  ssize_t got_errno = ::read(exec_error[0], &exec_errno, sizeof(exec_errno));
  ::close(exec_error[0]);

  CommandResult result;
  int to_child = in[1];
  int from_out = out[0], from_err = err[0];
  size_t written = 0;
  if (options.input.empty() || got_errno > 0) CloseFd(to_child);
  const auto deadline = start + options.timeout;
  bool killed = false;
  while (from_out >= 0 || from_err >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd fds[3] = {{from_out, POLLIN, 0}, {from_err, POLLIN, 0}, {to_child, POLLOUT, 0}};
    int n = ::poll(fds, 3, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buffer[16384];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t r = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (r <= 0) {
        CloseFd(i == 0 ? from_out : from_err);
        continue;
      }
      std::string& sink = i == 0 ? result.out : result.err;
      size_t room = options.max_output > sink.size() ? options.max_output - sink.size() : 0;
      sink.append(buffer, std::min(room, static_cast<size_t>(r)));
    }
    if (to_child >= 0 && fds[2].revents != 0) {
      ssize_t w = WriteWithoutSigpipe(to_child, options.input.data() + written,
                                      options.input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == options.input.size()) CloseFd(to_child);
    }
  }
  CloseFd(to_child);
  CloseFd(from_out);
  CloseFd(from_err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (got_errno > 0) {
    return Status::FromErrno(exec_errno, "cannot run " + argv[0]);
  }
  if (killed) {
    return Status::DeadlineExceeded(FormatCommand(argv) + " did not finish within " +
                                    std::to_string(options.timeout.count()) + " ms");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace vigil
