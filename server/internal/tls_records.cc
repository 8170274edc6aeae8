// TLS 1.3 record protection (RFC 8446 §5) once OpenSSL's handshake is done.
#include "server/internal/tls_records.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace vigil::server::internal {

namespace {

constexpr unsigned char kAlert = 21;
constexpr unsigned char kHandshake = 22;
constexpr unsigned char kApplicationData = 23;
constexpr unsigned char kKeyUpdate = 24;  // handshake message type
constexpr size_t kHeader = 5;
constexpr size_t kTag = 16;
constexpr size_t kMaxPlain = 16384;                 // 2^14
constexpr size_t kMaxCiphertext = kMaxPlain + 256;  // 2^14 + 256

unsigned long SslReason(int reason) {  // NOLINT(runtime/int)
  return ERR_PACK(ERR_LIB_SSL, 0, reason);
}

int ExIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void KeyLog(const SSL* ssl, const char* line) {
  auto* records = static_cast<TlsRecords*>(SSL_get_ex_data(ssl, ExIndex()));
  if (records != nullptr) records->OnSecret(line);
}

// HKDF-Expand-Label(secret, label, "", size) for a size within one hash block, which covers
// every key, IV and next secret TLS 1.3 derives here (RFC 8446 §7.1, RFC 5869 §2.3).
bool ExpandLabel(const EVP_MD* digest, const unsigned char* secret, size_t secret_size,
                 std::string_view label, unsigned char* out, size_t size) {
  constexpr std::string_view kPrefix = "tls13 ";
  unsigned char info[2 + 1 + 32 + 1 + 1];
  size_t n = 0;
  info[n++] = static_cast<unsigned char>(size >> 8);
  info[n++] = static_cast<unsigned char>(size);
  info[n++] = static_cast<unsigned char>(kPrefix.size() + label.size());
  std::memcpy(info + n, kPrefix.data(), kPrefix.size());
  n += kPrefix.size();
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // no context
  info[n++] = 1;  // the first (only) block
  unsigned char block[EVP_MAX_MD_SIZE];
  unsigned int block_size = 0;
  const bool ok =
      HMAC(digest, secret, static_cast<int>(secret_size), info, n, block, &block_size) != nullptr &&
      block_size >= size;
  if (ok) std::memcpy(out, block, size);
  OPENSSL_cleanse(block, sizeof(block));
  return ok;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The suites' AEADs, fetched once: EVP_aes_128_gcm() and the like would be looked up again
// in the provider's store each time a context is keyed, that is for every record.
const EVP_CIPHER* Fetched(const char* name) { return EVP_CIPHER_fetch(nullptr, name, nullptr); }

const EVP_CIPHER* Aes128Gcm() {
  static const EVP_CIPHER* cipher = Fetched("AES-128-GCM");
  return cipher;
}
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = Fetched("AES-256-GCM");
  return cipher;
}
const EVP_CIPHER* ChaCha20Poly1305() {
  static const EVP_CIPHER* cipher = Fetched("ChaCha20-Poly1305");
  return cipher;
}

// One cipher context per thread, keyed afresh for each record: a connection keeps no cipher
// state of its own (two contexts would be about 2 KB per connection). Null on failure.
EVP_CIPHER_CTX* ThreadCipher(const EVP_CIPHER* cipher, const unsigned char* key,
                             const unsigned char* nonce, bool seal) {
  struct Free {
    void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local std::unique_ptr<EVP_CIPHER_CTX, Free> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  // The same cipher as last time: only the key and nonce change.
  const EVP_CIPHER* type = EVP_CIPHER_CTX_get0_cipher(ctx.get()) == cipher ? nullptr : cipher;
  if (EVP_CipherInit_ex(ctx.get(), type, nullptr, key, nonce, seal ? 1 : 0) != 1) {
    return nullptr;
  }
  return ctx.get();
}

// The per-record nonce: the IV with the sequence number XORed into its last 8 bytes (§5.3).
void Nonce(const unsigned char* iv, uint64_t sequence, unsigned char* nonce) {
  std::memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(sequence >> (8 * i));
}

bool WouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

}  // namespace

void TlsRecords::PrepareContext(SSL_CTX* context) {
  ExIndex();  // made once, before connections race for it
  SSL_CTX_set_keylog_callback(context, KeyLog);
  SSL_CTX_set_num_tickets(context, 0);
}

std::unique_ptr<TlsRecords> TlsRecords::Watch(SSL* ssl) {
  std::unique_ptr<TlsRecords> records(new TlsRecords());
  if (SSL_set_ex_data(ssl, ExIndex(), records.get()) != 1) return nullptr;
  return records;
}

TlsRecords::~TlsRecords() {
  OPENSSL_cleanse(&read_, sizeof(read_));
  OPENSSL_cleanse(&write_, sizeof(write_));
}

void TlsRecords::OnSecret(const char* line) {
  // "<LABEL> <client random, hex> <secret, hex>"; the client's secret protects what we read.
  const std::string_view text(line);
  Direction* direction = nullptr;
  if (text.rfind("CLIENT_TRAFFIC_SECRET_0 ", 0) == 0) direction = &read_;
  if (text.rfind("SERVER_TRAFFIC_SECRET_0 ", 0) == 0) direction = &write_;
  if (direction == nullptr) return;
  const size_t space = text.rfind(' ');
  const std::string_view hex = text.substr(space + 1);
  if (hex.size() % 2 != 0 || hex.size() / 2 > kMaxSecret) return;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int high = HexValue(hex[2 * i]), low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      OPENSSL_cleanse(direction->secret, sizeof(direction->secret));
      direction->secret_size = 0;
      return;
    }
    direction->secret[i] = static_cast<unsigned char>(high * 16 + low);
  }
  direction->secret_size = hex.size() / 2;
}

