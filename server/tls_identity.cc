#include "server/tls_identity.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

namespace vigil::server {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

// The oldest error on OpenSSL's queue as text (the queue is cleared).
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Writes `content` to `path` through a temporary file in the same directory (created with
// `mode`), so a crash leaves either no file or the whole one.
Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "create " + temp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status status = Status::FromErrno(errno, "write " + temp);
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status status = Status::FromErrno(errno, "fsync " + temp);
    ::close(fd);
    return status;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno(errno, "rename " + temp + " to " + path);
  }
  return Status::Ok();
}

Status MakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    if (!S_ISDIR(st.st_mode)) return Status::FailedPrecondition(path + " is not a directory");
    return Status::Ok();
  }
  return Status::FromErrno(errno, "create directory " + path);
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<Cert> ReadCertificate(const std::string& cert_file) {
  Bio bio(BIO_new_file(cert_file.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Status::FromErrno(errno, "TLS certificate " + cert_file);
  }
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return Status::InvalidArgument("TLS certificate " + cert_file + ": not a PEM certificate (" +
                                   OpenSslError() + ")");
  }
  return cert;
}

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), md, &size) != 1) return "";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    if (i > 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

Status AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Status::Internal("certificate extension '" + value + "': " + OpenSslError());
  }
  return Status::Ok();
}

// A self-signed EC P-256 certificate and its key, both PEM.
Status MakeSelfSigned(std::string_view common_name, std::string& cert_pem, std::string& key_pem) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Status::Internal("generate the TLS key: " + OpenSslError());
  Cert cert(X509_new());
  if (!cert) return Status::Internal("allocate a certificate: " + OpenSslError());
  X509_set_version(cert.get(), 2);  // v3

  Bignum serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Status::Internal("certificate serial number: " + OpenSslError());
  }
  constexpr long kTenYears = 10L * 365 * 24 * 3600;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kTenYears);
  X509_set_pubkey(cert.get(), key.get());

  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn(common_name.empty() ? "vigil-hub" : common_name);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Vigil hub"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);

  std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1";
  if (cn != "localhost" && cn.find_first_of(",:") == std::string::npos) san += ",DNS:" + cn;
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_alt_name, san));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Status::Internal("sign the TLS certificate: " + OpenSslError());
  }

  Bio cert_bio(BIO_new(BIO_s_mem()));
  Bio key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return Status::Internal("encode the TLS certificate: " + OpenSslError());
  }
  cert_pem = BioText(cert_bio.get());
  key_pem = BioText(key_bio.get());
  return Status::Ok();
}

}  // namespace

Result<std::string> CertificateFingerprint(const std::string& cert_file) {
  VIGIL_ASSIGN_OR_RETURN(Cert cert, ReadCertificate(cert_file));
  std::string fingerprint = Fingerprint(cert.get());
  if (fingerprint.empty()) {
    return Status::Internal("TLS certificate " + cert_file + ": digest: " + OpenSslError());
  }
  return fingerprint;
}

Result<TlsIdentity> LoadTlsFiles(const std::string& cert_file, const std::string& key_file) {
  VIGIL_ASSIGN_OR_RETURN(Cert cert, ReadCertificate(cert_file));
  Bio bio(BIO_new_file(key_file.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Status::FromErrno(errno, "TLS key " + key_file);
  }
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Status::InvalidArgument("TLS key " + key_file +
                                   ": not an unencrypted PEM private key (" + OpenSslError() + ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("TLS key " + key_file + " does not belong to the certificate " +
                                   cert_file);
  }
  TlsIdentity identity;
  identity.cert_file = cert_file;
  identity.key_file = key_file;
  identity.fingerprint = Fingerprint(cert.get());
  return identity;
}

Result<TlsIdentity> LoadOrCreateSelfSigned(const std::string& state_dir,
                                           std::string_view common_name) {
  const std::string dir = state_dir + "/tls";
  const std::string cert_file = dir + "/cert.pem";
  const std::string key_file = dir + "/key.pem";
  const bool have_cert = Exists(cert_file);
  const bool have_key = Exists(key_file);
  if (have_cert && have_key) return LoadTlsFiles(cert_file, key_file);
  if (have_cert != have_key) {
    return Status::FailedPrecondition(
        "TLS identity in " + dir + ": " + (have_cert ? cert_file : key_file) + " exists but " +
        (have_cert ? key_file : cert_file) +
        " does not; restore it, or remove both to make a new certificate (agents that pinned "
        "the old fingerprint must then be told the new one)");
  }
  VIGIL_RETURN_IF_ERROR(MakeDirectory(state_dir));
  VIGIL_RETURN_IF_ERROR(MakeDirectory(dir));
  std::string cert_pem;
  std::string key_pem;
  VIGIL_RETURN_IF_ERROR(MakeSelfSigned(common_name, cert_pem, key_pem));
  // The key first: a crash between the two leaves a key without a certificate, which the next
  // start reports instead of silently replacing.
  VIGIL_RETURN_IF_ERROR(WriteFileAtomically(key_file, key_pem, 0600));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomically(cert_file, cert_pem, 0644));
  VIGIL_ASSIGN_OR_RETURN(TlsIdentity identity, LoadTlsFiles(cert_file, key_file));
  identity.generated = true;
  return identity;
}

}  // namespace vigil::server
