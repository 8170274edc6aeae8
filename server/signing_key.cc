#include "server/signing_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "server/private_file.h"

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
    VIGIL_ASSIGN_OR_RETURN(SigningKey made, GenerateSigningKey());
    VIGIL_RETURN_IF_ERROR(CreatePrivateFile(path, "signing key", made.private_pem));
  }
  VIGIL_ASSIGN_OR_RETURN(std::string pem, ReadPrivateFile(path, "signing key", kMaxKeyFile));
  auto key = LoadSigningKey(pem);
  if (!key.ok()) return Status(key.status()).WithContext(path);
  return key;
}

}  // namespace vigil::server
