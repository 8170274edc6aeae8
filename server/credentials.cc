#include "server/credentials.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/digest.h"

namespace vigil::server {

namespace {

constexpr char kEnrollSecretFile[] = "enroll_secret";
constexpr size_t kMaxEnrollSecretFile = 4096;

std::string RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  // RAND_bytes fails only when the system's entropy source does; nothing safe can be made then.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::fprintf(stderr, "vigil: the random number generator failed\n");
    std::abort();
  }
  std::string hex;
  hex.reserve(bytes * 2);
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  return hex;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// Reads the enroll secret file: a regular file, no access for group or others, one line.
Result<std::string> ReadEnrollSecret(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "enroll secret file " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "enroll secret file " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition("enroll secret file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition("enroll secret file " + path + " has mode " + mode +
                                      ": group and others must have no access (chmod 600 " +
                                      path + ")");
  }
  std::string content(kMaxEnrollSecretFile + 1, '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "reading enroll secret file " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kMaxEnrollSecretFile) {
    return Status::InvalidArgument("enroll secret file " + path + " is larger than " +
                                   std::to_string(kMaxEnrollSecretFile) + " bytes");
  }
  content.resize(got);
  std::string_view first_line(content);
  first_line = first_line.substr(0, first_line.find('\n'));
  const std::string_view secret = Trim(first_line);
  if (secret.empty()) {
    return Status::InvalidArgument("enroll secret file " + path +
                                   " is empty: its first line must be the secret");
  }
  return std::string(secret);
}

// Writes a new secret to a temporary file and links it into place, so that the file appears
// complete or not at all (and a concurrent first start keeps whichever came first).
Status CreateEnrollSecret(const std::string& path) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating enroll secret file " + temp);
  const std::string line = NewSecret("vge_") + "\n";
  size_t written = 0;
  Status status;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::FromErrno(errno, "writing enroll secret file " + temp);
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = Status::FromErrno(errno, "writing enroll secret file " + temp);
  }
  ::close(fd);
  if (status.ok() && ::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    status = Status::FromErrno(errno, "creating enroll secret file " + path);
  }
  ::unlink(temp.c_str());
  return status;
}

}  // namespace

std::string NewSecret(std::string_view prefix) { return std::string(prefix) + RandomHex(32); }

std::string SecretHash(std::string_view secret) { return Sha256Hex(secret); }

Result<std::string> LoadOrCreateEnrollSecret(const std::string& state_dir) {
  if (state_dir.empty()) return Status::InvalidArgument("the state directory must not be empty");
  const std::string path = state_dir + "/" + kEnrollSecretFile;
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno != ENOENT) return Status::FromErrno(errno, "enroll secret file " + path);
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) {
      return Status::IoError("creating state directory " + state_dir + " for " + path + ": " +
                             ec.message());
    }
    VIGIL_RETURN_IF_ERROR(CreateEnrollSecret(path));
  }
  return ReadEnrollSecret(path);
}

bool EnrollSecretMatches(std::string_view expected, std::string_view given) {
  if (expected.empty() || expected.size() != given.size()) return false;
  return CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

Result<NewToken> CreateToken(HubStore& store, Role role, std::string_view name,
                             std::string_view created_by) {
  if (Trim(name).empty()) return Status::InvalidArgument("a token needs a name (who it is for)");
  if (created_by.empty()) return Status::InvalidArgument("a token needs a creator");
  NewToken token;
  for (int attempt = 0;; ++attempt) {
    token.record.id = "tok_" + RandomHex(6);
    VIGIL_ASSIGN_OR_RETURN(auto existing, store.GetToken(token.record.id));
    if (!existing) break;
    if (attempt == 8) return Status::Internal("no unused token id after 8 attempts");
  }
  token.secret = NewSecret("vgt_");
  token.record.name = std::string(name);
  token.record.role = role;
  token.record.hash = SecretHash(token.secret);
  token.record.created_at = NowSeconds();
  token.record.created_by = std::string(created_by);
  VIGIL_RETURN_IF_ERROR(store.PutToken(token.record));
  return token;
}

Result<TokenRecord> Authenticate(const HubStore& store, std::string_view authorization) {
  std::string_view given = Trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (given.size() >= kScheme.size()) {
    bool is_bearer = true;
    for (size_t i = 0; i < kScheme.size(); ++i) {
      char c = given[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != kScheme[i]) is_bearer = false;
    }
    if (is_bearer) given = Trim(given.substr(kScheme.size()));
  }
  if (given.empty()) return Status::Unauthenticated("no bearer token given");
  if (given.find(' ') != std::string_view::npos) {
    return Status::Unauthenticated("the authorization is not a bearer token");
  }
  VIGIL_ASSIGN_OR_RETURN(auto token, store.FindTokenByHash(SecretHash(given)));
  if (!token) return Status::Unauthenticated("unknown token");
  if (token->revoked) return Status::Unauthenticated("token " + token->id + " was revoked");
  return *std::move(token);
}

Status RevokeToken(HubStore& store, std::string_view id) {
  VIGIL_ASSIGN_OR_RETURN(auto token, store.GetToken(id));
  if (!token) return Status::NotFound("no token with id " + std::string(id));
  if (token->revoked) return Status::Ok();
  token->revoked = true;
  token->revoked_at = NowSeconds();
  return store.PutToken(*token);
}

bool RoleAllows(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace vigil::server
