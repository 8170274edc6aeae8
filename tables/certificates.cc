// certificates: the X.509 certificates in the host's trust store and certificate directories,
// or in the files a statement names.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/path_pattern.h"
#include "tables/internal/text.h"
#include "tables/internal/x509_certificate.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum CertificatesColumn : int {
  kCommonName,
  kSubject,
  kSubject2,
  kIssuer,
  kIssuer2,
  kCa,
  kSelfSigned,
  kNotValidBefore,
  kNotValidAfter,
  kSigningAlgorithm,
  kKeyAlgorithm,
  kKeyStrength,
  kKeyUsage,
  kSubjectKeyId,
  kAuthorityKeyId,
  kSha1,
  kPath,
  kSerial,
  kDirectory,
  kSha256,
  kKeyBits,
  kKeySecurityBits,
  kColumnCount
};

Schema CertificatesSchema() {
  return Schema{
      "certificates",
      "X.509 certificates in PEM files (bundles too; key blocks are passed over) and DER "
      "files, one row per certificate. Without a path or directory constraint: the files in "
      "/usr/local/share/ca-certificates (and below) and directly in /etc/ssl/certs, without "
      "the generated bundle /etc/ssl/certs/ca-certificates.crt (it repeats them) and without "
      "a second row for a file reached through another name (OpenSSL's hash links); "
      "/etc/ssl/private is never read. path = / IN name files (a file that holds no "
      "certificate is reported as a warning); directory = lists the files directly in a "
      "directory; LIKE and GLOB on either expand patterns ('%%' at the end for every level "
      "below); files found by listing or pattern that hold no certificate are passed over.",
      {
          {"common_name", ColumnType::kText,
           "The first commonName (CN) of the subject, as UTF-8; NULL without one"},
          {"subject", ColumnType::kText, "Subject name, \"/C=DE/O=Plant/CN=Root CA\" form"},
          {"subject2", ColumnType::kText, "Subject name, \"C = DE, O = Plant, CN = Root CA\" form"},
          {"issuer", ColumnType::kText, "Issuer name, \"/C=DE/O=Plant/CN=Root CA\" form"},
          {"issuer2", ColumnType::kText, "Issuer name, \"C = DE, O = Plant, CN = Root CA\" form"},
          {"ca", ColumnType::kInteger,
           "1 when the certificate may issue certificates (basicConstraints CA:TRUE, a v1 "
           "self-signed certificate, or keyCertSign usage), else 0"},
          {"self_signed", ColumnType::kInteger,
           "1 when the issuer is the subject itself (names and key identifiers agree), else 0"},
          {"not_valid_before", ColumnType::kInteger, "Start of the validity period, UNIX seconds"},
          {"not_valid_after", ColumnType::kInteger, "End of the validity period, UNIX seconds"},
          {"signing_algorithm", ColumnType::kText,
           "Signature algorithm (\"sha256WithRSAEncryption\", \"ecdsa-with-SHA256\", \"ED25519\")"},
          {"key_algorithm", ColumnType::kText,
           "Public key algorithm (\"rsaEncryption\", \"id-ecPublicKey\", \"ED25519\")"},
          {"key_strength", ColumnType::kText,
           "RSA and DSA: key size in bits (\"2048\"); EC: curve name (\"prime256v1\"); NULL for "
           "other key types (see key_bits)"},
          {"key_usage", ColumnType::kText,
           "Key usage extension as a list (\"CRL Sign, Key Cert Sign\"); NULL without the "
           "extension"},
          {"subject_key_id", ColumnType::kText,
           "Subject key identifier, lowercase hex; NULL without the extension"},
          {"authority_key_id", ColumnType::kText,
           "Authority key identifier, lowercase hex; NULL without the extension"},
          {"sha1", ColumnType::kText, "SHA-1 of the DER encoding, lowercase hex"},
          {"path", ColumnType::kText, "The file holding the certificate", kIndex},
          {"serial", ColumnType::kText, "Serial number, uppercase hex"},
          {"directory", ColumnType::kText,
           "Directory holding the file: the constrained directory as written, or the parent "
           "of the path",
           kIndex},
          {"sha256", ColumnType::kText,
           "SHA-256 fingerprint: SHA-256 of the DER encoding, lowercase hex"},
          {"key_bits", ColumnType::kInteger,
           "Size of the public key in bits as OpenSSL reports it (RSA modulus, EC field size, "
           "256 for Ed25519)"},
          {"key_security_bits", ColumnType::kInteger,
           "Strength of the key in bits of security, comparable across algorithms (RSA-2048: "
           "112, P-256: 128, RSA-3072: 128)"},
      }};
}

