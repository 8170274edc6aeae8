#include "server/fleet_config.h"

#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <set>

#include "enforcers/builtin.h"
#include "engine/host.h"
#include "engine/packs/catalog.h"
#include "engine/packs/json_reader.h"
#include "engine/registry.h"
#include "engine/sql/database.h"
#include "packs/bundle.h"
#include "packs/embedded.h"
#include "tables/builtin.h"

namespace vigil::server {
namespace {

using packs::Param;
using packs::Params;
using packs::Problem;
using packs::internal::PointerToken;

constexpr size_t kMaxFleetFile = 4u << 20;
constexpr size_t kMaxPackFile = 4u << 20;
constexpr size_t kMaxCatalogFile = 16u << 20;

int LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool ValidRoleName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Reads fleet.yaml's tree, collecting every problem with its YAML path and line.
class YamlReader {
 public:
  explicit YamlReader(std::vector<Problem>& problems) : problems_(problems) {}

  void Report(const std::string& pointer, int line, std::string message) {
    if (line > 0) message = "line " + std::to_string(line) + ": " + message;
    problems_.push_back({kFleetFile, pointer, "", std::move(message)});
  }
  void Report(const std::string& pointer, const YAML::Node& at, std::string message) {
    Report(pointer, LineOf(at), std::move(message));
  }

  // The map's entries in file order, once each: a duplicate key, a key that is not a string or,
  // with `known` given, a key not in it is a problem.
  std::vector<std::pair<std::string, YAML::Node>> Entries(
      const YAML::Node& map, const std::string& pointer,
      const std::vector<std::string>* known = nullptr) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        Report(pointer, it->first, "a key must be a plain string");
        continue;
      }
      std::string key = it->first.Scalar();
      const std::string at = pointer + "/" + PointerToken(key);
      if (!seen.insert(key).second) {
        Report(at, it->first, "'" + key + "' is given twice");
        continue;
      }
      if (known != nullptr && std::find(known->begin(), known->end(), key) == known->end()) {
        Report(at, it->first, "unknown key '" + key + "' (known: " + Joined(*known) + ")");
        continue;
      }
      out.emplace_back(std::move(key), it->second);
    }
    return out;
  }

  std::optional<std::string> String(const YAML::Node& node, const std::string& pointer) {
    if (!node.IsScalar()) {
      Report(pointer, node, "must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::vector<std::string>> Strings(const YAML::Node& node,
                                                  const std::string& pointer,
                                                  std::string_view example) {
    if (!node.IsSequence()) {
      Report(pointer, node, "must be a list of strings (" + std::string(example) + ")");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string at = pointer + "/" + std::to_string(i);
      if (auto s = String(node[i], at)) {
        if (s->empty()) {
          Report(at, node[i], "must not be empty");
        } else {
          out.push_back(std::move(*s));
        }
      }
    }
    return out;
  }

  // Variables: name -> a string, number or boolean, or a list of them (kept as written).
  Params Vars(const YAML::Node& node, const std::string& pointer) {
    Params vars;
    if (!node.IsMap()) {
      Report(pointer, node, "must be a map of name: value");
      return vars;
    }
    for (auto& [name, value] : Entries(node, pointer)) {
      const std::string at = pointer + "/" + PointerToken(name);
      if (value.IsScalar()) {
        vars.emplace(name, Param::One(value.Scalar()));
      } else if (value.IsSequence()) {
        Param param;
        param.is_list = true;
        for (size_t i = 0; i < value.size(); ++i) {
          if (value[i].IsScalar()) {
            param.items.push_back(value[i].Scalar());
          } else {
            Report(at + "/" + std::to_string(i), value[i], "must be a string, number or boolean");
          }
        }
        vars.emplace(name, std::move(param));
      } else {
        Report(at, value, "must be a string, number, boolean or a list of them");
      }
    }
    return vars;
  }

 private:
  std::vector<Problem>& problems_;
};

void ReadNodes(YamlReader& in, const YAML::Node& nodes, FleetDefinition& fleet) {
  static const std::vector<std::string> kKeys = {"match", "roles", "vars", "description"};
  if (!nodes.IsSequence()) {
    in.Report("/nodes", nodes, "must be a list of {match, roles, vars} rules");
    return;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string pointer = "/nodes/" + std::to_string(i);
    const YAML::Node& entry = nodes[i];
    if (!entry.IsMap()) {
      in.Report(pointer, entry, "must be a map with 'match' and 'roles'");
      continue;
    }
    NodeRule rule;
    rule.line = LineOf(entry);
    bool has_match = false, has_roles = false;
    for (auto& [key, value] : in.Entries(entry, pointer, &kKeys)) {
      const std::string at = pointer + "/" + key;
      if (key == "match") {
        has_match = true;
        if (auto s = in.String(value, at)) {
          if (s->empty()) in.Report(at, value, "must be a glob over host names, e.g. \"hist-*\"");
          rule.match = std::move(*s);
        }
      } else if (key == "roles") {
        has_roles = true;
        if (auto roles = in.Strings(value, at, "roles: [iec62443]")) rule.roles = std::move(*roles);
      } else if (key == "vars") {
        rule.vars = in.Vars(value, at);
      }
    }
    if (!has_match) in.Report(pointer + "/match", entry, "missing: the host name glob to match");
    if (!has_roles) in.Report(pointer + "/roles", entry, "missing: the roles these nodes get");
    fleet.nodes.push_back(std::move(rule));
  }
}

std::optional<int> TargetSl(YamlReader& in, const YAML::Node& value, const std::string& at) {
  const std::string text = value.IsScalar() ? value.Scalar() : "";
  int sl = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), sl);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || sl < 1 || sl > 4) {
    in.Report(at, value,
              "must be a security level from 1 to 4" +
                  (text.empty() ? std::string() : ", not '" + text + "'"));
    return std::nullopt;
  }
  return sl;
}

