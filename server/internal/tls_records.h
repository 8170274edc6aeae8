// TLS 1.3 records after OpenSSL's handshake: once OpenSSL has authenticated the connection and
// agreed its keys, this protects and unprotects the application data itself (RFC 8446 §5.2 -
// §5.3, KeyUpdate §4.6.3, close_notify §6.1) and the SSL object is freed.
//
// Why: OpenSSL 3.0 keeps about 11 KB per connection for its whole life (the SSL object with
// its 32-pipeline record arrays, the session, two cipher contexts, the handshake hash). A hub
// holding ten thousand idle agents keeps what a record needs instead: two traffic secrets,
// their keys and IVs, and two sequence numbers. The Linux kernel's TLS offload makes the same
// split: the handshake stays in the library, the record layer moves.
//
// What stays OpenSSL's: the handshake, certificates, every choice of algorithm; the AEAD and
// HMAC come from libcrypto. The take-over happens only when it is exact: TLS 1.3, one of its
// three cipher suites, both application traffic secrets seen, no session tickets sent (their
// records would have used sequence numbers here unknown) and nothing read ahead. Otherwise the
// connection simply stays with OpenSSL.
//
// The secrets are learnt through OpenSSL's key-log callback (the only way OpenSSL 3.0 hands
// out TLS 1.3 traffic secrets): PrepareContext() installs it, Watch() attaches a TlsRecords to
// an SSL object before its handshake. Secrets are wiped when replaced and on destruction.
//
// Reading and writing are non-blocking on the connected socket: an operation that would block
// says which readiness it waits for and is called again with the same arguments, as with
// SSL_read_ex / SSL_write_ex. Not thread-safe: one reader and one writer at a time, on one
// strand.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace vigil::server::internal {

class TlsRecords {
 public:
  // What one call came to.
  struct Io {
    enum Result {
      kOk,         // `bytes` read or written (a read of 0 bytes only for a 0-byte request)
      kWantRead,   // call again when the socket is readable
      kWantWrite,  // ... writable
      kEof,        // the peer's close_notify
      kTruncated,  // the connection ended without close_notify
      kSystem,     // a socket error: `code` is the errno
      kProtocol,   // the peer broke the protocol: `code` is an OpenSSL error (ERR_PACK)
    } result = kOk;
    size_t bytes = 0;
    unsigned long code = 0;  // NOLINT(runtime/int): OpenSSL's error type
  };

  // Makes the connections of `context` eligible: the key-log callback, no session tickets.
  static void PrepareContext(SSL_CTX* context);
  // Collects `ssl`'s traffic secrets during its handshake. `ssl` must not outlive the result
  // without ForgetSsl() (TakeOver does it).
  static std::unique_ptr<TlsRecords> Watch(SSL* ssl);

  TlsRecords(const TlsRecords&) = delete;
  TlsRecords& operator=(const TlsRecords&) = delete;
  ~TlsRecords();

  // After `ssl`'s handshake completed: true when the records are ours from now on (the caller
  // frees `ssl`); false when the connection must stay with OpenSSL (this object is then
  // useless). Either way `ssl` no longer refers to this object.
  bool TakeOver(SSL* ssl);

  Io Read(int socket, void* data, size_t size);
  // Writes at most one record (16 KB) of `data`.
  Io Write(int socket, const void* data, size_t size);
  // Sends close_notify (after what a write left unsent); the peer's is not waited for.
  Io Shutdown(int socket);

  // For the key-log callback.
  void OnSecret(const char* line);

 private:
  static constexpr size_t kMaxSecret = 48;  // SHA-384
  static constexpr size_t kMaxKey = 32;
  static constexpr size_t kIv = 12;

  // One direction's keys (RFC 8446 §7.3).
  struct Direction {
    unsigned char secret[kMaxSecret];
    unsigned char key[kMaxKey];
    unsigned char iv[kIv];
    size_t secret_size = 0;  // 0 until the key-log callback gave it
    uint64_t sequence = 0;
  };

  TlsRecords() = default;
  // Derives key and IV from the direction's secret; with `next`, the secret first moves on
  // ("traffic upd", for a KeyUpdate). False when libcrypto fails.
  bool Derive(Direction& direction, bool next) const;
  // Protects `plain` (with its inner content type) as one record into pending_.
  bool Seal(unsigned char type, const unsigned char* plain, size_t size);
  // Sends what pending_ holds; kOk once it is all sent.
  Io Flush(int socket);
  // Handles a post-handshake message from the peer (a KeyUpdate); false on anything else.
  bool OnHandshakeMessage(const unsigned char* body, size_t size);
  Io ReadRecord(int socket);

  // Any failure is final: every later call answers with it.
  Io Fail(int reason);  // an SSL_R_* reason

  const EVP_CIPHER* cipher_ = nullptr;  // of the cipher suite
  const EVP_MD* digest_ = nullptr;      // ... its hash
  size_t key_size_ = 0;
  Direction read_, write_;

  // Reading: a record's header, then its body (allocated for the record only), then the
  // plaintext the caller has not taken yet (within the body's allocation).
  unsigned char header_[5];
  size_t header_have_ = 0;
  std::unique_ptr<unsigned char[]> body_;
  size_t body_size_ = 0, body_have_ = 0;
  size_t plain_offset_ = 0, plain_size_ = 0;
  bool peer_closed_ = false;

  // Writing: a sealed record not yet sent in full, and how many of the caller's bytes it
  // carries (0 for a KeyUpdate or an alert).
  std::unique_ptr<unsigned char[]> pending_;
  size_t pending_size_ = 0, pending_sent_ = 0, pending_plain_ = 0;
  bool key_update_due_ = false;  // the peer asked for ours
  bool close_sent_ = false;
  unsigned long failed_ = 0;  // NOLINT(runtime/int): the error every call now answers with
};

}  // namespace vigil::server::internal