bool TlsRecords::TakeOver(SSL* ssl) {
  SSL_set_ex_data(ssl, ExIndex(), nullptr);
  // Session tickets would have been sent under the write key: sequence numbers unknown here.
  // Read-ahead bytes would be records OpenSSL holds and this never sees.
  if (SSL_version(ssl) != TLS1_3_VERSION || !SSL_is_init_finished(ssl) ||
      SSL_get_num_tickets(ssl) != 0 || SSL_has_pending(ssl) != 0) {
    return false;
  }
  const SSL_CIPHER* suite = SSL_get_current_cipher(ssl);
  if (suite == nullptr) return false;
  switch (SSL_CIPHER_get_protocol_id(suite)) {
    case 0x1301:  // TLS_AES_128_GCM_SHA256
      cipher_ = Aes128Gcm();
      digest_ = EVP_sha256();
      key_size_ = 16;
      break;
    case 0x1302:  // TLS_AES_256_GCM_SHA384
      cipher_ = Aes256Gcm();
      digest_ = EVP_sha384();
      key_size_ = 32;
      break;
    case 0x1303:  // TLS_CHACHA20_POLY1305_SHA256
      cipher_ = ChaCha20Poly1305();
      digest_ = EVP_sha256();
      key_size_ = 32;
      break;
    default:
      return false;
  }
  if (cipher_ == nullptr) return false;  // not offered by the providers loaded
  const size_t hash_size = static_cast<size_t>(EVP_MD_get_size(digest_));
  if (read_.secret_size != hash_size || write_.secret_size != hash_size) return false;
  return Derive(read_, false) && Derive(write_, false);
}

bool TlsRecords::Derive(Direction& direction, bool next) const {
  if (next) {
    unsigned char secret[kMaxSecret];
    if (!ExpandLabel(digest_, direction.secret, direction.secret_size, "traffic upd", secret,
                     direction.secret_size)) {
      return false;
    }
    std::memcpy(direction.secret, secret, direction.secret_size);
    OPENSSL_cleanse(secret, sizeof(secret));
  }
  direction.sequence = 0;
  return ExpandLabel(digest_, direction.secret, direction.secret_size, "key", direction.key,
                     key_size_) &&
         ExpandLabel(digest_, direction.secret, direction.secret_size, "iv", direction.iv, kIv);
}

TlsRecords::Io TlsRecords::Fail(int reason) {
  if (failed_ == 0) failed_ = SslReason(reason);
  body_.reset();
  plain_size_ = 0;
  return Io{Io::kProtocol, 0, failed_};
}