void ReadRoles(YamlReader& in, const YAML::Node& roles, FleetDefinition& fleet) {
  static const std::vector<std::string> kKeys = {"packs", "enforce", "target_sl", "vars",
                                                 "description"};
  if (!roles.IsMap()) {
    in.Report("/roles", roles, "must be a map of role name: {packs, enforce, target_sl, vars}");
    return;
  }
  for (auto& [name, body] : in.Entries(roles, "/roles")) {
    const std::string pointer = "/roles/" + PointerToken(name);
    if (!ValidRoleName(name)) {
      in.Report(pointer, body,
                "role name '" + name + "' may hold only letters, digits, '-', '_' and '.'");
    }
    RoleDefinition role;
    role.name = name;
    role.line = LineOf(body);
    if (!body.IsMap()) {
      in.Report(pointer, body, "must be a map with 'packs' (and enforce, target_sl, vars)");
      continue;
    }
    for (auto& [key, value] : in.Entries(body, pointer, &kKeys)) {
      const std::string at = pointer + "/" + key;
      if (key == "packs") {
        if (auto list = in.Strings(value, at, "packs: [iec62443]")) role.packs = std::move(*list);
      } else if (key == "enforce") {
        const std::string mode = value.IsScalar() ? value.Scalar() : "";
        if (mode == "auto") {
          role.enforce = packs::EnforceMode::kAuto;
        } else if (mode == "dry-run") {
          role.enforce = packs::EnforceMode::kDryRun;
        } else if (mode == "off") {
          role.enforce = packs::EnforceMode::kOff;
        } else {
          in.Report(at, value, "must be auto, dry-run or off, not '" + mode + "'");
        }
      } else if (key == "target_sl") {
        if (auto sl = TargetSl(in, value, at)) role.target_sl = *sl;
      } else if (key == "vars") {
        role.vars = in.Vars(value, at);
      }
    }
    fleet.roles.emplace(name, std::move(role));
  }
}

std::string BuiltinBundles() {
  std::set<std::string> names;
  for (const packs::EmbeddedFile& f : packs::EmbeddedFiles()) {
    names.emplace(f.path.substr(0, f.path.find('/')));
  }
  return Joined(std::vector<std::string>(names.begin(), names.end()));
}

void TakeCatalog(FleetDefinition& fleet, std::string name, std::string content) {
  if (fleet.catalog) return;
  fleet.catalog = std::move(content);
  fleet.catalog_name = std::move(name);
}

