// The hub's durable state behind a narrow interface (DESIGN.md, "The hub": embedded by default,
// so that a networked backend can come later): enrolled nodes, people's tokens, live-query
// campaigns and each node's answer, the evidence agents send, and the hub's audit chain.
//
// The embedded backend is one directory holding a RocksDB database (engine/store with the hub's
// column families). Every write is synced before the call returns: a hub restarted after a
// crash has every node, token, campaign, answer and audit record a call returned success for.
//
// Secrets are never stored: node keys and tokens are kept as SHA-256 hex of the secret, and
// looked up by that hash.
//
// Thread safety: every method may be called from any thread at any time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/audit/chain.h"
#include "engine/status.h"

namespace vigil::server {

// A person's role (DESIGN.md, "The hub"); each includes what the ones before it may do.
enum class Role { kViewer, kAnalyst, kOperator, kAdmin };
std::string_view RoleName(Role role);                  // "viewer", ...
std::optional<Role> ParseRole(std::string_view name);  // nullopt for an unknown name

// One enrolled node, keyed by host_identifier.
struct NodeRecord {
  std::string host_identifier;
  std::string hostname;
  std::string os;
  std::string vigil_version;
  std::vector<std::string> roles;  // as the node's config names them
  std::string key_hash;            // SHA-256 hex of the node key
  int64_t enrolled_at = 0;         // unix seconds
  int64_t last_seen = 0;           // unix seconds: the last message or pong
  uint64_t config_version = 0;    // the version the node runs, as it says (hello, config_status)
  std::string config_error;        // why it refused the last config offered; "" when it took it
  std::string remote_address;      // of the last connection
  uint64_t acked_seq = 0;          // the highest evidence seq stored (see StoreEvidence)
  uint64_t cycle_ms = 15000;       // the agent's check cycle (its hello's cycle_ms)
  friend bool operator==(const NodeRecord&, const NodeRecord&) = default;
};

// A bearer token for a person. `id` is public (listing, revoking, the audit chain's actor);
// the secret itself is shown once, when created, and only its hash is kept.
struct TokenRecord {
  std::string id;          // "tok_" + 12 hex
  std::string name;        // who or what it is for
  Role role = Role::kViewer;
  std::string hash;        // SHA-256 hex of the secret
  int64_t created_at = 0;  // unix seconds
  std::string created_by;  // a token id, or "local" for `vigil-hub token create`
  bool revoked = false;
  int64_t revoked_at = 0;
  friend bool operator==(const TokenRecord&, const TokenRecord&) = default;
};

// A live query sent to a set of nodes.
struct CampaignRecord {
  std::string id;                     // "q_" + decimal counter, increasing
  std::string sql;
  std::string target;                 // as given: "all", "web-*,db-1", "role:historian"
  std::vector<std::string> expected;  // host identifiers the target matched when it started
  std::string created_by;             // token id
  int64_t created_at = 0;             // unix milliseconds
  int64_t deadline = 0;               // unix milliseconds: answers after it are not taken
  int64_t wait_until = 0;             // unix milliseconds: offline nodes get it on reconnect
                                      // until then (0: no waiting)
  uint64_t timeout_ms = 0;            // each node's statement time limit
  bool finished = false;
  friend bool operator==(const CampaignRecord&, const CampaignRecord&) = default;
};

// One node's answer to one campaign.
struct AnswerRecord {
  enum class Status { kOk, kError };
  std::string campaign_id;
  std::string host_identifier;
  Status status = Status::kOk;
  std::vector<std::string> columns;
  std::string rows_json;   // a JSON array of arrays, as the node sent it
  uint64_t rows = 0;       // rows in rows_json
  uint64_t rows_total = 0; // rows the node's statement gave (more when cut at max_rows)
  std::string error;       // when kError
  double duration_ms = 0;
  int64_t received_at = 0; // unix milliseconds
  friend bool operator==(const AnswerRecord&, const AnswerRecord&) = default;
};

// Where StoreEvidence() left a node.
struct EvidenceAck {
  uint64_t acked_seq = 0;  // every item <= this is stored: what the hub acks
  uint64_t stored = 0;     // items of this call that were new
};

// One verdict of one node as the fleet report needs it: the check, what it evidences, its
// status and when the node ran it. The full item (with the violating rows) is
// LatestVerdictJson()'s.
struct VerdictSummary {
  std::string check;
  std::string pack;
  std::vector<std::string> sr;  // "SR 1.1", ...
  int sl = 1;
  std::string status;  // pass, fail, error, not_applicable, fixed (PROTOCOL.md, "Verdict")
  int64_t time = 0;    // unix seconds: the verdict's `time`
  friend bool operator==(const VerdictSummary&, const VerdictSummary&) = default;
};

// One entry of the verdict history: a verdict a node sent (each once, however often its batch
// was sent).
struct VerdictHistoryEntry {
  std::string host_identifier;
  VerdictSummary verdict;
  friend bool operator==(const VerdictHistoryEntry&, const VerdictHistoryEntry&) = default;
};

// One node's daily snapshot: at the end of one UTC day, of its latest verdict of each check
// (the newest at or before the day's end), how many passed (or were fixed), failed and errored.
// A check whose latest verdict is not_applicable counts in none. The fleet report's trend sums
// them over the nodes.
struct VerdictDayCounts {
  int64_t day = 0;  // unix seconds of the day's start (00:00 UTC)
  std::string host_identifier;
  int pass = 0;
  int fail = 0;
  int error = 0;
  friend bool operator==(const VerdictDayCounts&, const VerdictDayCounts&) = default;
};

// The last audit-chain head a node sent (its `audit_head` items), and whether a head ever
// contradicted the one before it: a seq that went back (a truncated chain) or the same seq
// with another hash (a rewritten one). The flag stays once raised.
struct AuditHeadRecord {
  uint64_t seq = 0;
  std::string hash;
  bool flagged = false;
  std::string reason;  // why flagged, e.g. "audit chain went back from seq 12 to seq 7"
  // Unix seconds, the hub's clock: when the hub stored the head that raised the flag. 0 with
  // `flagged`: raised before the store recorded when (a store written by an older hub), so a
  // report of any time shows it.
  int64_t flagged_at = 0;
  friend bool operator==(const AuditHeadRecord&, const AuditHeadRecord&) = default;
};

// Whether a node was connected at a time, from RecordConnected/RecordDisconnected.
struct NodePresence {
  bool known = false;   // any connection event at or before the time
  bool online = false;  // the last such event was a connect
  int64_t since_ms = 0; // unix milliseconds of that event
};

// One published version of the fleet config (DESIGN.md, "The hub", Config): fleet.yaml and its
// pack files as the admin sent them. Versions are 1, 2, 3, ...; a rollback is a new version.
struct ConfigVersionRecord {
  uint64_t version = 0;
  int64_t published_at = 0;  // unix milliseconds
  std::string published_by;  // a token id, or "local"
  std::string digest;        // SHA-256 hex over the files (ConfigService's)
  std::string note;          // "" or "rollback to 3"
  std::vector<std::string> paths;            // the files' paths, sorted
  std::map<std::string, std::string> files;  // path -> content; empty in ListConfigVersions()
  friend bool operator==(const ConfigVersionRecord&, const ConfigVersionRecord&) = default;
};

// A task dispatched to nodes (server/task_service.h): the enforcer of a check, or a package
// upgrade, sent in batches.
struct TaskRecord {
  std::string id;      // "t_" + decimal counter, increasing
  std::string kind;    // "enforce" or "package_upgrade" (PROTOCOL.md `task`)
  std::string check;   // enforce: the check; "" otherwise
  std::vector<std::string> packages;  // package_upgrade: the packages; empty: every one
  bool dry_run = false;
  std::string target;  // as given ("" for every node the kind picks)
  uint64_t batch = 10;         // nodes sent at once
  uint64_t max_failures = 0;   // failures tolerated; one more stops the dispatch
  int64_t node_timeout_ms = 600'000;  // a sent node that has not answered by then timed out
  std::string created_by;      // token id
  int64_t created_at = 0;      // unix milliseconds
  std::string status = "running";  // running, done, stopped_on_failures
  int64_t finished_at = 0;     // unix milliseconds; 0 while running
  std::vector<std::string> nodes;  // host identifiers, in dispatch order
  friend bool operator==(const TaskRecord&, const TaskRecord&) = default;
};

// Where one node of a task stands.
struct TaskNodeRecord {
  std::string task_id;
  std::string host_identifier;
  uint64_t batch = 0;            // which batch (0, 1, ...) the node belongs to
  std::string state = "pending";  // pending, sent, answered, timed_out, skipped
  bool offline = false;          // its batch came while it was offline (sent on reconnect)
  int64_t sent_at = 0;           // unix milliseconds: sent, or (offline) when its batch came
  int64_t answered_at = 0;       // unix milliseconds
  std::string outcome;           // the task_result's (applied, planned, ...); "timed_out"
  std::string result_json;       // the task_result message as the node sent it
  friend bool operator==(const TaskNodeRecord&, const TaskNodeRecord&) = default;
};

class HubStore {
 public:
  virtual ~HubStore() = default;

