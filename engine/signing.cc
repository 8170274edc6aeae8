#include "engine/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <array>
#include <memory>

#include "engine/audit/record.h"

namespace vigil {
namespace {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kMaxPemBytes = 16u << 10;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

// The oldest error on OpenSSL's queue as text (the queue is cleared).
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Result<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string raw(kPublicKeyBytes, '\0');
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &length) !=
          1 ||
      length != kPublicKeyBytes) {
    return Status::Internal("reading the Ed25519 public key: " + OpenSslError());
  }
  return raw;
}

Result<Pkey> ReadPrivateKey(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) {
    return Status::InvalidArgument("signing key: the PEM text is larger than " +
                                   std::to_string(kMaxPemBytes) + " bytes");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("signing key: " + OpenSslError());
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    return Status::InvalidArgument("signing key: not a PEM private key (" + OpenSslError() + ")");
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument(std::string("signing key: a ") +
                                   OBJ_nid2sn(EVP_PKEY_get_id(pkey.get())) +
                                   " key, not an Ed25519 one");
  }
  return pkey;
}

Result<SigningKey> KeyFrom(EVP_PKEY* pkey) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::Internal("writing the Ed25519 private key: " + OpenSslError());
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  SigningKey key;
  key.private_pem.assign(data, static_cast<size_t>(size));
  VIGIL_ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey));
  key.public_key = Base64Encode(raw);
  return key;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes `text` and checks the length: `what` names it in errors ("public key").
Result<std::string> DecodeFixed(std::string_view text, size_t bytes, std::string_view what) {
  auto raw = Base64Decode(text);
  if (!raw.ok()) return Status::InvalidArgument(std::string(what) + ": " + raw.status().message());
  if (raw->size() != bytes) {
    return Status::InvalidArgument(std::string(what) + ": " + std::to_string(raw->size()) +
                                   " bytes, an Ed25519 " + std::string(what) + " has " +
                                   std::to_string(bytes));
  }
  return raw;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) n |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("not base64: its length (" + std::to_string(text.size()) +
                                   ") is not a multiple of 4");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    ++padding;
    if (text[text.size() - 2] == '=') ++padding;  // the size is a multiple of 4
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    const bool last = i + 4 == text.size();
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int v = 0;
      if (last && j >= 4 - padding) {
        v = 0;  // the padding checked above
      } else if ((v = Base64Value(c)) < 0) {
        return Status::InvalidArgument("not base64: character " + std::to_string(i + j + 1) +
                                       " is not in the base64 alphabet");
      }
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (!last || padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (!last || padding < 1) out += static_cast<char>(n & 0xff);
    // Bits below the last byte must be zero, so each byte string has exactly one text.
    if (last && ((padding == 1 && (n & 0xff) != 0) || (padding == 2 && (n & 0xffff) != 0))) {
      return Status::InvalidArgument("not base64: non-zero bits before the padding");
    }
  }
  return out;
}

Result<SigningKey> GenerateSigningKey() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Status::Internal("generating an Ed25519 key: " + OpenSslError());
  }
  Pkey pkey(raw);
  return KeyFrom(pkey.get());
}

Result<SigningKey> LoadSigningKey(std::string_view private_pem) {
  VIGIL_ASSIGN_OR_RETURN(Pkey pkey, ReadPrivateKey(private_pem));
  return KeyFrom(pkey.get());
}

Result<std::string> Sign(const SigningKey& key, std::string_view message) {
  VIGIL_ASSIGN_OR_RETURN(Pkey pkey, ReadPrivateKey(key.private_pem));
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(kSignatureBytes, '\0');
  size_t length = signature.size();
  // Ed25519 hashes the message itself: one-shot, no digest named.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     Bytes(message), message.size()) != 1 ||
      length != kSignatureBytes) {
    return Status::Internal("signing with Ed25519: " + OpenSslError());
  }
  return Base64Encode(signature);
}

Result<bool> Verify(std::string_view public_key_b64, std::string_view message,
                    std::string_view signature_b64) {
  VIGIL_ASSIGN_OR_RETURN(std::string raw_key,
                         DecodeFixed(public_key_b64, kPublicKeyBytes, "public key"));
  VIGIL_ASSIGN_OR_RETURN(std::string raw_signature,
                         DecodeFixed(signature_b64, kSignatureBytes, "signature"));
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw_key), raw_key.size()));
  if (!pkey) {
    return Status::InvalidArgument("public key: not an Ed25519 key (" + OpenSslError() + ")");
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return Status::Internal("verifying with Ed25519: " + OpenSslError());
  }
  const int verdict = EVP_DigestVerify(ctx.get(), Bytes(raw_signature), raw_signature.size(),
                                       Bytes(message), message.size());
  ERR_clear_error();  // a mismatch leaves an error on the queue; it is an answer, not a failure
  return verdict == 1;
}

Result<std::string> SignConfig(const SigningKey& key, std::string_view config_json) {
  auto canonical = audit::CanonicalObjectWithout(config_json, "signature");
  if (!canonical.ok()) return Status(canonical.status()).WithContext("config message");
  return Sign(key, *canonical);
}

Result<std::string> SignedConfigMessage(const SigningKey& key, std::string_view config_json) {
  VIGIL_ASSIGN_OR_RETURN(std::string signature, SignConfig(key, config_json));
  // SignConfig accepted it, so it is one JSON object: its text ends with '}' (and whitespace).
  rapidjson::Document doc;
  doc.Parse(config_json.data(), config_json.size());
  if (!doc.IsObject()) return Status::InvalidArgument("config message: not a JSON object");
  if (doc.HasMember("signature")) {
    return Status::InvalidArgument("config message: already signed (has \"signature\")");
  }
  const size_t close = config_json.find_last_of('}');
  std::string out(config_json.substr(0, close));
  out += doc.MemberCount() == 0 ? "\"signature\":\"" : ",\"signature\":\"";
  out += signature;
  out += "\"}";
  return out;
}

Result<bool> VerifyConfig(std::string_view public_key_b64, std::string_view config_json) {
  auto canonical = audit::CanonicalObjectWithout(config_json, "signature");
  if (!canonical.ok()) return Status(canonical.status()).WithContext("config message");
  // The canonical form refused anything but an object without duplicate "signature" members.
  rapidjson::Document doc;
  doc.Parse(config_json.data(), config_json.size());
  if (!doc.IsObject()) return Status::InvalidArgument("config message: not a JSON object");
  const auto it = doc.FindMember("signature");
  if (it == doc.MemberEnd()) {
    return Status::InvalidArgument("config message: unsigned (no \"signature\")");
  }
  if (!it->value.IsString()) {
    return Status::InvalidArgument("config message: /signature must be a base64 string");
  }
  const std::string_view signature(it->value.GetString(), it->value.GetStringLength());
  auto verdict = Verify(public_key_b64, *canonical, signature);
  if (!verdict.ok()) return Status(verdict.status()).WithContext("config message");
  return verdict;
}

}  // namespace vigil