constexpr size_t kMaxCertificateFileBytes = 4u << 20;
constexpr int kMaxDepth = 8;
constexpr std::string_view kLocalCaDir = "/usr/local/share/ca-certificates";
constexpr std::string_view kCertsDir = "/etc/ssl/certs";
constexpr std::string_view kGeneratedBundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr char kDerSequence = 0x30;  // the first byte of a DER certificate

// OpenSSL's hash links ("5ad8a5d6.0", CRLs "5ad8a5d6.r0") point at a file beside them.
bool IsHashLinkName(std::string_view name) {
  if (name.size() < 10 || name[8] != '.') return false;
  for (size_t i = 0; i < 8; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  std::string_view suffix = name.substr(9);
  if (!suffix.empty() && suffix.front() == 'r') suffix.remove_prefix(1);
  return internal::ParseUint(suffix).has_value();
}

// Whether a constraint on the column names absolute paths to walk.
bool Walkable(const QueryContext& ctx, int column) {
  if (ctx.Equals(column)) return true;
  for (const Constraint& c : ctx.constraints(column)) {
    if ((c.op == ConstraintOp::kLike || c.op == ConstraintOp::kGlob) &&
        c.values.front().is_text() && internal::StartsWith(c.values.front().text(), "/")) {
      return true;
    }
  }
  return false;
}

struct Candidate {
  std::string path;
  std::string directory;
  bool exact = false;  // named by path = / IN: problems with it are reported
};

void ListTree(const QueryContext& ctx, const std::string& dir, int depth, bool recursive,
              std::vector<Candidate>& out) {
  if (depth > kMaxDepth || !ctx.CheckDeadline().ok()) return;
  auto entries = ctx.host().ListDirectory(dir);
  if (!entries.ok()) return;  // a missing default directory is no news
  for (const DirEntry& entry : *entries) {
    std::string path = JoinPath(dir, entry.name);
    if (entry.type == FileType::kDirectory) {
      if (recursive) ListTree(ctx, path, depth + 1, recursive, out);
      continue;
    }
    if (path != kGeneratedBundle) out.push_back({std::move(path), dir, false});
  }
}

class CertificatesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override;

 private:
  // Appends a row for each certificate in the file's content.
  static void ReadCertificates(const QueryContext& ctx, const Candidate& candidate,
                               std::string_view content, std::vector<Row>& rows);
  // The file's content; nullopt when it cannot be read (warned) or, for files found by
  // listing, when it is too large or its first block holds neither PEM nor DER (quietly).
  static std::optional<std::string> Content(const QueryContext& ctx, const Candidate& candidate,
                                            off_t size);

  const Schema schema_ = CertificatesSchema();
};

Result<std::vector<Row>> CertificatesTable::generate(const QueryContext& ctx) const {
  std::vector<Candidate> candidates;
  if (Walkable(ctx, kPath) || Walkable(ctx, kDirectory)) {
    VIGIL_ASSIGN_OR_RETURN(auto expanded, internal::ExpandPathConstraints(ctx, kPath, kDirectory));
    const auto named = ctx.EqualsText("path");
    for (internal::PathCandidate& c : expanded) {
      const bool exact = named && std::binary_search(named->begin(), named->end(), c.path);
      candidates.push_back({std::move(c.path), std::move(c.directory), exact});
    }
  } else {
    ListTree(ctx, std::string(kLocalCaDir), 0, true, candidates);
    ListTree(ctx, std::string(kCertsDir), 0, false, candidates);
  }
  // Files found by listing are read once, under the first name that is not a hash link.
  std::stable_partition(candidates.begin(), candidates.end(), [](const Candidate& c) {
    return c.exact || !IsHashLinkName(BaseName(c.path));
  });

  std::vector<Row> rows;
  std::set<std::string> read;  // canonical host paths of the files read by listing
  for (const Candidate& candidate : candidates) {
    VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
    if (!ctx.Matches(kPath, Value(candidate.path)) ||
        !ctx.Matches(kDirectory, Value(candidate.directory))) {
      continue;
    }
    auto st = ctx.host().Stat(candidate.path);
    if (!st.ok()) {
      if (st.status().code() != StatusCode::kNotFound) ctx.Warn(st.status().message());
      continue;
    }
    if (!S_ISREG(st->st_mode)) {
      if (candidate.exact) {
        ctx.Warn(candidate.path + " is not a regular file" +
                 (S_ISDIR(st->st_mode) ? "; list a directory with directory = '" + candidate.path +
                                             "' or path LIKE '" + candidate.path + "/%'"
                                       : std::string()));
      }
      continue;
    }
    if (!candidate.exact) {
      auto canonical = ctx.host().Canonical(candidate.path);
      if (canonical.ok() && !read.insert(*canonical).second) continue;
    }
    if (auto content = Content(ctx, candidate, st->st_size)) {
      ReadCertificates(ctx, candidate, *content, rows);
    }
  }
  return rows;
}

