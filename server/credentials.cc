#include "server/credentials.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/digest.h"
#include "server/private_file.h"

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

// Reads the enroll secret file: a private file (private_file.h) whose first line is the secret.
Result<std::string> ReadEnrollSecret(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string content,
                         ReadPrivateFile(path, "enroll secret file", kMaxEnrollSecretFile));
  std::string_view first_line(content);
  first_line = first_line.substr(0, first_line.find('\n'));
  const std::string_view secret = Trim(first_line);
  if (secret.empty()) {
    return Status::InvalidArgument("enroll secret file " + path +
                                   " is empty: its first line must be the secret");
  }
  return std::string(secret);
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
    VIGIL_RETURN_IF_ERROR(CreatePrivateFile(path, "enroll secret file", NewSecret("vge_") + "\n"));
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
