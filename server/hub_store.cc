// The embedded HubStore: engine/store with the hub's layout. Records are JSON objects (absent
// members take their defaults, so a later version may add members); keys:
//   nodes      "node/" HOST -> node          "key/" KEY_HASH -> HOST
//   tokens     "token/" ID -> token (+ "order", its creation number)   "hash/" HASH -> ID
//   campaigns  EncodeSeq(N) -> campaign "q_N"
//   answers    CAMPAIGN_ID NUL HOST -> answer
//   evidence   HOST NUL EncodeSeq(seq) -> item, as sent
//              NUL-led keys: what is derived from the items (server/internal/hub_evidence.h)
//   meta       "campaign_counter", "token_counter" -> decimal
//              "config/" EncodeSeq(V) -> config version V without its files
//              "config_files/" EncodeSeq(V) -> {path: content} of version V
//              "config_current" -> decimal: the current version
//              "task/" EncodeSeq(N) -> task t_N, "task_node/" EncodeSeq(N) NUL HOST -> its node,
//              "task_counter" -> decimal
#include "server/hub_store.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>

#include "engine/store/store.h"
#include "server/internal/hub_evidence.h"

namespace vigil::server {

using store::Family;
using store::Mutation;

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kAnalyst:
      return "analyst";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kViewer, Role::kAnalyst, Role::kOperator, Role::kAdmin}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kNodePrefix = "node/";
constexpr std::string_view kKeyPrefix = "key/";
constexpr std::string_view kTokenPrefix = "token/";
constexpr std::string_view kHashPrefix = "hash/";
constexpr char kCampaignCounter[] = "campaign_counter";
constexpr char kTokenCounter[] = "token_counter";
constexpr size_t kMaxIdentifier = 1024;

std::string Cat(std::string_view a, std::string_view b) {
  std::string out(a);
  out += b;
  return out;
}

std::string Joined(std::string_view a, std::string_view b) {
  std::string out(a);
  out += '\0';
  out += b;
  return out;
}

