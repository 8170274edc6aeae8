#include "agent/results_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace vigil::agent {

Status ResultsFile::Rotate() {
  const std::string& base = options_.path;
  auto name = [&](int i) { return i == 0 ? base : base + "." + std::to_string(i); };
  if (::unlink(name(options_.keep).c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove " + name(options_.keep));
  }
  for (int i = options_.keep - 1; i >= 0; --i) {
    if (::rename(name(i).c_str(), name(i + 1).c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "rotate " + name(i));
    }
  }
  return Status::Ok();
}

Status ResultsFile::Append(const std::vector<std::string>& lines) {
  if (lines.empty()) return Status::Ok();
  std::string text;
  for (const std::string& line : lines) {
    text += line;
    text += '\n';
  }
  struct stat st;
  if (::stat(options_.path.c_str(), &st) == 0 && st.st_size > 0 &&
      static_cast<uint64_t>(st.st_size) + text.size() > options_.max_bytes) {
    VIGIL_RETURN_IF_ERROR(Rotate());
  }
  int fd = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + options_.path);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::FromErrno(errno, "write " + options_.path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Status::FromErrno(errno, "close " + options_.path);
  return Status::Ok();
}

}  // namespace vigil::agent
