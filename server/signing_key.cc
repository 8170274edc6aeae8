#include "server/signing_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace vigil::server {
namespace {

constexpr char kSigningDir[] = "signing";
constexpr char kKeyFile[] = "ed25519.pem";
constexpr size_t kMaxKeyFile = 16u << 10;

Status MakePrivateDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "creating directory " + path);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "directory " + path);
  if (!S_ISDIR(st.st_mode)) return Status::FailedPrecondition(path + " is not a directory");
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& content, const std::string& path) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing signing key " + path);
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "writing signing key " + path);
  return Status::Ok();
}

// A new key, written to a temporary file and linked into place: link() never replaces an
// existing file, so a key another process wrote first is kept (and read by the caller).
Status CreateKeyFile(const std::string& dir, const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(SigningKey key, GenerateSigningKey());
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating signing key " + temp);
  Status status = WriteAll(fd, key.private_pem, temp);
  ::close(fd);
  if (status.ok() && ::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    status = Status::FromErrno(errno, "creating signing key " + path);
  }
  ::unlink(temp.c_str());
  if (!status.ok()) return status;
  // The new name is durable only once the directory is synced.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Status::FromErrno(errno, "syncing directory " + dir);
  const bool synced = ::fsync(dir_fd) == 0;
  const int err = errno;
  ::close(dir_fd);
  if (!synced) return Status::FromErrno(err, "syncing directory " + dir);
  return Status::Ok();
}

// Reads the key file: a regular file (not a link), no access for group or others.
Result<std::string> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "signing key " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "signing key " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition("signing key " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition("signing key " + path + " has mode " + mode +
                                      ": group and others must have no access (chmod 600 " + path +
                                      ")");
  }
  std::string content(kMaxKeyFile + 1, '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "reading signing key " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kMaxKeyFile) {
    return Status::InvalidArgument("signing key " + path + " is larger than " +
                                   std::to_string(kMaxKeyFile) + " bytes");
  }
  content.resize(got);
  return content;
}

}  // namespace

Result<SigningKey> LoadOrCreateHubSigningKey(const std::string& state_dir) {
  if (state_dir.empty()) return Status::InvalidArgument("the state directory must not be empty");
  const std::string dir = state_dir + "/" + kSigningDir;
  const std::string path = dir + "/" + kKeyFile;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::FromErrno(errno, "signing key " + path);
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) {
      return Status::IoError("creating state directory " + state_dir + " for " + path + ": " +
                             ec.message());
    }
    VIGIL_RETURN_IF_ERROR(MakePrivateDirectory(dir));
    VIGIL_RETURN_IF_ERROR(CreateKeyFile(dir, path));
  }
  VIGIL_ASSIGN_OR_RETURN(std::string pem, ReadKeyFile(path));
  auto key = LoadSigningKey(pem);
  if (!key.ok()) return Status(key.status()).WithContext(path);
  return key;
}

}  // namespace vigil::server