  // --- nodes
  // Creates or replaces the node with this host_identifier. acked_seq is the store's own (only
  // StoreEvidence moves it): a replaced node keeps its stored value.
  virtual Status PutNode(const NodeRecord& node) = 0;
  virtual Result<std::optional<NodeRecord>> GetNode(std::string_view host_identifier) const = 0;
  virtual Result<std::optional<NodeRecord>> FindNodeByKeyHash(std::string_view key_hash) const = 0;
  // In host_identifier order.
  virtual Result<std::vector<NodeRecord>> ListNodes() const = 0;
  // Forgets a node and its key (so that the host may enroll again); its evidence and answers
  // are kept. NotFound for an unknown node.
  virtual Status DeleteNode(std::string_view host_identifier) = 0;
  // Updates last_seen (and the connection's address) without rewriting the rest. NotFound for a
  // node that is not enrolled. The one write that is not synced: a process crash keeps it, a
  // power loss may lose the last ones (the node's next message refreshes it).
  virtual Status TouchNode(std::string_view host_identifier, int64_t last_seen,
                           std::string_view remote_address) = 0;

  // --- tokens
  virtual Status PutToken(const TokenRecord& token) = 0;
  virtual Result<std::optional<TokenRecord>> FindTokenByHash(std::string_view hash) const = 0;
  virtual Result<std::optional<TokenRecord>> GetToken(std::string_view id) const = 0;
  // In creation order, revoked ones included.
  virtual Result<std::vector<TokenRecord>> ListTokens() const = 0;

