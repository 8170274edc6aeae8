// The fleet definition an admin publishes (DESIGN.md, "The hub", Config): a directory holding
// fleet.yaml and the pack files it names.
//
//   nodes:                      # first match wins; a node matching none gets no config
//     - match: "hist-*"         # glob over the host identifier or the hostname
//       roles: [historian]
//       vars: {zone_cidrs: ["10.1.0.0/16"]}
//     - match: "*"
//       roles: [iec62443]
//   roles:
//     iec62443:
//       packs: [iec62443]       # built-in bundles, or pack files / directories in the fleet dir
//       enforce: off            # auto | dry-run | off (default off)
//       target_sl: 2            # 1..4 (default 2)
//       vars: {...}             # role defaults; the node rule's vars override them
//
// LoadFleetDir reads it, ValidateFleet checks everything before it may become a version, and
// NodeConfigFor renders one node's `config` message (PROTOCOL.md). Every problem names its file,
// its place (a JSON pointer; for fleet.yaml the YAML path as a pointer, with the line in the
// message) and what is wrong; all are collected, never only the first.
//
// A FleetDefinition is immutable once loaded and may be shared between threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packs/loader.h"
#include "engine/packs/node_config.h"
#include "engine/packs/pack.h"
#include "engine/status.h"

namespace vigil::server {

inline constexpr char kFleetFile[] = "fleet.yaml";

// One entry of `nodes`.
struct NodeRule {
  std::string match;  // fnmatch(3) glob, case-insensitive, over host identifier or hostname
  std::vector<std::string> roles;
  packs::Params vars;
  int line = 0;  // of the entry in fleet.yaml (1-based), for messages
};

// One entry of `roles`.
struct RoleDefinition {
  std::string name;
  std::vector<std::string> packs;  // as written: bundle names, files or directories
  packs::EnforceMode enforce = packs::EnforceMode::kOff;
  int target_sl = 2;
  packs::Params vars;
  int line = 0;
};

struct FleetDefinition {
  std::string dir;
  std::vector<NodeRule> nodes;                  // in file order: the first match wins
  std::map<std::string, RoleDefinition> roles;  // by name
  // Each pack name a role uses -> its files' text (a bundle or a directory gives several).
  // Files of the fleet directory are named by their path relative to it ("packs/x.json"),
  // built-in ones "builtin:iec62443/...".
  std::map<std::string, std::vector<packs::PackSource>> packs;
  // The SR catalogue: catalog.json in the fleet directory, else the first one a named bundle or
  // directory brings.
  std::optional<std::string> catalog;
  std::string catalog_name;
  // What was found wrong while reading: YAML syntax, unknown keys, wrong types, values out of
  // range, pack names that name nothing. ValidateFleet reports these first.
  std::vector<packs::Problem> problems;
};

// Reads DIR/fleet.yaml and every pack file it names. Problems in the content are kept in the
// definition's `problems`; an error only when DIR is not a readable directory or has no
// fleet.yaml (NotFound naming it).
Result<FleetDefinition> LoadFleetDir(const std::string& dir);

// Everything wrong with the definition, all at once: its load problems; roles used by a node rule
// but not defined; every pack parsed and validated as `vigil packs validate` does with
// `options` (statements prepared against options.database, enforcers and their `with` keys
// against options.actions, SR ids against options.catalog or else the fleet's catalogue); pack
// names or check ids defined twice; and every variable a check uses ("{{vars.X}}" in its
// statement or its enforcer's `with`) defined, by the pack or by the role and rule vars, for
// every node rule that gets that check. options.vars is not used: each rule has its own. Empty
// when the definition may be published.
std::vector<packs::Problem> ValidateFleet(const FleetDefinition& fleet,
                                          const packs::LoadOptions& options);

// ValidateFleet with the real table registry (statements are prepared, never run) and the
// built-in enforcer actions: what a publish checks.
std::vector<packs::Problem> ValidateFleetForPublish(const FleetDefinition& fleet);

// The rule that applies to a node: the first whose glob matches its host identifier or its
// hostname; nullptr when none does.
const NodeRule* MatchNode(const FleetDefinition& fleet, std::string_view host_identifier,
                          std::string_view hostname);

// The node's `config` message (packs::NodeConfigJson: "type" and "v" first, then `version`,
// its roles, its vars, enforce, target_sl, the packs of its roles only, each once, and the
// catalogue), unsigned. With several roles: vars merge in role order (a later role's value wins)
// and the rule's vars win over all; target_sl is the highest; enforce the most cautious (off,
// then dry-run, then auto). NotFound when no rule matches the node; FailedPrecondition when the
// definition had load problems. The definition must have passed ValidateFleet.
Result<std::string> NodeConfigFor(const FleetDefinition& fleet, std::string_view host_identifier,
                                  std::string_view hostname, uint64_t version);

// What one node runs under a published version (ConfigService::ScopeFor): the ids of its
// roles' checks and its target SL.
struct NodeScope {
  std::set<std::string> checks;
  int target_sl = 0;
  friend bool operator==(const NodeScope&, const NodeScope&) = default;
};

// Problems as one message, one per line (for a Status or a log).
std::string ProblemsText(const std::vector<packs::Problem>& problems);

}  // namespace vigil::server
