#include "tables/internal/x509_certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <utility>

#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BignumFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct OpensslFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};
struct Asn1StringFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;

std::string Hex(const unsigned char* data, size_t length, bool upper = false) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

std::string Digest(X509* cert, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, md, out, &length) != 1) return "";
  return Hex(out, length);
}

std::string NameSlashes(const X509_NAME* name) {
  std::unique_ptr<char, OpensslFree> text(X509_NAME_oneline(name, nullptr, 0));
  return text ? std::string(text.get()) : std::string();
}

std::string NameOneLine(const X509_NAME* name) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE) < 0) return "";
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::optional<std::string> CommonName(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int length = data == nullptr ? -1 : ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::unique_ptr<unsigned char, Asn1StringFree> owned(utf8);
  return std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
}

std::optional<int64_t> UnixTime(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

std::optional<std::string> ObjectName(int nid) {
  if (nid == NID_undef) return std::nullopt;
  const char* name = OBJ_nid2ln(nid);
  return name != nullptr ? std::optional<std::string>(name) : std::nullopt;
}

// Key usage names in the order of their flag values, as osquery users know them.
std::optional<std::string> KeyUsage(X509* cert) {
  const uint32_t flags = X509_get_key_usage(cert);
  if (flags == UINT32_MAX) return std::nullopt;  // no keyUsage extension: any use
  static constexpr std::pair<uint32_t, const char*> kUsages[] = {
      {KU_ENCIPHER_ONLY, "Encipher Only"},         {KU_CRL_SIGN, "CRL Sign"},
      {KU_KEY_CERT_SIGN, "Key Cert Sign"},         {KU_KEY_AGREEMENT, "Key Agreement"},
      {KU_DATA_ENCIPHERMENT, "Data Encipherment"}, {KU_KEY_ENCIPHERMENT, "Key Encipherment"},
      {KU_NON_REPUDIATION, "Non Repudiation"},     {KU_DIGITAL_SIGNATURE, "Digital Signature"},
      {KU_DECIPHER_ONLY, "Decipher Only"}};
  std::string out;
  for (const auto& [flag, name] : kUsages) {
    if ((flags & flag) == 0) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::optional<std::string> KeyId(const ASN1_OCTET_STRING* id) {
  if (id == nullptr) return std::nullopt;
  return Hex(ASN1_STRING_get0_data(id), static_cast<size_t>(ASN1_STRING_length(id)));
}

std::optional<std::string> Serial(X509* cert) {
  std::unique_ptr<BIGNUM, BignumFree> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return std::nullopt;
  std::unique_ptr<char, OpensslFree> hex(BN_bn2hex(bn.get()));
  return hex ? std::optional<std::string>(hex.get()) : std::nullopt;
}

void DescribeKey(X509* cert, CertificateFacts& facts) {
  ASN1_OBJECT* algorithm = nullptr;
  X509_PUBKEY* pubkey = X509_get_X509_PUBKEY(cert);
  if (pubkey != nullptr &&
      X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, nullptr, pubkey) == 1 &&
      algorithm != nullptr) {
    facts.key_algorithm = ObjectName(OBJ_obj2nid(algorithm));
  }
  EVP_PKEY* key = X509_get0_pubkey(cert);  // owned by the certificate
  if (key == nullptr) return;
  if (int bits = EVP_PKEY_get_bits(key); bits > 0) facts.key_bits = bits;
  if (int bits = EVP_PKEY_get_security_bits(key); bits > 0) facts.key_security_bits = bits;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
    case EVP_PKEY_DSA:
      if (facts.key_bits) facts.key_strength = std::to_string(*facts.key_bits);
      break;
    case EVP_PKEY_EC: {
      char group[80] = {};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) == 1) {
        facts.key_strength = std::string(group, length);
      }
      break;
    }
    default:
      break;
  }
}

CertificateFacts Describe(X509* cert, int line) {
  CertificateFacts facts;
  facts.line = line;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const X509_NAME* issuer = X509_get_issuer_name(cert);
  facts.common_name = CommonName(subject);
  facts.subject = NameSlashes(subject);
  facts.subject2 = NameOneLine(subject);
  facts.issuer = NameSlashes(issuer);
  facts.issuer2 = NameOneLine(issuer);
  facts.ca = X509_check_ca(cert) > 0;
  facts.self_signed = X509_check_issued(cert, cert) == X509_V_OK;
  facts.not_valid_before = UnixTime(X509_get0_notBefore(cert));
  facts.not_valid_after = UnixTime(X509_get0_notAfter(cert));
  facts.signing_algorithm = ObjectName(X509_get_signature_nid(cert));
  DescribeKey(cert, facts);
  facts.key_usage = KeyUsage(cert);
  facts.subject_key_id = KeyId(X509_get0_subject_key_id(cert));
  facts.authority_key_id = KeyId(X509_get0_authority_key_id(cert));
  facts.sha1 = Digest(cert, EVP_sha1());
  facts.sha256 = Digest(cert, EVP_sha256());
  facts.serial = Serial(cert);
  return facts;
}

// The reason OpenSSL gives for the last failure, for a warning.
std::string LastError() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : "not a certificate";
}

bool IsCertificateLabel(std::string_view label) {
  return label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE" || label == "X509 CERTIFICATE";
}

void ParsePem(std::string_view content, ParsedCertificates& out) {
  std::vector<NumberedLine> lines = SplitLines(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view text = Trim(lines[i].text);
    if (!StartsWith(text, "-----BEGIN ") || !text.ends_with("-----")) continue;
    std::string_view label = text.substr(11, text.size() - 16);
    if (!IsCertificateLabel(label)) continue;
    const std::string end = "-----END " + std::string(label) + "-----";
    size_t last = i + 1;
    while (last < lines.size() && Trim(lines[last].text) != end) ++last;
    const int line = lines[i].number;
    if (last == lines.size()) {
      out.problems.push_back(std::to_string(line) + ": certificate without its END line");
      return;
    }
    const char* begin = lines[i].text.data();
    const char* stop = lines[last].text.data() + lines[last].text.size();
    UniqueBio bio(BIO_new_mem_buf(begin, static_cast<int>(stop - begin)));
    UniqueX509 cert(bio ? PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (cert) {
      out.certificates.push_back(Describe(cert.get(), line));
    } else {
      out.problems.push_back(std::to_string(line) + ": malformed certificate (" + LastError() +
                             ")");
    }
    ERR_clear_error();
    i = last;
  }
}

}  // namespace

ParsedCertificates ParseCertificates(std::string_view content) {
  ParsedCertificates out;
  if (content.find("-----BEGIN ") != std::string_view::npos) {
    ParsePem(content, out);
  } else if (!content.empty() && static_cast<unsigned char>(content.front()) == 0x30) {
    // DER starts with a SEQUENCE; anything else is not worth handing to the decoder.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(content.data());
    UniqueX509 cert(d2i_X509(nullptr, &p, static_cast<long>(content.size())));
    if (cert) out.certificates.push_back(Describe(cert.get(), 0));
  }
  ERR_clear_error();  // leave nothing in this thread's queue for the next OpenSSL user
  return out;
}

}  // namespace vigil::tables::internal