  // --- campaigns
  // Allocates the next campaign id ("q_1", "q_2", ...; never reused across restarts).
  virtual Result<std::string> NextCampaignId() = 0;
  virtual Status PutCampaign(const CampaignRecord& campaign) = 0;
  virtual Result<std::optional<CampaignRecord>> GetCampaign(std::string_view id) const = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<CampaignRecord>> ListCampaigns(size_t limit) const = 0;
  // The first answer of a node to a campaign is kept; a second one is ignored (returns false).
  // Not synced to disk (a process crash keeps it; a power loss may lose the last few).
  virtual Result<bool> PutAnswer(const AnswerRecord& answer) = 0;
  // In host_identifier order.
  virtual Result<std::vector<AnswerRecord>> Answers(std::string_view campaign_id) const = 0;

  // --- evidence: the items of agents' `results` messages (PROTOCOL.md), kept as sent, by node
  // and seq. items[i] has seq first_seq + i. Items at or below the node's acked_seq are
  // skipped (a batch sent twice is stored once); the items and the node's new acked_seq are
  // written together. A gap (first_seq > acked_seq + 1: the agent's outbox dropped log items)
  // is accepted: acked_seq moves to the last item.
  virtual Result<EvidenceAck> StoreEvidence(std::string_view host_identifier, uint64_t first_seq,
                                            const std::vector<std::string>& items_json) = 0;
  // Visits a node's stored items with seq > after, in seq order, until `visit` returns false.
  virtual Status ReadEvidence(
      std::string_view host_identifier, uint64_t after,
      const std::function<bool(uint64_t seq, std::string_view item_json)>& visit) const = 0;