// Reads what a role's pack name stands for into fleet.packs: a file or a directory of *.json
// in the fleet directory, else a built-in bundle. Problems name the role's entry.
void ResolvePack(const Host& dir, const std::string& name, const std::string& pointer, int line,
                 FleetDefinition& fleet) {
  if (fleet.packs.count(name) != 0) return;
  auto problem = [&](std::string message) {
    fleet.problems.push_back({kFleetFile, pointer, "",
                              (line > 0 ? "line " + std::to_string(line) + ": " : "") + message});
  };
  if (name.front() == '/') {
    problem("pack '" + name +
            "': name a built-in bundle or a path relative to the fleet "
            "directory, not an absolute path");
    return;
  }
  std::string relative = name;
  while (relative.size() > 1 && relative.back() == '/') relative.pop_back();
  const std::string path = "/" + relative;
  std::vector<packs::PackSource> sources;
  if (dir.IsDirectory(path)) {
    auto entries = dir.ListDirectory(path);
    if (!entries.ok()) {
      problem("pack directory '" + name + "': " + entries.status().message());
      return;
    }
    for (const DirEntry& e : *entries) {  // sorted by name
      if (e.name.size() <= 5 || !e.name.ends_with(".json")) continue;
      const std::string file = relative + "/" + e.name;
      const bool is_catalog = e.name == "catalog.json";
      auto content = dir.ReadFile("/" + file, is_catalog ? kMaxCatalogFile : kMaxPackFile);
      if (!content.ok()) {
        fleet.problems.push_back({file, "", "", content.status().message()});
      } else if (is_catalog) {
        TakeCatalog(fleet, file, std::move(*content));
      } else {
        sources.push_back({file, std::move(*content)});
      }
    }
    if (sources.empty()) problem("pack directory '" + name + "' holds no pack files (*.json)");
  } else if (dir.Exists(path)) {
    auto content = dir.ReadFile(path, kMaxPackFile);
    if (!content.ok()) {
      fleet.problems.push_back({relative, "", "", content.status().message()});
    } else {
      sources.push_back({relative, std::move(*content)});
    }
  } else {
    packs::Bundle bundle;
    if (!packs::AddBuiltinBundle(name, bundle)) {
      problem("pack '" + name + "' names no file or directory in the fleet directory and no " +
              "built-in bundle (built in: " + BuiltinBundles() + ")");
      return;
    }
    sources = std::move(bundle.sources);
    if (bundle.catalog) TakeCatalog(fleet, bundle.catalog_name, std::move(*bundle.catalog));
  }
  fleet.packs.emplace(name, std::move(sources));
}

// "{{vars.NAME}}" names in the check's statement and in its enforcer's `with` values.
std::set<std::string> VarsUsed(const packs::Check& check) {
  std::set<std::string> used(check.parameters.begin(), check.parameters.end());
  if (!check.enforce) return used;
  static constexpr std::string_view kOpen = "{{vars.";
  for (const auto& [key, value] : check.enforce->with) {
    for (const std::string& item : value.items) {
      for (size_t at = item.find(kOpen); at != std::string::npos; at = item.find(kOpen, at)) {
        const size_t end = item.find("}}", at);
        if (end == std::string::npos) break;  // malformed: the pack's validation says so
        used.insert(item.substr(at + kOpen.size(), end - at - kOpen.size()));
        at = end + 2;
      }
    }
  }
  return used;
}

// The packs a rule's roles bring, each file once, in role order.
std::vector<const packs::PackSource*> SourcesOf(const FleetDefinition& fleet,
                                                const NodeRule& rule) {
  std::vector<const packs::PackSource*> out;
  std::set<std::string> seen;
  for (const std::string& role_name : rule.roles) {
    auto role = fleet.roles.find(role_name);
    if (role == fleet.roles.end()) continue;
    for (const std::string& pack_name : role->second.packs) {
      auto sources = fleet.packs.find(pack_name);
      if (sources == fleet.packs.end()) continue;
      for (const packs::PackSource& s : sources->second) {
        if (seen.insert(s.file).second) out.push_back(&s);
      }
    }
  }
  return out;
}

// Role vars in role order (a later role wins), then the rule's.
Params MergedVars(const FleetDefinition& fleet, const NodeRule& rule) {
  Params vars;
  for (const std::string& role_name : rule.roles) {
    auto role = fleet.roles.find(role_name);
    if (role == fleet.roles.end()) continue;
    for (const auto& [name, value] : role->second.vars) vars[name] = value;
  }
  for (const auto& [name, value] : rule.vars) vars[name] = value;
  return vars;
}

int Caution(packs::EnforceMode mode) {
  switch (mode) {
    case packs::EnforceMode::kOff:
      return 2;
    case packs::EnforceMode::kDryRun:
      return 1;
    case packs::EnforceMode::kAuto:
      return 0;
  }
  return 2;
}

}  // namespace