bool TlsRecords::Seal(unsigned char type, const unsigned char* plain, size_t size) {
  const size_t inner = size + 1;  // TLSInnerPlaintext: content, type, no padding
  const size_t record = kHeader + inner + kTag;
  auto out = std::make_unique_for_overwrite<unsigned char[]>(record);
  out[0] = kApplicationData;  // the outer type of every protected record
  out[1] = 3;
  out[2] = 3;
  out[3] = static_cast<unsigned char>((inner + kTag) >> 8);
  out[4] = static_cast<unsigned char>(inner + kTag);
  unsigned char nonce[kIv];
  Nonce(write_.iv, write_.sequence, nonce);
  EVP_CIPHER_CTX* ctx = ThreadCipher(cipher_, write_.key, nonce, true);
  int n = 0;
  unsigned char* body = out.get() + kHeader;
  const bool ok = ctx != nullptr && EVP_EncryptUpdate(ctx, nullptr, &n, out.get(), kHeader) == 1 &&
                  EVP_EncryptUpdate(ctx, body, &n, plain, static_cast<int>(size)) == 1 &&
                  static_cast<size_t>(n) == size &&
                  EVP_EncryptUpdate(ctx, body + size, &n, &type, 1) == 1 && n == 1 &&
                  EVP_EncryptFinal_ex(ctx, body + inner, &n) == 1 && n == 0 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, body + inner) == 1;
  if (!ok) return false;
  ++write_.sequence;
  pending_ = std::move(out);
  pending_size_ = record;
  pending_sent_ = 0;
  pending_plain_ = 0;
  return true;
}

TlsRecords::Io TlsRecords::Flush(int socket) {
  while (pending_sent_ < pending_size_) {
    const ssize_t n =
        ::send(socket, pending_.get() + pending_sent_, pending_size_ - pending_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      pending_sent_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && !WouldBlock(errno)) {
      return Io{Io::kSystem, 0, static_cast<unsigned long>(errno)};  // NOLINT(runtime/int)
    } else {
      return Io{Io::kWantWrite};
    }
  }
  return Io{};
}

TlsRecords::Io TlsRecords::Write(int socket, const void* data, size_t size) {
  if (failed_ != 0) return Io{Io::kProtocol, 0, failed_};
  for (;;) {
    if (pending_) {
      // The caller calls again with the same bytes until the record carrying them is sent.
      Io io = Flush(socket);
      if (io.result != Io::kOk) return io;
      const size_t carried = pending_plain_;
      pending_.reset();
      pending_plain_ = 0;
      if (carried > 0) return Io{Io::kOk, carried};
      continue;
    }
    if (key_update_due_) {
      // Ours goes under the old key; what follows it under the new one (RFC 8446 §4.6.3).
      const unsigned char update[] = {kKeyUpdate, 0, 0, 1, 0};  // update_not_requested
      if (!Seal(kHandshake, update, sizeof(update)) || !Derive(write_, true)) {
        return Fail(ERR_R_INTERNAL_ERROR);
      }
      key_update_due_ = false;
      continue;
    }
    if (size == 0) return Io{};
    const size_t n = std::min(size, kMaxPlain);
    if (!Seal(kApplicationData, static_cast<const unsigned char*>(data), n)) {
      return Fail(ERR_R_INTERNAL_ERROR);
    }
    pending_plain_ = n;
  }
}

TlsRecords::Io TlsRecords::Shutdown(int socket) {
  if (failed_ != 0) return Io{Io::kProtocol, 0, failed_};
  if (pending_) {
    Io io = Flush(socket);
    if (io.result != Io::kOk) return io;
    pending_.reset();
    pending_plain_ = 0;
  }
  if (close_sent_) return Io{};
  const unsigned char close_notify[] = {1, 0};  // warning, close_notify
  if (!Seal(kAlert, close_notify, sizeof(close_notify))) return Fail(ERR_R_INTERNAL_ERROR);
  close_sent_ = true;
  Io io = Flush(socket);
  if (io.result == Io::kOk) pending_.reset();
  return io;
}

bool TlsRecords::OnHandshakeMessage(const unsigned char* body, size_t size) {
  // A client sends one kind of message after the handshake here: KeyUpdate, which must end
  // its record (the keys change after it). Post-handshake authentication is never asked for.
  if (size != 5 || body[0] != kKeyUpdate || body[1] != 0 || body[2] != 0 || body[3] != 1 ||
      body[4] > 1) {
    return false;
  }
  if (!Derive(read_, true)) return false;
  if (body[4] == 1) key_update_due_ = true;  // update_requested: ours before our next data
  return true;
}