std::optional<std::string> CertificatesTable::Content(const QueryContext& ctx,
                                                      const Candidate& candidate, off_t size) {
  if (size > static_cast<off_t>(kMaxCertificateFileBytes)) {
    if (candidate.exact) {
      ctx.Warn(candidate.path + " is larger than " + std::to_string(kMaxCertificateFileBytes) +
               " bytes, too large for a certificate file");
    }
    return std::nullopt;
  }
  std::string content;
  const Status read =
      ctx.host().ReadChunks(candidate.path, kMaxCertificateFileBytes, [&](std::string_view chunk) {
        // Found by listing: a file that starts like neither PEM nor DER is not read further.
        if (content.empty() && !candidate.exact && !chunk.empty() &&
            chunk.front() != kDerSequence && chunk.find("-----BEGIN ") == std::string_view::npos) {
          return Status::FailedPrecondition("not a certificate file");
        }
        content.append(chunk);
        return Status::Ok();
      });
  if (read.ok()) return content;
  if (read.code() != StatusCode::kFailedPrecondition && read.code() != StatusCode::kNotFound) {
    ctx.Warn(read.message());
  }
  return std::nullopt;
}

void CertificatesTable::ReadCertificates(const QueryContext& ctx, const Candidate& candidate,
                                         std::string_view content, std::vector<Row>& rows) {
  internal::ParsedCertificates parsed = internal::ParseCertificates(content);
  for (const std::string& problem : parsed.problems) ctx.Warn(candidate.path + ":" + problem);
  if (parsed.certificates.empty() && parsed.problems.empty() && candidate.exact) {
    ctx.Warn(candidate.path + ": no certificate in it (PEM or DER)");
  }
  for (internal::CertificateFacts& c : parsed.certificates) {
    Row row(kColumnCount);
    if (c.common_name) row[kCommonName] = std::move(*c.common_name);
    row[kSubject] = std::move(c.subject);
    row[kSubject2] = std::move(c.subject2);
    row[kIssuer] = std::move(c.issuer);
    row[kIssuer2] = std::move(c.issuer2);
    row[kCa] = c.ca;
    row[kSelfSigned] = c.self_signed;
    if (c.not_valid_before) row[kNotValidBefore] = *c.not_valid_before;
    if (c.not_valid_after) row[kNotValidAfter] = *c.not_valid_after;
    if (c.signing_algorithm) row[kSigningAlgorithm] = std::move(*c.signing_algorithm);
    if (c.key_algorithm) row[kKeyAlgorithm] = std::move(*c.key_algorithm);
    if (c.key_strength) row[kKeyStrength] = std::move(*c.key_strength);
    if (c.key_usage) row[kKeyUsage] = std::move(*c.key_usage);
    if (c.subject_key_id) row[kSubjectKeyId] = std::move(*c.subject_key_id);
    if (c.authority_key_id) row[kAuthorityKeyId] = std::move(*c.authority_key_id);
    row[kSha1] = std::move(c.sha1);
    row[kPath] = candidate.path;
    if (c.serial) row[kSerial] = std::move(*c.serial);
    row[kDirectory] = candidate.directory;
    row[kSha256] = std::move(c.sha256);
    if (c.key_bits) row[kKeyBits] = *c.key_bits;
    if (c.key_security_bits) row[kKeySecurityBits] = *c.key_security_bits;
    rows.push_back(std::move(row));
  }
}

}  // namespace

std::unique_ptr<Table> MakeCertificatesTable() { return std::make_unique<CertificatesTable>(); }

}  // namespace vigil::tables