Result<FleetDefinition> LoadFleetDir(const std::string& dir) {
  auto opened = Host::Open(dir);
  if (!opened.ok()) return Status(opened.status()).WithContext("fleet directory " + dir);
  const Host& host = **opened;
  FleetDefinition fleet;
  fleet.dir = dir;
  if (!host.Exists(std::string("/") + kFleetFile)) {
    return Status::NotFound("fleet directory " + dir + " has no " + kFleetFile);
  }
  auto text = host.ReadFile(std::string("/") + kFleetFile, kMaxFleetFile);
  if (!text.ok()) return Status(text.status()).WithContext(dir + "/" + kFleetFile);

  YamlReader in(fleet.problems);
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    in.Report("", e.mark.is_null() ? 0 : e.mark.line + 1, "not valid YAML: " + e.msg);
    return fleet;
  }
  if (!root.IsMap()) {
    in.Report("", root, "must be a map with 'nodes' and 'roles'");
    return fleet;
  }
  try {
    static const std::vector<std::string> kKeys = {"nodes", "roles"};
    bool has_nodes = false;
    for (auto& [key, value] : in.Entries(root, "", &kKeys)) {
      if (key == "nodes") {
        has_nodes = true;
        ReadNodes(in, value, fleet);
      } else {
        ReadRoles(in, value, fleet);
      }
    }
    if (!has_nodes) in.Report("/nodes", 0, "missing: the rules that give nodes their roles");
  } catch (const YAML::Exception& e) {
    in.Report("", e.mark.is_null() ? 0 : e.mark.line + 1, e.msg);
  }

  if (auto catalog = host.ReadFile("/catalog.json", kMaxCatalogFile); catalog.ok()) {
    TakeCatalog(fleet, "catalog.json", std::move(*catalog));
  } else if (host.Exists("/catalog.json")) {
    fleet.problems.push_back({"catalog.json", "", "", catalog.status().message()});
  }
  for (const auto& [name, role] : fleet.roles) {
    for (size_t i = 0; i < role.packs.size(); ++i) {
      ResolvePack(host, role.packs[i],
                  "/roles/" + PointerToken(name) + "/packs/" + std::to_string(i), role.line, fleet);
    }
  }
  return fleet;
}

std::vector<Problem> ValidateFleet(const FleetDefinition& fleet,
                                   const packs::LoadOptions& options) {
  std::vector<Problem> problems = fleet.problems;
  std::vector<std::string> defined;
  for (const auto& [name, role] : fleet.roles) defined.push_back(name);
  for (size_t i = 0; i < fleet.nodes.size(); ++i) {
    const NodeRule& rule = fleet.nodes[i];
    for (size_t j = 0; j < rule.roles.size(); ++j) {
      if (fleet.roles.count(rule.roles[j]) != 0) continue;
      problems.push_back(
          {kFleetFile, "/nodes/" + std::to_string(i) + "/roles/" + std::to_string(j), "",
           "line " + std::to_string(rule.line) + ": role '" + rule.roles[j] +
               "' is not defined under 'roles' (" +
               (defined.empty() ? std::string("none is") : "defined: " + Joined(defined)) + ")"});
    }
  }

  packs::LoadOptions load = options;
  load.vars = nullptr;  // checked per node rule below
  std::optional<packs::Catalog> catalog;
  if (load.catalog == nullptr && fleet.catalog) {
    auto parsed = packs::ParseCatalog(fleet.catalog_name, *fleet.catalog);
    if (parsed.ok()) {
      catalog = std::move(parsed).value();
      load.catalog = &*catalog;
    } else {
      problems.push_back({fleet.catalog_name, "", "", parsed.status().message()});
    }
  }
  // Every pack once, whether or not a node gets it: a role may be assigned later.
  std::vector<packs::PackSource> sources;
  std::set<std::string> seen;
  for (const auto& [name, role] : fleet.roles) {
    for (const std::string& pack_name : role.packs) {
      auto found = fleet.packs.find(pack_name);
      if (found == fleet.packs.end()) continue;
      for (const packs::PackSource& s : found->second) {
        if (seen.insert(s.file).second) sources.push_back(s);
      }
    }
  }
  packs::LoadResult loaded = packs::LoadPackSources(sources, load);
  problems.insert(problems.end(), loaded.problems.begin(), loaded.problems.end());
  std::map<std::string, const packs::Pack*> by_file;
  for (const packs::Pack& pack : loaded.packs) by_file.emplace(pack.file, &pack);

  for (size_t i = 0; i < fleet.nodes.size(); ++i) {
    const NodeRule& rule = fleet.nodes[i];
    const Params vars = MergedVars(fleet, rule);
    for (const packs::PackSource* source : SourcesOf(fleet, rule)) {
      auto pack = by_file.find(source->file);
      if (pack == by_file.end()) continue;  // could not be read; said above
      for (const packs::Check& check : pack->second->checks) {
        for (const std::string& var : VarsUsed(check)) {
          if (pack->second->vars.count(var) != 0 || vars.count(var) != 0) continue;
          problems.push_back({source->file, "/checks/" + PointerToken(check.id), check.id,
                              "uses variable '" + var + "', which neither pack " +
                                  pack->second->name + " nor the vars of nodes matching '" +
                                  rule.match + "' (" + kFleetFile + " /nodes/" + std::to_string(i) +
                                  ", line " + std::to_string(rule.line) +
                                  ", roles: " + Joined(rule.roles) + ") define"});
        }
      }
    }
  }
  return problems;
}

