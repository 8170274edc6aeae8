// Message digests (MD5, SHA-1, SHA-256) as lowercase hex, over OpenSSL's EVP interface.
// OpenSSL stays inside digest.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace vigil {

class Digest {
 public:
  enum class Algorithm { kMd5, kSha1, kSha256 };

  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(std::string_view data);
  // The digest of everything given to Update(), as lowercase hex. Call once.
  std::string HexFinal();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(std::string_view data);

}  // namespace vigil