TlsRecords::Io TlsRecords::ReadRecord(int socket) {
  // Exactly one record at a time: its header, then its body, nothing beyond.
  auto receive = [socket](unsigned char* into, size_t want, size_t& have) -> Io {
    while (have < want) {
      const ssize_t n = ::recv(socket, into + have, want - have, 0);
      if (n > 0) {
        have += static_cast<size_t>(n);
      } else if (n == 0) {
        return Io{Io::kTruncated};
      } else if (errno == EINTR) {
        continue;
      } else if (WouldBlock(errno)) {
        return Io{Io::kWantRead};
      } else {
        return Io{Io::kSystem, 0, static_cast<unsigned long>(errno)};  // NOLINT(runtime/int)
      }
    }
    return Io{};
  };
  if (!body_) {
    Io io = receive(header_, kHeader, header_have_);
    if (io.result != Io::kOk) return io;
    if (header_[0] != kApplicationData) {  // a change_cipher_spec is over with the handshake
      return Fail(SSL_R_UNEXPECTED_RECORD);
    }
    if (header_[1] != 3 || header_[2] != 3) return Fail(SSL_R_WRONG_VERSION_NUMBER);
    const size_t size = (static_cast<size_t>(header_[3]) << 8) | header_[4];
    if (size > kMaxCiphertext) return Fail(SSL_R_ENCRYPTED_LENGTH_TOO_LONG);
    if (size < kTag + 1) return Fail(SSL_R_RECORD_TOO_SMALL);
    body_ = std::make_unique_for_overwrite<unsigned char[]>(size);
    body_size_ = size;
    body_have_ = 0;
  }
  Io io = receive(body_.get(), body_size_, body_have_);
  if (io.result != Io::kOk) return io;
  header_have_ = 0;

  unsigned char nonce[kIv];
  Nonce(read_.iv, read_.sequence, nonce);
  EVP_CIPHER_CTX* ctx = ThreadCipher(cipher_, read_.key, nonce, false);
  const size_t sealed = body_size_ - kTag;
  unsigned char* body = body_.get();
  int n = 0;
  const bool opened =
      ctx != nullptr && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag, body + sealed) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &n, header_, kHeader) == 1 &&
      EVP_DecryptUpdate(ctx, body, &n, body, static_cast<int>(sealed)) == 1 &&
      static_cast<size_t>(n) == sealed && EVP_DecryptFinal_ex(ctx, body + sealed, &n) == 1;
  if (!opened) return Fail(SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  ++read_.sequence;

  // The inner content type is the last byte that is not padding.
  size_t content = sealed;
  while (content > 0 && body[content - 1] == 0) --content;
  if (content == 0) return Fail(SSL_R_UNEXPECTED_MESSAGE);
  const unsigned char type = body[--content];
  if (content > kMaxPlain) return Fail(SSL_R_DATA_LENGTH_TOO_LONG);
  switch (type) {
    case kApplicationData:
      plain_offset_ = 0;
      plain_size_ = content;
      if (content == 0) body_.reset();
      return Io{};
    case kAlert: {
      if (content != 2) return Fail(SSL_R_BAD_LENGTH);
      const unsigned char description = body[1];
      body_.reset();
      if (description == 0) {  // close_notify
        peer_closed_ = true;
        return Io{Io::kEof};
      }
      return Fail(SSL_AD_REASON_OFFSET + description);  // as OpenSSL names a received alert
    }
    case kHandshake:
      if (!OnHandshakeMessage(body, content)) return Fail(SSL_R_UNEXPECTED_MESSAGE);
      body_.reset();
      return Io{};
    default:
      return Fail(SSL_R_UNEXPECTED_RECORD);
  }
}

TlsRecords::Io TlsRecords::Read(int socket, void* data, size_t size) {
  if (size == 0) return Io{};
  for (;;) {
    if (plain_size_ > 0) {
      const size_t n = std::min(size, plain_size_);
      std::memcpy(data, body_.get() + plain_offset_, n);
      plain_offset_ += n;
      plain_size_ -= n;
      if (plain_size_ == 0) body_.reset();
      return Io{Io::kOk, n};
    }
    if (failed_ != 0) return Io{Io::kProtocol, 0, failed_};
    if (peer_closed_) return Io{Io::kEof};
    Io io = ReadRecord(socket);
    if (io.result != Io::kOk) return io;
  }
}

}  // namespace vigil::server::internal
