// The hub's TLS identity: the certificate and key files it serves, and the SHA-256 fingerprint
// agents pin. Without files from the operator, the hub makes a self-signed certificate in its
// state directory on first start and reuses it afterwards. OpenSSL stays inside the .cc file.
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"

namespace vigil::server {

struct TlsIdentity {
  std::string cert_file;    // PEM certificate (chain)
  std::string key_file;     // PEM private key
  std::string fingerprint;  // SHA-256 of the DER leaf certificate, "AB:CD:..." (95 characters)
  bool generated = false;   // made by this call (first start)
};

// STATE_DIR/tls/cert.pem and key.pem: reused when both exist, made when neither does (an EC
// P-256 key, written 0600, and a self-signed certificate for `common_name` valid for ten years
// with subjectAltName localhost, 127.0.0.1 and ::1). Only one of the two present is an error
// naming the missing file: the hub never overwrites a key an agent may have pinned.
Result<TlsIdentity> LoadOrCreateSelfSigned(const std::string& state_dir,
                                           std::string_view common_name);

// Operator-supplied files: both must be readable PEM, and the key must match the certificate.
Result<TlsIdentity> LoadTlsFiles(const std::string& cert_file, const std::string& key_file);

// "AB:CD:..." SHA-256 of the first certificate in a PEM file.
Result<std::string> CertificateFingerprint(const std::string& cert_file);

}  // namespace vigil::server
