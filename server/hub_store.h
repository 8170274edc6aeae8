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
  uint64_t config_version = 0;
  std::string remote_address;      // of the last connection
  uint64_t acked_seq = 0;          // the highest evidence seq stored (see StoreEvidence)
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

  // --- the hub's audit chain: every action by a person (who, what, target).
  virtual audit::AuditChain& audit() = 0;

  // Bytes on disk (for /metrics).
  virtual uint64_t ApproximateBytes() const = 0;
};

// Opens (creating when absent) the embedded store in `dir` (the hub's state dir + "/store").
// One process at a time: a second Open() fails with FailedPrecondition naming the holder.
Result<std::unique_ptr<HubStore>> OpenEmbeddedHubStore(const std::string& dir);

}  // namespace vigil::server