std::vector<Problem> ValidateFleetForPublish(const FleetDefinition& fleet) {
  auto fail = [](const Status& status) {
    return std::vector<Problem>{
        {"", "", "", "cannot open the tables to validate statements: " + status.message()}};
  };
  // Statements are only prepared, never run: the machine's root is never read.
  auto host = Host::Open("/");
  if (!host.ok()) return fail(host.status());
  TableRegistry registry;
  if (Status s = tables::RegisterBuiltinTables(registry); !s.ok()) return fail(s);
  auto database = Database::Open(registry, **host);
  if (!database.ok()) return fail(database.status());
  packs::LoadOptions options;
  options.database = database->get();
  options.actions = &enforcers::ActionRegistry::Builtin();
  return ValidateFleet(fleet, options);
}

const NodeRule* MatchNode(const FleetDefinition& fleet, std::string_view host_identifier,
                          std::string_view hostname) {
  const std::string identifier(host_identifier), name(hostname);
  for (const NodeRule& rule : fleet.nodes) {
    if (rule.match.empty()) continue;
    if ((!identifier.empty() &&
         ::fnmatch(rule.match.c_str(), identifier.c_str(), FNM_CASEFOLD) == 0) ||
        (!name.empty() && ::fnmatch(rule.match.c_str(), name.c_str(), FNM_CASEFOLD) == 0)) {
      return &rule;
    }
  }
  return nullptr;
}

Result<std::string> NodeConfigFor(const FleetDefinition& fleet, std::string_view host_identifier,
                                  std::string_view hostname, uint64_t version) {
  if (!fleet.problems.empty()) {
    return Status::FailedPrecondition("the fleet definition in " + fleet.dir + " has problems:\n" +
                                      ProblemsText(fleet.problems));
  }
  const NodeRule* rule = MatchNode(fleet, host_identifier, hostname);
  if (rule == nullptr) {
    return Status::NotFound("no rule of " + std::string(kFleetFile) + " matches node '" +
                            std::string(host_identifier) + "' (hostname '" + std::string(hostname) +
                            "')");
  }
  packs::NodeConfig config;
  config.version = version;
  config.roles = rule->roles;
  config.vars = MergedVars(fleet, *rule);
  bool first = true;
  for (const std::string& role_name : rule->roles) {
    auto role = fleet.roles.find(role_name);
    if (role == fleet.roles.end()) {
      return Status::FailedPrecondition("node rule '" + rule->match + "' names role '" + role_name +
                                        "', which is not defined");
    }
    const RoleDefinition& r = role->second;
    if (first || Caution(r.enforce) > Caution(config.enforce)) config.enforce = r.enforce;
    config.target_sl = first ? r.target_sl : std::max(config.target_sl, r.target_sl);
    first = false;
  }
  std::vector<packs::PackSource> sources;
  for (const packs::PackSource* s : SourcesOf(fleet, *rule)) sources.push_back(*s);
  return packs::NodeConfigJson(config, sources, fleet.catalog);
}

std::string ProblemsText(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) out += (out.empty() ? "" : "\n") + p.ToString();
  return out;
}

}  // namespace vigil::server
