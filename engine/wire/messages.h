// The messages between an agent and the hub (PROTOCOL.md, "Agent <-> hub") and their JSON codec,
// shared by agent/ and server/. One JSON object per WebSocket text frame, `"type"` and `"v": 1`
// first.
//
// Decoding. Every field PROTOCOL.md lists for a type is required, except those said to be
// optional below; a field that may be null may also be absent. Unknown fields are ignored. A
// message that cannot be decoded gives the `error` message to answer with: its code is
//   "too_large"            the text is over DecodeLimits::max_bytes (checked before parsing), or
//                          a query_result has more than max_rows rows;
//   "malformed"            not JSON, not an object, nested too deep, a field missing or of the
//                          wrong type (the message names the field: `query: field "sql" is
//                          missing`);
//   "unsupported_version"  `v` is a number other than 1;
//   "unknown_type"         `type` is a string naming no message.
// and its ref is the message's `id` (or `seq`) when that could be read, so the peer can tell
// which request failed. The connection stays open after any of them.
//
// Thread safety: free functions over values; nothing shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/packs/pack.h"
#include "engine/status.h"
#include "engine/value.h"

namespace vigil::wire {

// Error codes of the `error` message.
inline constexpr std::string_view kMalformed = "malformed";
inline constexpr std::string_view kUnknownType = "unknown_type";
inline constexpr std::string_view kUnsupportedVersion = "unsupported_version";
inline constexpr std::string_view kTooLarge = "too_large";
inline constexpr std::string_view kNodeInvalid = "node_invalid";  // a node key the hub refuses

inline constexpr int kVersion = 1;  // the only `v` there is

// agent -> hub, first on every connection. Exactly one of enroll_secret (first time) and
// node_key is expected; Decode requires at least one and leaves the choice to the hub.
struct Hello {
  std::string host_identifier;
  std::string hostname;
  std::string os;
  std::string vigil_version;
  std::optional<std::string> enroll_secret;
  std::optional<std::string> node_key;
  uint64_t config_version = 0;   // 0: none yet
  uint64_t outbox_next_seq = 0;  // the seq the agent's next queued item will get
  // Optional: the roles the node's config gives it ({} when absent or null; left out when
  // empty). The hub keeps them for `role:NAME` campaign targets.
  std::vector<std::string> roles;
  // Optional: the agent's check cycle in milliseconds (left out when absent). The hub keeps it
  // on the node: evidence older than 3 cycles makes the node stale in the fleet report.
  std::optional<uint64_t> cycle_ms;
  friend bool operator==(const Hello&, const Hello&) = default;
};

// hub -> agent, the answer to hello.
struct Welcome {
  std::optional<std::string> node_key;  // on enrollment only
  std::string hub_public_key;           // Ed25519, pinned by the agent on enrollment
  std::string server_time;              // RFC 3339 UTC
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

// hub -> agent: the node's configuration (packs/node_config.h reads it). Kept as the whole
// message text, because the signature covers CanonicalJsonWithout(json, "signature") of exactly
// what was received. Encode sends `json` as it is: it must be a config message, `"type"` and
// `"v"` first, as packs::NodeConfigJson writes it. Decode checks `version` and `signature` and
// copies them here; the rest is ParseNodeConfig's to check.
struct Config {
  std::string json;
  uint64_t version = 0;
  std::string signature;  // optional in Decode ("" when absent); verifying it is the agent's job
  friend bool operator==(const Config&, const Config&) = default;
};

// hub -> agent: run a live query (one campaign).
struct Query {
  std::string id;
  std::string sql;
  uint64_t timeout_ms = 0;
  uint64_t max_rows = 0;
  friend bool operator==(const Query&, const Query&) = default;
};

// agent -> hub: a live query's answer. Each row has one value per column: NULL, INTEGER, REAL or
// TEXT (JSON null, a whole number, another number, a string). A REAL that is not finite is sent
// as null.
struct QueryResult {
  enum class Status { kOk, kError };
  std::string id;
  Status status = Status::kOk;
  std::vector<std::string> columns;
  std::vector<Row> rows;
  uint64_t rows_total = 0;  // rows the statement gave, rows.size() or more
  std::string error;        // when kError; null on the wire when empty
  double duration_ms = 0;
  friend bool operator==(const QueryResult&, const QueryResult&) = default;
};

// One queued record, kept as JSON text: an object with `"kind"` first or anywhere, as the agent's
// outbox holds it. Encode writes `json` as it is (it must be such an object).
struct ResultItem {
  enum class Kind { kVerdict, kLog, kAuditHead };
  Kind kind = Kind::kVerdict;
  std::string json;
  friend bool operator==(const ResultItem&, const ResultItem&) = default;
};

// agent -> hub: queued records; items[i] has sequence number seq + i, so one message carries
// consecutive numbers only (an outbox that dropped log items sends one message per run).
struct Results {
  uint64_t seq = 0;
  std::vector<ResultItem> items;
  // The number of the last item, what the hub acks once every item is stored (seq - 1 when
  // there is none).
  uint64_t last_seq() const { return seq + items.size() - 1; }
  friend bool operator==(const Results&, const Results&) = default;
};

// hub -> agent: every item with a sequence number <= seq is stored.
struct Ack {
  uint64_t seq = 0;
  friend bool operator==(const Ack&, const Ack&) = default;
};

// hub -> agent: repair a check, or upgrade packages.
struct Task {
  enum class Kind { kEnforce, kPackageUpgrade };
  std::string id;
  Kind kind = Kind::kEnforce;
  std::string check;  // optional: "" when absent or null (a package upgrade names none)
  bool dry_run = false;
  // optional ({} when absent): strings, numbers, booleans or arrays of those, as text.
  packs::Params args;
  friend bool operator==(const Task&, const Task&) = default;
};

// agent -> hub: what a task did. The verdicts and the remediation are JSON objects as text
// (PROTOCOL.md's "Verdict" and its `remediation`); each may be null (std::nullopt).
struct TaskResult {
  std::string id;
  std::string outcome;  // applied, planned, refused, failed, rolled_back
  std::optional<std::string> verdict_before;
  std::optional<std::string> verdict_after;
  std::optional<std::string> remediation;
  friend bool operator==(const TaskResult&, const TaskResult&) = default;
};

// agent -> hub: the config version the node runs now. Sent when the agent adopts a config the
// hub sent (verified, kept and loaded: the version is the running one from then on), and when it
// refuses one (the version is the one it stays on, config_error says why). It is current state,
// not evidence: it never goes through the outbox, and a hub that missed it learns the version
// from the next hello. config_error is optional ("" when absent or null; left out when empty):
// why the last config offered was refused, "" when the last one was taken.
//   {"type":"config_status","v":1,"config_version":4}
//   {"type":"config_status","v":1,"config_version":3,"config_error":"config 4 is unsigned"}
struct ConfigStatus {
  uint64_t config_version = 0;
  std::string config_error;
  friend bool operator==(const ConfigStatus&, const ConfigStatus&) = default;
};

// Either way: a request could not be handled. `ref` is optional ("" when absent or null).
struct Error {
  std::string code;
  std::string message;
  std::string ref;
  friend bool operator==(const Error&, const Error&) = default;
};

using Message = std::variant<Hello, Welcome, Config, Query, QueryResult, Results, Ack, Task,
                             TaskResult, ConfigStatus, Error>;

// "hello", "query_result", ... : the `type` of a message.
std::string_view TypeName(const Message& message);
std::string_view ResultItemKindName(ResultItem::Kind kind);  // "verdict", "log", "audit_head"
std::string_view TaskKindName(Task::Kind kind);              // "enforce", "package_upgrade"

// Compact JSON text, `"type"` and `"v": 1` first, then the fields in PROTOCOL.md's order.
std::string Encode(const Hello& m);
std::string Encode(const Welcome& m);
std::string Encode(const Config& m);
std::string Encode(const Query& m);
std::string Encode(const QueryResult& m);
// A query_result's rows as its `rows` member carries them (a JSON array of arrays).
std::string RowsJson(const std::vector<Row>& rows);
std::string Encode(const Results& m);
std::string Encode(const Ack& m);
std::string Encode(const Task& m);
std::string Encode(const TaskResult& m);
std::string Encode(const ConfigStatus& m);
std::string Encode(const Error& m);
std::string Encode(const Message& m);

struct DecodeLimits {
  size_t max_bytes = size_t{4} << 20;  // a frame
  size_t max_rows = 10'000;            // rows in one query_result
  int max_depth = 64;                  // nesting of arrays and objects
};

// A decoded message, or the error message to answer with (see the file comment). An `error`
// the peer sent decodes like any message: ok(), with an Error in message(). To wrap an Error as
// a decoded message, construct from Message(error).
class [[nodiscard]] DecodeResult {
 public:
  DecodeResult(Message message) : v_(std::move(message)) {}  // NOLINT(google-explicit-constructor)
  DecodeResult(Error error) : v_(std::move(error)) {}        // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  const Message& message() const& { return std::get<Message>(v_); }
  Message&& message() && { return std::get<Message>(std::move(v_)); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<Message, Error> v_;
};

DecodeResult Decode(std::string_view text, const DecodeLimits& limits = {});

// The canonical JSON (engine/audit/record.h: keys sorted, no whitespace, numbers normalised) of
// the object `json` without its top-level member `key`: what a config's signature covers.
// InvalidArgument when `json` is not a JSON object, has a duplicate key or is nested too deep.
Result<std::string> CanonicalJsonWithout(std::string_view json, std::string_view key);

}  // namespace vigil::wire