// Host identifiers, token ids and campaign ids are parts of keys: NUL would make them ambiguous.
Status CheckIdentifier(std::string_view what, std::string_view value) {
  if (value.empty()) return Status::InvalidArgument(std::string(what) + " must not be empty");
  if (value.size() > kMaxIdentifier) {
    return Status::InvalidArgument(std::string(what) + " is longer than " +
                                   std::to_string(kMaxIdentifier) + " bytes");
  }
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

// "q_N" -> N (N >= 1); nullopt for anything else.
std::optional<uint64_t> CampaignNumber(std::string_view id) {
  if (!id.starts_with("q_") || id.size() < 3 || id[2] == '0') return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return n;
}

std::optional<uint64_t> ParseCounter(std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// ---- writing records

class JsonOut {
 public:
  JsonOut() : writer_(buffer_) { writer_.StartObject(); }
  JsonOut& Str(const char* key, std::string_view value) {
    writer_.Key(key);
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  JsonOut& Int(const char* key, int64_t value) {
    writer_.Key(key);
    writer_.Int64(value);
    return *this;
  }
  JsonOut& Uint(const char* key, uint64_t value) {
    writer_.Key(key);
    writer_.Uint64(value);
    return *this;
  }
  JsonOut& Double(const char* key, double value) {
    writer_.Key(key);
    writer_.Double(value);
    return *this;
  }
  JsonOut& Bool(const char* key, bool value) {
    writer_.Key(key);
    writer_.Bool(value);
    return *this;
  }
  JsonOut& Strs(const char* key, const std::vector<std::string>& values) {
    writer_.Key(key);
    writer_.StartArray();
    for (const std::string& v : values) {
      writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    writer_.EndArray();
    return *this;
  }
  std::string Done() {
    writer_.EndObject();
    return std::string(buffer_.GetString(), buffer_.GetSize());
  }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

std::string EncodeNode(const NodeRecord& n) {
  return JsonOut()
      .Str("host_identifier", n.host_identifier)
      .Str("hostname", n.hostname)
      .Str("os", n.os)
      .Str("vigil_version", n.vigil_version)
      .Strs("roles", n.roles)
      .Str("key_hash", n.key_hash)
      .Int("enrolled_at", n.enrolled_at)
      .Int("last_seen", n.last_seen)
      .Uint("config_version", n.config_version)
      .Str("config_error", n.config_error)
      .Str("remote_address", n.remote_address)
      .Uint("acked_seq", n.acked_seq)
      .Uint("cycle_ms", n.cycle_ms)
      .Done();
}

std::string EncodeToken(const TokenRecord& t, uint64_t order) {
  return JsonOut()
      .Str("id", t.id)
      .Str("name", t.name)
      .Str("role", RoleName(t.role))
      .Str("hash", t.hash)
      .Int("created_at", t.created_at)
      .Str("created_by", t.created_by)
      .Bool("revoked", t.revoked)
      .Int("revoked_at", t.revoked_at)
      .Uint("order", order)
      .Done();
}

std::string EncodeCampaign(const CampaignRecord& c) {
  return JsonOut()
      .Str("id", c.id)
      .Str("sql", c.sql)
      .Str("target", c.target)
      .Strs("expected", c.expected)
      .Str("created_by", c.created_by)
      .Int("created_at", c.created_at)
      .Int("deadline", c.deadline)
      .Int("wait_until", c.wait_until)
      .Uint("timeout_ms", c.timeout_ms)
      .Bool("finished", c.finished)
      .Done();
}

std::string EncodeAnswer(const AnswerRecord& a) {
  return JsonOut()
      .Str("campaign_id", a.campaign_id)
      .Str("host_identifier", a.host_identifier)
      .Str("status", a.status == AnswerRecord::Status::kOk ? "ok" : "error")
      .Strs("columns", a.columns)
      .Str("rows_json", a.rows_json)
      .Uint("rows", a.rows)
      .Uint("rows_total", a.rows_total)
      .Str("error", a.error)
      .Double("duration_ms", a.duration_ms)
      .Int("received_at", a.received_at)
      .Done();
}

// ---- reading records: a member of the wrong type is Corruption naming the record; an absent
// one keeps its default.

class JsonIn {
 public:
  JsonIn(std::string_view text, std::string where) : where_(std::move(where)) {
    doc_.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
    if (doc_.HasParseError() || !doc_.IsObject()) Fail("is not a JSON object");
  }
  void Str(const char* key, std::string& out) {
    if (const rapidjson::Value* v = Member(key)) {
      if (!v->IsString()) return Fail(std::string("member \"") + key + "\" is not a string");
      out.assign(v->GetString(), v->GetStringLength());
    }
  }
  void Int(const char* key, int64_t& out) {
    if (const rapidjson::Value* v = Member(key)) {
      if (!v->IsInt64()) return Fail(std::string("member \"") + key + "\" is not an integer");
      out = v->GetInt64();
    }
  }
  void Uint(const char* key, uint64_t& out) {
    if (const rapidjson::Value* v = Member(key)) {
      if (!v->IsUint64()) return Fail(std::string("member \"") + key + "\" is not an unsigned");
      out = v->GetUint64();
    }
  }
  void Double(const char* key, double& out) {
    if (const rapidjson::Value* v = Member(key)) {
      if (!v->IsNumber()) return Fail(std::string("member \"") + key + "\" is not a number");
      out = v->GetDouble();
    }
  }
  void Bool(const char* key, bool& out) {
    if (const rapidjson::Value* v = Member(key)) {
      if (!v->IsBool()) return Fail(std::string("member \"") + key + "\" is not a boolean");
      out = v->GetBool();
    }
  }
  void Strs(const char* key, std::vector<std::string>& out) {
    if (const rapidjson::Value* v = Member(key)) {
      if (!v->IsArray()) return Fail(std::string("member \"") + key + "\" is not an array");
      out.clear();
      for (const rapidjson::Value& e : v->GetArray()) {
        if (!e.IsString()) return Fail(std::string("member \"") + key + "\" holds a non-string");
        out.emplace_back(e.GetString(), e.GetStringLength());
      }
    }
  }
  void Fail(const std::string& problem) {
    if (status_.ok()) status_ = Status::Corruption("hub store: " + where_ + " " + problem);
  }
  const Status& status() const { return status_; }

 private:
  const rapidjson::Value* Member(const char* key) const {
    if (!status_.ok()) return nullptr;
    auto it = doc_.FindMember(key);
    return it == doc_.MemberEnd() ? nullptr : &it->value;
  }

  std::string where_;
  rapidjson::Document doc_;
  Status status_;
};

Result<NodeRecord> DecodeNode(std::string_view text, std::string_view key) {
  NodeRecord n;
  JsonIn in(text, "node record " + std::string(key));
  in.Str("host_identifier", n.host_identifier);
  in.Str("hostname", n.hostname);
  in.Str("os", n.os);
  in.Str("vigil_version", n.vigil_version);
  in.Strs("roles", n.roles);
  in.Str("key_hash", n.key_hash);
  in.Int("enrolled_at", n.enrolled_at);
  in.Int("last_seen", n.last_seen);
  in.Uint("config_version", n.config_version);
  in.Str("config_error", n.config_error);
  in.Str("remote_address", n.remote_address);
  in.Uint("acked_seq", n.acked_seq);
  in.Uint("cycle_ms", n.cycle_ms);
  if (!in.status().ok()) return in.status();
  return n;
}

struct StoredToken {
  TokenRecord record;
  uint64_t order = 0;
};

Result<StoredToken> DecodeToken(std::string_view text, std::string_view key) {
  StoredToken t;
  JsonIn in(text, "token record " + std::string(key));
  std::string role;
  in.Str("id", t.record.id);
  in.Str("name", t.record.name);
  in.Str("role", role);
  in.Str("hash", t.record.hash);
  in.Int("created_at", t.record.created_at);
  in.Str("created_by", t.record.created_by);
  in.Bool("revoked", t.record.revoked);
  in.Int("revoked_at", t.record.revoked_at);
  in.Uint("order", t.order);
  if (in.status().ok()) {
    if (auto parsed = ParseRole(role)) {
      t.record.role = *parsed;
    } else {
      in.Fail("has an unknown role \"" + role + "\"");
    }
  }
  if (!in.status().ok()) return in.status();
  return t;
}

Result<CampaignRecord> DecodeCampaign(std::string_view text, std::string_view id) {
  CampaignRecord c;
  JsonIn in(text, "campaign record " + std::string(id));
  in.Str("id", c.id);
  in.Str("sql", c.sql);
  in.Str("target", c.target);
  in.Strs("expected", c.expected);
  in.Str("created_by", c.created_by);
  in.Int("created_at", c.created_at);
  in.Int("deadline", c.deadline);
  in.Int("wait_until", c.wait_until);
  in.Uint("timeout_ms", c.timeout_ms);
  in.Bool("finished", c.finished);
  if (!in.status().ok()) return in.status();
  return c;
}

Result<AnswerRecord> DecodeAnswer(std::string_view text, std::string_view where) {
  AnswerRecord a;
  JsonIn in(text, "answer record " + std::string(where));
  std::string status = "ok";
  in.Str("campaign_id", a.campaign_id);
  in.Str("host_identifier", a.host_identifier);
  in.Str("status", status);
  in.Strs("columns", a.columns);
  in.Str("rows_json", a.rows_json);
  in.Uint("rows", a.rows);
  in.Uint("rows_total", a.rows_total);
  in.Str("error", a.error);
  in.Double("duration_ms", a.duration_ms);
  in.Int("received_at", a.received_at);
  if (in.status().ok()) {
    if (status == "ok") {
      a.status = AnswerRecord::Status::kOk;
    } else if (status == "error") {
      a.status = AnswerRecord::Status::kError;
    } else {
      in.Fail("has an unknown status \"" + status + "\"");
    }
  }
  if (!in.status().ok()) return in.status();
  return a;
}

// ---- tasks: "task/" EncodeSeq(N) -> task t_N; "task_node/" EncodeSeq(N) NUL HOST -> node of
// t_N; "task_counter" (kMeta).

constexpr std::string_view kTaskPrefix = "task/";
constexpr std::string_view kTaskNodePrefix = "task_node/";
constexpr char kTaskCounter[] = "task_counter";

// "t_N" -> N (N >= 1); nullopt for anything else.
std::optional<uint64_t> TaskNumber(std::string_view id) {
  if (!id.starts_with("t_") || id.size() < 3 || id[2] == '0') return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return n;
}

std::string EncodeTask(const TaskRecord& t) {
  return JsonOut()
      .Str("id", t.id)
      .Str("kind", t.kind)
      .Str("check", t.check)
      .Strs("packages", t.packages)
      .Bool("dry_run", t.dry_run)
      .Str("target", t.target)
      .Uint("batch", t.batch)
      .Uint("max_failures", t.max_failures)
      .Int("node_timeout_ms", t.node_timeout_ms)
      .Str("created_by", t.created_by)
      .Int("created_at", t.created_at)
      .Str("status", t.status)
      .Int("finished_at", t.finished_at)
      .Strs("nodes", t.nodes)
      .Done();
}

Result<TaskRecord> DecodeTask(std::string_view text, std::string_view id) {
  TaskRecord t;
  JsonIn in(text, "task record " + std::string(id));
  in.Str("id", t.id);
  in.Str("kind", t.kind);
  in.Str("check", t.check);
  in.Strs("packages", t.packages);
  in.Bool("dry_run", t.dry_run);
  in.Str("target", t.target);
  in.Uint("batch", t.batch);
  in.Uint("max_failures", t.max_failures);
  in.Int("node_timeout_ms", t.node_timeout_ms);
  in.Str("created_by", t.created_by);
  in.Int("created_at", t.created_at);
  in.Str("status", t.status);
  in.Int("finished_at", t.finished_at);
  in.Strs("nodes", t.nodes);
  if (!in.status().ok()) return in.status();
  return t;
}

std::string EncodeTaskNode(const TaskNodeRecord& n) {
  return JsonOut()
      .Str("task_id", n.task_id)
      .Str("host_identifier", n.host_identifier)
      .Uint("batch", n.batch)
      .Str("state", n.state)
      .Bool("offline", n.offline)
      .Int("sent_at", n.sent_at)
      .Int("answered_at", n.answered_at)
      .Str("outcome", n.outcome)
      .Str("result_json", n.result_json)
      .Done();
}

Result<TaskNodeRecord> DecodeTaskNode(std::string_view text, std::string_view where) {
  TaskNodeRecord n;
  JsonIn in(text, "task node record " + std::string(where));
  in.Str("task_id", n.task_id);
  in.Str("host_identifier", n.host_identifier);
  in.Uint("batch", n.batch);
  in.Str("state", n.state);
  in.Bool("offline", n.offline);
  in.Int("sent_at", n.sent_at);
  in.Int("answered_at", n.answered_at);
  in.Str("outcome", n.outcome);
  in.Str("result_json", n.result_json);
  if (!in.status().ok()) return in.status();
  return n;
}

// ---- config versions: the record without its files, and the files apart, so that listing
// the history does not read every version's packs.

constexpr std::string_view kConfigPrefix = "config/";
constexpr std::string_view kConfigFilesPrefix = "config_files/";
constexpr char kConfigCurrent[] = "config_current";

std::string EncodeConfigVersion(const ConfigVersionRecord& c) {
  return JsonOut()
      .Uint("version", c.version)
      .Int("published_at", c.published_at)
      .Str("published_by", c.published_by)
      .Str("digest", c.digest)
      .Str("note", c.note)
      .Strs("paths", c.paths)
      .Done();
}

std::string EncodeConfigFiles(const std::map<std::string, std::string>& files) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [path, content] : files) {
    w.Key(path.data(), static_cast<rapidjson::SizeType>(path.size()));
    w.String(content.data(), static_cast<rapidjson::SizeType>(content.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<ConfigVersionRecord> DecodeConfigVersion(std::string_view text, uint64_t version) {
  ConfigVersionRecord c;
  JsonIn in(text, "config version " + std::to_string(version));
  in.Uint("version", c.version);
  in.Int("published_at", c.published_at);
  in.Str("published_by", c.published_by);
  in.Str("digest", c.digest);
  in.Str("note", c.note);
  in.Strs("paths", c.paths);
  if (in.status().ok() && c.version != version) {
    in.Fail("says it is version " + std::to_string(c.version));
  }
  if (!in.status().ok()) return in.status();
  return c;
}

Result<std::map<std::string, std::string>> DecodeConfigFiles(std::string_view text,
                                                             uint64_t version) {
  const std::string where = "hub store: the files of config version " + std::to_string(version);
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Status::Corruption(where + " are not a JSON object");
  }
  std::map<std::string, std::string> files;
  for (const auto& member : doc.GetObject()) {
    if (!member.value.IsString()) {
      return Status::Corruption(where + ": \"" +
                                std::string(member.name.GetString(), member.name.GetStringLength()) +
                                "\" is not a string");
    }
    files.emplace(std::string(member.name.GetString(), member.name.GetStringLength()),
                  std::string(member.value.GetString(), member.value.GetStringLength()));
  }
  return files;
}

class EmbeddedHubStore final : public HubStore {
 public:
  EmbeddedHubStore(std::unique_ptr<store::Store> store, std::function<int64_t()> unix_seconds)
      : store_(std::move(store)), audit_(*store_), evidence_(*store_, std::move(unix_seconds)) {}

  // Before the store is shared: what an older hub derived from the evidence, brought up to date.
  Status UpgradeEvidence() { return evidence_.Upgrade(); }

  Status PutNode(const NodeRecord& node) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", node.host_identifier));
    std::lock_guard lock(Stripe(node.host_identifier));
    std::vector<Mutation> batch;
    VIGIL_ASSIGN_OR_RETURN(auto old, GetNode(node.host_identifier));
    if (old && !old->key_hash.empty() && old->key_hash != node.key_hash) {
      batch.push_back(Mutation::Delete(Family::kNodes, Cat(kKeyPrefix, old->key_hash)));
    }
    if (!node.key_hash.empty()) {
      VIGIL_ASSIGN_OR_RETURN(auto holder, FindNodeByKeyHash(node.key_hash));
      if (holder && holder->host_identifier != node.host_identifier) {
        return Status::AlreadyExists("node " + node.host_identifier +
                                     ": its key hash is already node " + holder->host_identifier +
                                     "'s");
      }
      batch.push_back(
          Mutation::Put(Family::kNodes, Cat(kKeyPrefix, node.key_hash), node.host_identifier));
    }
    NodeRecord stored = node;
    if (old) stored.acked_seq = old->acked_seq;
    batch.push_back(
        Mutation::Put(Family::kNodes, Cat(kNodePrefix, node.host_identifier), EncodeNode(stored)));
    return store_->Write(batch);
  }

  Status DeleteNode(std::string_view host_identifier) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    std::lock_guard lock(Stripe(host_identifier));
    VIGIL_ASSIGN_OR_RETURN(auto old, GetNode(host_identifier));
    if (!old) return Status::NotFound("node " + std::string(host_identifier) + " is not enrolled");
    std::vector<Mutation> batch;
    if (!old->key_hash.empty()) {
      batch.push_back(Mutation::Delete(Family::kNodes, Cat(kKeyPrefix, old->key_hash)));
    }
    batch.push_back(Mutation::Delete(Family::kNodes, Cat(kNodePrefix, host_identifier)));
    return store_->Write(batch);
  }

  Result<std::optional<NodeRecord>> GetNode(std::string_view host_identifier) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    const std::string key = Cat(kNodePrefix, host_identifier);
    VIGIL_ASSIGN_OR_RETURN(auto value, store_->Get(Family::kNodes, key));
    if (!value) return std::optional<NodeRecord>();
    VIGIL_ASSIGN_OR_RETURN(NodeRecord node, DecodeNode(*value, host_identifier));
    return std::optional<NodeRecord>(std::move(node));
  }

  Result<std::optional<NodeRecord>> FindNodeByKeyHash(std::string_view key_hash) const override {
    if (key_hash.empty()) return std::optional<NodeRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto host, store_->Get(Family::kNodes, Cat(kKeyPrefix, key_hash)));
    if (!host) return std::optional<NodeRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto node, GetNode(*host));
    // The index entry is written with the node; a node whose key changed is not found by the old.
    if (!node || node->key_hash != key_hash) return std::optional<NodeRecord>();
    return node;
  }

  Result<std::vector<NodeRecord>> ListNodes() const override {
    std::vector<NodeRecord> nodes;
    Status decoded;
    VIGIL_RETURN_IF_ERROR(store_->Scan(
        Family::kNodes, kNodePrefix, [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(kNodePrefix)) return false;
          auto node = DecodeNode(value, key.substr(kNodePrefix.size()));
          if (!node.ok()) {
            decoded = node.status();
            return false;
          }
          nodes.push_back(*std::move(node));
          return true;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    return nodes;
  }

  Status TouchNode(std::string_view host_identifier, int64_t last_seen,
                   std::string_view remote_address) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    std::lock_guard lock(Stripe(host_identifier));
    VIGIL_ASSIGN_OR_RETURN(auto node, GetNode(host_identifier));
    if (!node) return Status::NotFound("node " + std::string(host_identifier) + " is not enrolled");
    node->last_seen = last_seen;
    node->remote_address = std::string(remote_address);
    // Not synced: the next message refreshes last_seen (a process crash still keeps it).
    return store_->Put(Family::kNodes, Cat(kNodePrefix, host_identifier), EncodeNode(*node),
                       {.sync = false});
  }

  Status PutToken(const TokenRecord& token) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a token id", token.id));
    if (token.hash.empty()) return Status::InvalidArgument("token " + token.id + " has no hash");
    std::lock_guard lock(tokens_mutex_);
    std::vector<Mutation> batch;
    VIGIL_ASSIGN_OR_RETURN(auto old, ReadToken(token.id));
    uint64_t order = 0;
    if (old) {
      order = old->order;
      if (old->record.hash != token.hash) {
        batch.push_back(Mutation::Delete(Family::kTokens, Cat(kHashPrefix, old->record.hash)));
      }
    } else {
      VIGIL_ASSIGN_OR_RETURN(order, NextCounter(kTokenCounter, batch));
    }
    VIGIL_ASSIGN_OR_RETURN(auto holder, store_->Get(Family::kTokens, Cat(kHashPrefix, token.hash)));
    if (holder && *holder != token.id) {
      return Status::AlreadyExists("token " + token.id + ": its hash is already token " +
                                   *holder + "'s");
    }
    batch.push_back(Mutation::Put(Family::kTokens, Cat(kHashPrefix, token.hash), token.id));
    batch.push_back(
        Mutation::Put(Family::kTokens, Cat(kTokenPrefix, token.id), EncodeToken(token, order)));
    return store_->Write(batch);
  }

  Result<std::optional<TokenRecord>> FindTokenByHash(std::string_view hash) const override {
    if (hash.empty()) return std::optional<TokenRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto id, store_->Get(Family::kTokens, Cat(kHashPrefix, hash)));
    if (!id) return std::optional<TokenRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto token, GetToken(*id));
    if (!token || token->hash != hash) return std::optional<TokenRecord>();
    return token;
  }

  Result<std::optional<TokenRecord>> GetToken(std::string_view id) const override {
    if (id.empty()) return std::optional<TokenRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto stored, ReadToken(id));
    if (!stored) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(std::move(stored->record));
  }

  Result<std::vector<TokenRecord>> ListTokens() const override {
    std::vector<StoredToken> stored;
    Status decoded;
    VIGIL_RETURN_IF_ERROR(store_->Scan(
        Family::kTokens, kTokenPrefix, [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(kTokenPrefix)) return false;
          auto token = DecodeToken(value, key.substr(kTokenPrefix.size()));
          if (!token.ok()) {
            decoded = token.status();
            return false;
          }
          stored.push_back(*std::move(token));
          return true;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    std::sort(stored.begin(), stored.end(),
              [](const StoredToken& a, const StoredToken& b) { return a.order < b.order; });
    std::vector<TokenRecord> tokens;
    tokens.reserve(stored.size());
    for (StoredToken& t : stored) tokens.push_back(std::move(t.record));
    return tokens;
  }

  Result<std::string> NextCampaignId() override {
    std::lock_guard lock(campaigns_mutex_);
    std::vector<Mutation> batch;
    VIGIL_ASSIGN_OR_RETURN(uint64_t n, NextCounter(kCampaignCounter, batch));
    VIGIL_RETURN_IF_ERROR(store_->Write(batch));
    return "q_" + std::to_string(n);
  }

  Status PutCampaign(const CampaignRecord& campaign) override {
    auto n = CampaignNumber(campaign.id);
    if (!n) {
      return Status::InvalidArgument("campaign id \"" + campaign.id +
                                     "\" is not one NextCampaignId() gives (q_N)");
    }
    return store_->Put(Family::kCampaigns, store::EncodeSeq(*n), EncodeCampaign(campaign));
  }

  Result<std::optional<CampaignRecord>> GetCampaign(std::string_view id) const override {
    auto n = CampaignNumber(id);
    if (!n) return std::optional<CampaignRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto value, store_->Get(Family::kCampaigns, store::EncodeSeq(*n)));
    if (!value) return std::optional<CampaignRecord>();
    VIGIL_ASSIGN_OR_RETURN(CampaignRecord campaign, DecodeCampaign(*value, id));
    return std::optional<CampaignRecord>(std::move(campaign));
  }

  Result<std::vector<CampaignRecord>> ListCampaigns(size_t limit) const override {
    std::vector<CampaignRecord> campaigns;
    if (limit == 0) return campaigns;
    Status decoded;
    VIGIL_RETURN_IF_ERROR(store_->ScanBackward(
        Family::kCampaigns, std::nullopt, [&](std::string_view key, std::string_view value) {
          const std::string id = "q_" + std::to_string(store::DecodeSeq(key).value_or(0));
          auto campaign = DecodeCampaign(value, id);
          if (!campaign.ok()) {
            decoded = campaign.status();
            return false;
          }
          campaigns.push_back(*std::move(campaign));
          return campaigns.size() < limit;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    return campaigns;
  }

  Result<bool> PutAnswer(const AnswerRecord& answer) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("an answer's campaign id", answer.campaign_id));
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("an answer's host identifier", answer.host_identifier));
    const std::string key = Joined(answer.campaign_id, answer.host_identifier);
    std::lock_guard lock(Stripe(key));
    VIGIL_ASSIGN_OR_RETURN(auto existing, store_->Get(Family::kAnswers, key));
    if (existing) return false;
    // Through the WAL without waiting for the disk: a process crash keeps every answer, a power
    // loss may lose the last few (the question can be asked again), and an fsync per answer
    // would cap a campaign at a few thousand answers a second.
    VIGIL_RETURN_IF_ERROR(
        store_->Put(Family::kAnswers, key, EncodeAnswer(answer), {.sync = false}));
    return true;
  }

  Result<std::vector<AnswerRecord>> Answers(std::string_view campaign_id) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a campaign id", campaign_id));
    std::vector<AnswerRecord> answers;
    const std::string prefix = Joined(campaign_id, "");
    Status decoded;
    VIGIL_RETURN_IF_ERROR(
        store_->Scan(Family::kAnswers, prefix, [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(prefix)) return false;
          auto answer = DecodeAnswer(
              value, Cat(Cat(campaign_id, " of node "), key.substr(prefix.size())));
          if (!answer.ok()) {
            decoded = answer.status();
            return false;
          }
          answers.push_back(*std::move(answer));
          return true;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    return answers;
  }

  Result<EvidenceAck> StoreEvidence(std::string_view host_identifier, uint64_t first_seq,
                                    const std::vector<std::string>& items_json) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    std::lock_guard lock(Stripe(host_identifier));
    VIGIL_ASSIGN_OR_RETURN(auto node, GetNode(host_identifier));
    if (!node) return Status::NotFound("node " + std::string(host_identifier) + " is not enrolled");
    EvidenceAck ack{.acked_seq = node->acked_seq, .stored = 0};
    if (items_json.empty()) return ack;
    if (first_seq == 0) {
      return Status::InvalidArgument("evidence from node " + std::string(host_identifier) +
                                     ": seq starts at 1, not 0");
    }
    if (items_json.size() - 1 > UINT64_MAX - first_seq) {
      return Status::InvalidArgument("evidence from node " + std::string(host_identifier) +
                                     ": seq overflows");
    }
    const uint64_t last_seq = first_seq + (items_json.size() - 1);
    if (last_seq <= node->acked_seq) return ack;  // all sent before
    std::vector<Mutation> batch;
    std::vector<std::string_view> fresh;
    const std::string prefix = Joined(host_identifier, "");
    for (size_t i = 0; i < items_json.size(); ++i) {
      const uint64_t seq = first_seq + i;
      if (seq <= node->acked_seq) continue;
      batch.push_back(
          Mutation::Put(Family::kEvidence, prefix + store::EncodeSeq(seq), items_json[i]));
      fresh.push_back(items_json[i]);
      ++ack.stored;
    }
    VIGIL_RETURN_IF_ERROR(evidence_.Index(host_identifier, fresh, batch));
    node->acked_seq = last_seq;
    batch.push_back(
        Mutation::Put(Family::kNodes, Cat(kNodePrefix, host_identifier), EncodeNode(*node)));
    VIGIL_RETURN_IF_ERROR(store_->Write(batch));
    ack.acked_seq = last_seq;
    return ack;
  }

  Status ReadEvidence(
      std::string_view host_identifier, uint64_t after,
      const std::function<bool(uint64_t seq, std::string_view item_json)>& visit) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    if (after == UINT64_MAX) return Status::Ok();
    const std::string prefix = Joined(host_identifier, "");
    Status bad_key;
    VIGIL_RETURN_IF_ERROR(store_->Scan(
        Family::kEvidence, prefix + store::EncodeSeq(after + 1),
        [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(prefix)) return false;
          auto seq = store::DecodeSeq(key.substr(prefix.size()));
          if (!seq) {
            bad_key = Status::Corruption("hub store: an evidence key of node " +
                                         std::string(host_identifier) + " is not a seq");
            return false;
          }
          return visit(*seq, value);
        }));
    return bad_key;
  }

  Status PutConfigVersion(const ConfigVersionRecord& record) override {
    if (record.version == 0) return Status::InvalidArgument("config versions start at 1, not 0");
    std::lock_guard lock(config_mutex_);
    // The greatest config/ key: "config/" sorts before "config_current" and "config_files/",
    // so look backwards from the end of the config/ range.
    uint64_t newest = 0;
    Status bad_key;
    const std::string end = std::string(kConfigPrefix) + std::string(8, '\xff');
    VIGIL_RETURN_IF_ERROR(store_->ScanBackward(
        Family::kMeta, std::string_view(end), [&](std::string_view key, std::string_view) {
          if (!key.starts_with(kConfigPrefix)) return false;
          auto seq = store::DecodeSeq(key.substr(kConfigPrefix.size()));
          if (!seq) {
            bad_key = Status::Corruption("hub store: a config version key is not a number");
          } else {
            newest = *seq;
          }
          return false;
        }));
    VIGIL_RETURN_IF_ERROR(bad_key);
    if (record.version <= newest) {
      return Status::FailedPrecondition("config version " + std::to_string(record.version) +
                                        " is not above the newest stored one, " +
                                        std::to_string(newest));
    }
    ConfigVersionRecord stored = record;
    stored.paths.clear();
    for (const auto& [path, content] : record.files) stored.paths.push_back(path);
    const std::string seq = store::EncodeSeq(record.version);
    std::vector<Mutation> batch;
    batch.push_back(Mutation::Put(Family::kMeta, Cat(kConfigFilesPrefix, seq),
                                  EncodeConfigFiles(record.files)));
    batch.push_back(
        Mutation::Put(Family::kMeta, Cat(kConfigPrefix, seq), EncodeConfigVersion(stored)));
    batch.push_back(Mutation::Put(Family::kMeta, kConfigCurrent, std::to_string(record.version)));
    return store_->Write(batch);
  }

  Result<std::optional<ConfigVersionRecord>> GetConfigVersion(uint64_t version) const override {
    const std::string seq = store::EncodeSeq(version);
    VIGIL_ASSIGN_OR_RETURN(auto value, store_->Get(Family::kMeta, Cat(kConfigPrefix, seq)));
    if (!value) return std::optional<ConfigVersionRecord>();
    VIGIL_ASSIGN_OR_RETURN(ConfigVersionRecord record, DecodeConfigVersion(*value, version));
    VIGIL_ASSIGN_OR_RETURN(auto files, store_->Get(Family::kMeta, Cat(kConfigFilesPrefix, seq)));
    if (!files) {
      return Status::Corruption("hub store: config version " + std::to_string(version) +
                                " has no files");
    }
    VIGIL_ASSIGN_OR_RETURN(record.files, DecodeConfigFiles(*files, version));
    return std::optional<ConfigVersionRecord>(std::move(record));
  }

  Result<std::vector<ConfigVersionRecord>> ListConfigVersions() const override {
    std::vector<ConfigVersionRecord> versions;
    Status decoded;
    const std::string end = std::string(kConfigPrefix) + std::string(8, '\xff');
    VIGIL_RETURN_IF_ERROR(store_->ScanBackward(
        Family::kMeta, std::string_view(end), [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(kConfigPrefix)) return false;
          auto seq = store::DecodeSeq(key.substr(kConfigPrefix.size()));
          if (!seq) {
            decoded = Status::Corruption("hub store: a config version key is not a number");
            return false;
          }
          auto record = DecodeConfigVersion(value, *seq);
          if (!record.ok()) {
            decoded = record.status();
            return false;
          }
          versions.push_back(*std::move(record));
          return true;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    return versions;
  }

  Result<uint64_t> CurrentConfigVersion() const override {
    VIGIL_ASSIGN_OR_RETURN(auto value, store_->Get(Family::kMeta, kConfigCurrent));
    if (!value) return uint64_t{0};
    auto parsed = ParseCounter(*value);
    if (!parsed) {
      return Status::Corruption("hub store: the current config version is \"" + *value +
                                "\", not a number");
    }
    return *parsed;
  }

  Status LatestVerdicts(
      const std::function<bool(std::string_view host_identifier,
                               const std::vector<VerdictSummary>& verdicts)>& visit)
      const override {
    return evidence_.LatestVerdicts(visit);
  }

  Status LatestVerdictsAt(
      int64_t at, const std::function<bool(std::string_view host_identifier,
                                           const std::vector<VerdictSummary>& verdicts)>& visit)
      const override {
    return evidence_.LatestVerdictsAt(at, visit);
  }

  Result<std::optional<std::string>> LatestVerdictJson(std::string_view host_identifier,
                                                       std::string_view check) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.LatestVerdictJson(host_identifier, check);
  }

  Status VerdictHistory(
      std::string_view host_identifier, int64_t from, int64_t to,
      const std::function<bool(const VerdictHistoryEntry& entry)>& visit) const override {
    return evidence_.VerdictHistory(host_identifier, from, to, visit);
  }

  Status VerdictDays(
      std::string_view host_identifier, int64_t from, int64_t to,
      const std::function<bool(const VerdictDayCounts& counts)>& visit) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.VerdictDays(host_identifier, from, to, visit);
  }

  Result<std::optional<AuditHeadRecord>> AuditHead(
      std::string_view host_identifier) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.AuditHead(host_identifier);
  }

  Result<std::optional<AuditHeadRecord>> AuditHeadAt(std::string_view host_identifier,
                                                     int64_t at) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.AuditHeadAt(host_identifier, at);
  }

  Status RecordConnected(std::string_view host_identifier, int64_t unix_ms) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.RecordConnection(host_identifier, unix_ms, true);
  }

  Status RecordDisconnected(std::string_view host_identifier, int64_t unix_ms) override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.RecordConnection(host_identifier, unix_ms, false);
  }

  Result<NodePresence> PresenceAt(std::string_view host_identifier,
                                  int64_t unix_ms) const override {
    VIGIL_RETURN_IF_ERROR(CheckIdentifier("a node's host identifier", host_identifier));
    return evidence_.PresenceAt(host_identifier, unix_ms);
  }

  // ---- tasks

  Result<std::string> NextTaskId() override {
    std::lock_guard lock(tasks_mutex_);
    std::vector<Mutation> batch;
    VIGIL_ASSIGN_OR_RETURN(uint64_t n, NextCounter(kTaskCounter, batch));
    VIGIL_RETURN_IF_ERROR(store_->Write(batch));
    return "t_" + std::to_string(n);
  }

  Status PutTask(const TaskRecord& task, const std::vector<TaskNodeRecord>& nodes) override {
    auto n = TaskNumber(task.id);
    if (!n) {
      return Status::InvalidArgument("task id \"" + task.id +
                                     "\" is not one NextTaskId() gives (t_N)");
    }
    const std::string seq = store::EncodeSeq(*n);
    std::vector<Mutation> batch;
    batch.push_back(Mutation::Put(Family::kMeta, Cat(kTaskPrefix, seq), EncodeTask(task)));
    for (const TaskNodeRecord& node : nodes) {
      if (node.task_id != task.id) {
        return Status::InvalidArgument("task node record of " + node.task_id + " given with " +
                                       task.id);
      }
      VIGIL_RETURN_IF_ERROR(CheckIdentifier("a task node's host identifier", node.host_identifier));
      batch.push_back(Mutation::Put(Family::kMeta,
                                    Joined(Cat(kTaskNodePrefix, seq), node.host_identifier),
                                    EncodeTaskNode(node)));
    }
    return store_->Write(batch);
  }

  Result<std::optional<TaskRecord>> GetTask(std::string_view id) const override {
    auto n = TaskNumber(id);
    if (!n) return std::optional<TaskRecord>();
    VIGIL_ASSIGN_OR_RETURN(auto value,
                           store_->Get(Family::kMeta, Cat(kTaskPrefix, store::EncodeSeq(*n))));
    if (!value) return std::optional<TaskRecord>();
    VIGIL_ASSIGN_OR_RETURN(TaskRecord task, DecodeTask(*value, id));
    return std::optional<TaskRecord>(std::move(task));
  }

  Result<std::vector<TaskRecord>> ListTasks(size_t limit) const override {
    std::vector<TaskRecord> tasks;
    if (limit == 0) return tasks;
    Status decoded;
    const std::string end = std::string(kTaskPrefix) + std::string(8, '\xff');
    VIGIL_RETURN_IF_ERROR(store_->ScanBackward(
        Family::kMeta, std::string_view(end), [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(kTaskPrefix)) return false;
          const std::string id =
              "t_" + std::to_string(store::DecodeSeq(key.substr(kTaskPrefix.size())).value_or(0));
          auto task = DecodeTask(value, id);
          if (!task.ok()) {
            decoded = task.status();
            return false;
          }
          tasks.push_back(*std::move(task));
          return tasks.size() < limit;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    return tasks;
  }

  Result<std::vector<TaskNodeRecord>> TaskNodes(std::string_view task_id) const override {
    std::vector<TaskNodeRecord> nodes;
    auto n = TaskNumber(task_id);
    if (!n) return nodes;
    const std::string prefix = Joined(Cat(kTaskNodePrefix, store::EncodeSeq(*n)), "");
    Status decoded;
    VIGIL_RETURN_IF_ERROR(
        store_->Scan(Family::kMeta, prefix, [&](std::string_view key, std::string_view value) {
          if (!key.starts_with(prefix)) return false;
          auto node = DecodeTaskNode(
              value, Cat(Cat(task_id, " of node "), key.substr(prefix.size())));
          if (!node.ok()) {
            decoded = node.status();
            return false;
          }
          nodes.push_back(*std::move(node));
          return true;
        }));
    VIGIL_RETURN_IF_ERROR(decoded);
    return nodes;
  }

  audit::AuditChain& audit() override { return audit_; }

  uint64_t ApproximateBytes() const override { return store_->ApproximateBytes(); }

 private:
  std::mutex& Stripe(std::string_view key) const {
    return stripes_[std::hash<std::string_view>()(key) % stripes_.size()];
  }

  Result<std::optional<StoredToken>> ReadToken(std::string_view id) const {
    VIGIL_ASSIGN_OR_RETURN(auto value, store_->Get(Family::kTokens, Cat(kTokenPrefix, id)));
    if (!value) return std::optional<StoredToken>();
    VIGIL_ASSIGN_OR_RETURN(StoredToken token, DecodeToken(*value, id));
    return std::optional<StoredToken>(std::move(token));
  }

  // The counter's next value, with its update added to `batch`. The caller holds the mutex
  // that guards the counter.
  Result<uint64_t> NextCounter(const char* name, std::vector<Mutation>& batch) {
    VIGIL_ASSIGN_OR_RETURN(auto value, store_->Get(Family::kMeta, name));
    uint64_t n = 0;
    if (value) {
      auto parsed = ParseCounter(*value);
      if (!parsed) {
        return Status::Corruption(std::string("hub store: counter ") + name + " is \"" + *value +
                                  "\", not a number");
      }
      n = *parsed;
    }
    ++n;
    batch.push_back(Mutation::Put(Family::kMeta, name, std::to_string(n)));
    return n;
  }

  const std::unique_ptr<store::Store> store_;
  audit::AuditChain audit_;
  internal::EvidenceIndex evidence_;  // its Index() runs under the node's stripe
  // Read-modify-writes of one node (PutNode, TouchNode, StoreEvidence) or one answer hold the
  // stripe of its key, so that different nodes do not wait on each other's synced writes.
  mutable std::array<std::mutex, 64> stripes_;
  std::mutex tokens_mutex_;     // PutToken: the token counter and the hash index
  std::mutex campaigns_mutex_;  // NextCampaignId
  std::mutex tasks_mutex_;      // NextTaskId
  std::mutex config_mutex_;     // PutConfigVersion: the newest version and the current one
};

}  // namespace

Result<std::unique_ptr<HubStore>> OpenEmbeddedHubStore(const std::string& dir,
                                                       std::function<int64_t()> unix_seconds) {
  VIGIL_ASSIGN_OR_RETURN(auto store,
                         store::Store::Open(dir, {.create = true, .layout = store::Layout::kHub}));
  auto hub = std::make_unique<EmbeddedHubStore>(std::move(store), std::move(unix_seconds));
  VIGIL_RETURN_IF_ERROR(hub->UpgradeEvidence());
  return std::unique_ptr<HubStore>(std::move(hub));
}

}  // namespace vigil::server
