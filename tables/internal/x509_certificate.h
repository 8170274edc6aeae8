// Decoding X.509 certificates (PEM, PEM bundles and DER) into the facts the certificates
// table reports. OpenSSL stays inside x509_certificate.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::tables::internal {

struct CertificateFacts {
  int line = 0;                            // line of the PEM block's BEGIN in its file; 0 for DER
  std::optional<std::string> common_name;  // the first CN of the subject, as UTF-8
  std::string subject;                     // "/C=DE/O=Plant/CN=Root CA"
  std::string subject2;                    // "C = DE, O = Plant, CN = Root CA"
  std::string issuer;
  std::string issuer2;
  bool ca = false;           // basicConstraints CA:TRUE (or a v1 self-signed or keyCertSign)
  bool self_signed = false;  // issued by its own subject and key
  std::optional<int64_t> not_valid_before;  // UNIX seconds
  std::optional<int64_t> not_valid_after;
  std::optional<std::string> signing_algorithm;  // "sha256WithRSAEncryption"
  std::optional<std::string> key_algorithm;      // "rsaEncryption", "id-ecPublicKey", "ED25519"
  std::optional<std::string> key_strength;       // RSA/DSA: bits ("2048"); EC: curve ("prime256v1")
  std::optional<int64_t> key_bits;               // size of the key in bits, every key type
  std::optional<int64_t> key_security_bits;      // comparable strength (RSA-2048: 112, P-256: 128)
  std::optional<std::string> key_usage;       // "Key Cert Sign, CRL Sign"; nullopt without the ext.
  std::optional<std::string> subject_key_id;  // lowercase hex
  std::optional<std::string> authority_key_id;
  std::string sha1;  // of the DER encoding, lowercase hex
  std::string sha256;
  std::optional<std::string> serial;  // uppercase hex
};

struct ParsedCertificates {
  std::vector<CertificateFacts> certificates;
  // "12: malformed certificate (...)": PEM certificate blocks that did not decode, by line.
  std::vector<std::string> problems;
};

// Every certificate in `content`: each CERTIFICATE / TRUSTED CERTIFICATE / X509 CERTIFICATE
// block of a PEM file (other blocks, such as keys, are passed over), or the one certificate of
// a DER file. Content that is neither gives no certificates and no problems.
ParsedCertificates ParseCertificates(std::string_view content);

}  // namespace vigil::tables::internal
