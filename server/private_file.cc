#include "server/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace vigil::server {
namespace {

std::string Named(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path;
}

Status WriteAll(int fd, std::string_view content, const std::string& name) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing " + name);
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "writing " + name);
  return Status::Ok();
}

// The new name is durable only once its directory is synced.
Status SyncDirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "syncing directory " + dir);
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) return Status::FromErrno(err, "syncing directory " + dir);
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadPrivateFile(const std::string& path, std::string_view what,
                                    size_t max_bytes) {
  const std::string name = Named(what, path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, name);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno(err, name);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition(name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition(name + " has mode " + mode +
                                      ": group and others must have no access (chmod 600 " +
                                      path + ")");
  }
  std::string content(max_bytes + 1, '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "reading " + name);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > max_bytes) {
    return Status::InvalidArgument(name + " is larger than " + std::to_string(max_bytes) +
                                   " bytes");
  }
  content.resize(got);
  return content;
}

Status CreatePrivateFile(const std::string& path, std::string_view what, std::string_view content) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + Named(what, temp));
  Status status = WriteAll(fd, content, Named(what, temp));
  ::close(fd);
  // link() never replaces: a file another process made first is kept.
  if (status.ok() && ::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    status = Status::FromErrno(errno, "creating " + Named(what, path));
  }
  ::unlink(temp.c_str());
  if (!status.ok()) return status;
  return SyncDirectoryOf(path);
}

}  // namespace vigil::server