  // --- verdicts and audit heads, kept by StoreEvidence() in the same write as the items: for
  // each `verdict` item the node's latest verdict of that check (the newest by `time`, the
  // later item on a tie) and a history entry keyed by (node, check, time), so a batch stored
  // twice does not add entries twice, and the node's daily snapshots (VerdictDayCounts) of the
  // days the verdict changes; for each `audit_head` item the node's head (see AuditHeadRecord)
  // and, per batch, the head as it stood then (AuditHeadAt). An item that is not a well-formed
  // verdict or head is kept as evidence but feeds neither.
  //
  // Visits each node's latest verdicts (in check order), nodes in host_identifier order, until
  // `visit` returns false.
  virtual Status LatestVerdicts(
      const std::function<bool(std::string_view host_identifier,
                               const std::vector<VerdictSummary>& verdicts)>& visit) const = 0;
  // Like LatestVerdicts(), as they were at `at` (unix seconds): each node's newest verdict of
  // each check with time <= at. A node without one is not visited. One lookup per check whose
  // latest verdict is newer than `at` (a seek in its history), none for the others.
  virtual Status LatestVerdictsAt(
      int64_t at, const std::function<bool(std::string_view host_identifier,
                                           const std::vector<VerdictSummary>& verdicts)>& visit)
      const = 0;
  // The latest `verdict` item of a node's check as sent (rows included); nullopt when none.
  virtual Result<std::optional<std::string>> LatestVerdictJson(std::string_view host_identifier,
                                                               std::string_view check) const = 0;
  // Visits the history entries with from <= time <= to (unix seconds) in time order (then node,
  // then check), of one node or, when host_identifier is empty, of all, until `visit` returns
  // false. Reads the node's (or every node's) whole history: for tools and tests, not for a
  // report of the fleet.
  virtual Status VerdictHistory(
      std::string_view host_identifier, int64_t from, int64_t to,
      const std::function<bool(const VerdictHistoryEntry& entry)>& visit) const = 0;
  // A node's daily snapshots over the days from the one holding `from` to the one holding `to`
  // (unix seconds), in day order: first its snapshot of the first day (when it has one by then:
  // a node with no verdict that passed, failed or errored yet has none), then one for each later
  // day on which the snapshot changed; a day not visited has the snapshot of the day before it.
  // Reads only those (a reverse seek from `to`).
  virtual Status VerdictDays(
      std::string_view host_identifier, int64_t from, int64_t to,
      const std::function<bool(const VerdictDayCounts& counts)>& visit) const = 0;
  // nullopt when the node never sent a head.
  virtual Result<std::optional<AuditHeadRecord>> AuditHead(
      std::string_view host_identifier) const = 0;
  // The head as it stood at `at` (unix seconds, the hub's clock): the last one the hub stored at
  // or before it, flagged only if the flag was raised by then. nullopt when none was stored by
  // then.
  virtual Result<std::optional<AuditHeadRecord>> AuditHeadAt(std::string_view host_identifier,
                                                             int64_t at) const = 0;

  // --- connection intervals (the fleet session calls these), so that a report for a past
  // time knows which nodes were connected then. Unix milliseconds.
  virtual Status RecordConnected(std::string_view host_identifier, int64_t unix_ms) = 0;
  virtual Status RecordDisconnected(std::string_view host_identifier, int64_t unix_ms) = 0;
  // The last event at or before `unix_ms`.
  virtual Result<NodePresence> PresenceAt(std::string_view host_identifier,
                                          int64_t unix_ms) const = 0;

  // --- config versions. PutConfigVersion stores the version (its paths are taken from its
  // files) and makes it the current one in the same write. Its number must be above every
  // stored version's (FailedPrecondition otherwise, naming both): versions only grow.
  virtual Status PutConfigVersion(const ConfigVersionRecord& record) = 0;
  // With its files; nullopt for a version never stored.
  virtual Result<std::optional<ConfigVersionRecord>> GetConfigVersion(uint64_t version) const = 0;
  // Newest first, without the files' contents (paths only).
  virtual Result<std::vector<ConfigVersionRecord>> ListConfigVersions() const = 0;
  // The current version; 0 when none was ever published.
  virtual Result<uint64_t> CurrentConfigVersion() const = 0;

  // --- tasks (server/task_service.h), synced like campaigns.
  // Allocates the next task id ("t_1", "t_2", ...; never reused across restarts).
  virtual Result<std::string> NextTaskId() = 0;
  // Writes the task and the given node records in one write (InvalidArgument for an id
  // NextTaskId() does not give, or a node record of another task).
  virtual Status PutTask(const TaskRecord& task, const std::vector<TaskNodeRecord>& nodes) = 0;
  virtual Result<std::optional<TaskRecord>> GetTask(std::string_view id) const = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<TaskRecord>> ListTasks(size_t limit) const = 0;
  // In host_identifier order.
  virtual Result<std::vector<TaskNodeRecord>> TaskNodes(std::string_view task_id) const = 0;

  // --- the hub's audit chain: every action by a person (who, what, target).
  virtual audit::AuditChain& audit() = 0;

  // Bytes on disk (for /metrics).
  virtual uint64_t ApproximateBytes() const = 0;
};

// Opens (creating when absent) the embedded store in `dir` (the hub's state dir + "/store").
// One process at a time: a second Open() fails with FailedPrecondition naming the holder.
// A store written by an older hub is brought up to date first (server/internal/hub_evidence.h,
// Upgrade). `unix_seconds` is the clock that dates audit heads (and a verdict without a
// readable time); empty: the system clock.
Result<std::unique_ptr<HubStore>> OpenEmbeddedHubStore(
    const std::string& dir, std::function<int64_t()> unix_seconds = nullptr);

}  // namespace vigil::server
