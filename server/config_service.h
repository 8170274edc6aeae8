// The fleet config's versions on the hub (DESIGN.md, "The hub", Config; PROTOCOL.md, the
// `config` message and POST /api/v1/config): publish (validate everything, then store a new
// version), history, files, rollback (a new version with an old one's files), and each node's
// signed `config` message under the current version.
//
//   VIGIL_ASSIGN_OR_RETURN(auto configs, ConfigService::Open(store, key, state_dir + "/work"));
//   auto outcome = configs->Publish(files, caller.id);  // problems, or the new version
//   auto message = configs->MessageFor(host_identifier, hostname);
//
// fleet_config.h reads a fleet from a directory: a publish writes its files to a fresh
// directory under work_dir, loads and validates it there, and removes the directory; Open()
// rebuilds the current version the same way (without validating it again).
//
// A node's message depends only on the fleet rule it matches, so it is rendered and signed once
// per (version, rule) and shared by every node matching that rule.
//
// Thread safety: every method may be called from any thread at any time. Publish() and
// Rollback() run one at a time; the current fleet definition is immutable and swapped whole,
// so readers never wait for a publish's validation. OnChange listeners are called on the
// publishing thread, without the service's locks held. The store outlives the service.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/packs/loader.h"
#include "engine/signing.h"
#include "engine/status.h"
#include "engine/tar.h"
#include "server/fleet_config.h"
#include "server/hub_store.h"

namespace vigil::server {

struct ConfigVersionInfo {
  uint64_t version = 0;
  int64_t published_at = 0;        // unix ms
  std::string published_by;        // token id, or "local"
  std::string digest;              // SHA-256 hex over the files (path-sorted, length-prefixed)
  std::string note;                // "" or "rollback to 3"
  std::vector<std::string> files;  // paths, sorted
};

struct PublishOutcome {
  uint64_t version = 0;
  std::vector<packs::Problem> problems;
};

// SHA-256 hex over the files in path order, each as two netstrings: "LEN:PATH," "LEN:CONTENT,".
std::string ConfigDigest(const std::map<std::string, std::string>& files);

class ConfigService {
 public:
  // Loads the current version (if any) from the store and validates nothing again.
  static Result<std::unique_ptr<ConfigService>> Open(HubStore& store, SigningKey key,
                                                     std::string work_dir);
  ConfigService(const ConfigService&) = delete;
  ConfigService& operator=(const ConfigService&) = delete;

  const std::string& public_key() const;

  // files: relative path -> content (fleet.yaml and the packs). Rejected (problems set,
  // version 0, nothing stored) when LoadFleetDir/ValidateFleetForPublish find anything.
  // InvalidArgument (nothing stored) for a bad file name (absolute, "..", empty), more files or
  // bytes than the limits, or two paths where one is the other's directory.
  Result<PublishOutcome> Publish(const std::map<std::string, std::string>& files,
                                 std::string_view actor);
  // A new version with version V's files (versions only grow; agents see a new number).
  // NotFound for a version never published; FailedPrecondition (naming every problem) when
  // V's files no longer pass the validation a publish does.
  Result<uint64_t> Rollback(uint64_t version, std::string_view actor);
  Result<std::vector<ConfigVersionInfo>> History() const;                    // newest first
  Result<std::map<std::string, std::string>> Files(uint64_t version) const;  // NotFound
  // With its files' paths; NotFound for a version never published.
  Result<ConfigVersionInfo> Info(uint64_t version) const;
  uint64_t current_version() const;  // 0: nothing published yet

  // The signed `config` message for this node under the current version; nullopt when
  // nothing is published or no rule matches the node.
  Result<std::optional<std::string>> MessageFor(std::string_view host_identifier,
                                                std::string_view hostname) const;
  // The node's roles under the current version (empty when none matches).
  std::vector<std::string> RolesFor(std::string_view host_identifier,
                                    std::string_view hostname) const;
  // What the node runs under the current version: the ids of its roles' packs' checks and its
  // target SL; nullopt when nothing is published, no checks (and SL 0) when no rule matches it.
  // Cached per rule, like MessageFor. The fleet report counts only these checks (one a node no
  // longer runs is not evidence about it any more) against this SL.
  Result<std::optional<NodeScope>> ScopeFor(std::string_view host_identifier,
                                            std::string_view hostname) const;
  // The SR catalogue of the current version (JSON text), nullopt when none.
  std::optional<std::string> Catalog() const;
  // Called on the publishing thread after a version became current (publish or rollback).
  void OnChange(std::function<void(uint64_t version)> listener);

  // How many `config` messages were rendered and signed since Open() (the cache's misses).
  uint64_t messages_rendered() const;

 private:
  ConfigService(HubStore& store, SigningKey key, std::string work_dir);

  // The fleet in `files`, read from a fresh directory under work_dir_ that is removed again.
  Result<FleetDefinition> Materialize(const std::map<std::string, std::string>& files) const;
  // Stores `record` as the next version, makes it current, audits it and tells the listeners.
  // The caller holds publish_mutex_.
  Result<uint64_t> Install(ConfigVersionRecord record, FleetDefinition fleet,
                           std::string_view action, std::optional<uint64_t> rollback_to);

  HubStore& store_;
  const SigningKey key_;
  const std::string work_dir_;
  const tar::Limits limits_;

  std::mutex publish_mutex_;  // held by Publish() and Rollback() for their whole run
  uint64_t newest_ = 0;       // guarded by publish_mutex_: the highest stored version

  mutable std::mutex render_mutex_;  // one message rendered at a time (no herd of renders)

  mutable std::mutex mutex_;
  // Guarded by mutex_: the current version, its fleet, its messages by the rule's index in
  // fleet_->nodes, the listeners, the render count.
  uint64_t version_ = 0;
  std::shared_ptr<const FleetDefinition> fleet_;
  mutable std::map<size_t, std::shared_ptr<const std::string>> messages_;
  mutable std::map<size_t, std::shared_ptr<const NodeScope>> scopes_;  // by rule
  std::vector<std::function<void(uint64_t)>> listeners_;
  mutable uint64_t rendered_ = 0;
};

}  // namespace vigil::server
