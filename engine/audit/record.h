// One record of the audit chain (DESIGN.md, "Audit chain"), its canonical form and its hash.
//
// Canonical JSON. The hash covers the record's content written in exactly one way:
//
//   {"seq":S,"time":T,"actor":A,"action":B,"subject":C,"detail":D}
//
//   * Those six fields, in that order, and nothing else; no whitespace anywhere.
//   * seq: decimal digits, no sign, no leading zeros.
//   * Strings: '"' and '\' are written \" and \\; U+0008, U+0009, U+000A, U+000C, U+000D are
//     written \b \t \n \f \r; every other character below U+0020 is written \u00xx (four hex
//     digits, lowercase); every other character, '/' and U+007F included, is written as its
//     UTF-8 bytes. Text must be valid UTF-8.
//   * detail: a JSON object, written by the same rules recursively: object members sorted by
//     key (comparing the keys' UTF-8 bytes as unsigned numbers, which is code point order),
//     duplicate keys refused; array elements in their order; true, false, null as such. A
//     number written without fraction or exponent that fits a 64-bit integer (signed, or
//     unsigned when positive) keeps its decimal digits (-0 becomes 0); any other number is read
//     as an IEEE 754 double and written as the shortest text that reads back as the same
//     double, in std::to_chars' plain form (0.42, 3, 1e+21, 1.5e-07; zero is 0).
//
//   hash = lowercase hex of SHA-256(prev_hash || canonical), where prev_hash is the previous
//   record's hash as its 64 lowercase hex characters (kZeroHash for record 1).
//
// Stored form (one value per record in the store's `audit` family, and one line of
// `vigil audit show --json`): the canonical JSON with "prev_hash" and "hash" added as the last
// two members: {"seq":1,...,"detail":{...},"prev_hash":"000...","hash":"9f2c..."}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace vigil::audit {

// The prev_hash of the first record: 64 zeros.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Limits on what a record may hold, so one record cannot exhaust memory.
inline constexpr size_t kMaxDetailBytes = 1u << 20;
inline constexpr int kMaxDetailDepth = 32;

struct Record {
  uint64_t seq = 0;       // 1, 2, 3, ... without gaps
  std::string time;       // RFC 3339 UTC, "2026-11-25T17:02:00Z"
  std::string actor;      // who acted: "enforcer", "hub:admin"
  std::string action;     // what was done: "sshd.set", "config.publish"
  std::string subject;    // what it was done to: "/etc/ssh/sshd_config"
  std::string detail;     // a JSON object in canonical form (see CanonicalDetail)
  std::string prev_hash;  // the hash of record seq - 1, or kZeroHash
  std::string hash;       // of this record, see the file comment
};

// The canonical form of a JSON object given as text. InvalidArgument when it is not JSON, not
// an object, not valid UTF-8, has a duplicate key, or is too large or too deep.
Result<std::string> CanonicalDetail(std::string_view json);

// The canonical form of any JSON object given as text, by the same rules, with its top-level
// member named `omit` left out (when `omit` is not empty): what a signature over a message
// without its own signature covers. Errors as CanonicalDetail's, without its size limit (the
// caller bounds `json`); `omit` appearing twice is a duplicate key too.
Result<std::string> CanonicalObjectWithout(std::string_view json, std::string_view omit);

// The canonical JSON of the record's content. `record.detail` must already be canonical
// (from CanonicalDetail or ParseRecord); InvalidArgument when a text field is not UTF-8.
Result<std::string> CanonicalJson(const Record& record);

// SHA-256(record.prev_hash || CanonicalJson(record)), lowercase hex.
Result<std::string> ComputeHash(const Record& record);

// The stored form. Same preconditions as CanonicalJson.
Result<std::string> SerializeRecord(const Record& record);

// Reads a stored record, checking its shape (exactly the eight fields, each of its type, seq
// >= 1, both hashes 64 lowercase hex digits) but not its hash. Corruption saying what is wrong
// otherwise. The detail comes back in canonical form.
Result<Record> ParseRecord(std::string_view stored);

}  // namespace vigil::audit
