#include "engine/packs/loader.h"

#include <algorithm>
#include <map>
#include <set>

#include <unistd.h>

#include "engine/digest.h"
#include "engine/host.h"
#include "engine/packs/json_reader.h"
#include "engine/sql/database.h"

namespace vigil::packs {
namespace {

using internal::JsonReader;
using internal::PointerToken;

constexpr int kMaxInterval = 7 * 24 * 3600;

void ReadQuery(JsonReader& in, const rapidjson::Value& v, const std::string& pointer,
               ScheduledQuery& q) {
  // osquery's own keys, so its packs load as they are.
  in.UnknownKeys(v, pointer, {"query", "interval", "snapshot", "removed", "platform", "version",
                              "shard", "description", "value", "denylist", "blacklist"});
  q.query = in.String(v, pointer, "query", true).value_or("");
  q.interval = in.Int(v, pointer, "interval", 1, kMaxInterval).value_or(3600);
  q.snapshot = in.Bool(v, pointer, "snapshot").value_or(false);
  q.removed = in.Bool(v, pointer, "removed").value_or(true);
  q.platform = in.String(v, pointer, "platform", false).value_or("");
  q.version = in.String(v, pointer, "version", false).value_or("");
  q.shard = in.Int(v, pointer, "shard", 1, 100);
  q.description = in.String(v, pointer, "description", false).value_or("");
}

void ReadCheck(JsonReader& in, const rapidjson::Value& v, const std::string& pointer, Check& c) {
  in.UnknownKeys(v, pointer, {"sr", "sl", "frameworks", "description", "interval", "query",
                              "enforce", "platform", "detect_only"});
  c.sr = in.Strings(v, pointer, "sr").value_or(std::vector<std::string>{});
  if (c.sr.empty()) in.Problem(pointer + "/sr", "a check names at least one SR (\"SR 1.1\")");
  c.sl = in.Int(v, pointer, "sl", 1, 4).value_or(1);
  c.frameworks = in.StringLists(v, pointer, "frameworks");
  c.description = in.String(v, pointer, "description", false).value_or("");
  c.interval = in.Int(v, pointer, "interval", 1, kMaxInterval).value_or(15);
  c.platform = in.String(v, pointer, "platform", false).value_or("");
  c.query = in.String(v, pointer, "query", true).value_or("");
  c.detect_only = in.String(v, pointer, "detect_only", false).value_or("");
  auto enforce = v.FindMember("enforce");
  if (enforce != v.MemberEnd()) {
    std::string where = pointer + "/enforce";
    if (!enforce->value.IsObject()) {
      in.Problem(where, "must be an object with 'action' and 'with'");
    } else {
      in.UnknownKeys(enforce->value, where, {"action", "with"});
      Enforcement e;
      e.action = in.String(enforce->value, where, "action", true).value_or("");
      e.with = in.ParamObject(enforce->value, where, "with");
      c.enforce = std::move(e);
    }
  }
  if (c.enforce && !c.detect_only.empty()) {
    in.Problem(pointer, "a check has either 'enforce' or 'detect_only', not both");
  }
  if (c.query.empty()) return;
  auto prepared = BindVariables(c.query, c.parameters);
  if (!prepared.ok()) {
    in.Problem(pointer + "/query", prepared.status().message());
  } else {
    c.prepared_query = std::move(prepared).value();
  }
}

// The placeholders "{{row.x}}" / "{{vars.x}}" in a `with` value: kind and name.
struct Placeholder {
  std::string kind;
  std::string name;
};

Result<std::vector<Placeholder>> Placeholders(std::string_view text) {
  std::vector<Placeholder> out;
  size_t at = 0;
  while ((at = text.find("{{", at)) != std::string_view::npos) {
    size_t end = text.find("}}", at);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("unterminated placeholder in '" + std::string(text) + "'");
    }
    std::string_view inner = text.substr(at + 2, end - at - 2);
    size_t dot = inner.find('.');
    std::string kind(inner.substr(0, dot));
    if (dot == std::string_view::npos || (kind != "row" && kind != "vars") || dot + 1 == inner.size()) {
      return Status::InvalidArgument("placeholder '{{" + std::string(inner) +
                                     "}}' must be {{row.COLUMN}} or {{vars.NAME}}");
    }
    out.push_back({kind, std::string(inner.substr(dot + 1))});
    at = end + 2;
  }
  return out;
}

}  // namespace

std::string Problem::ToString() const {
  std::string out = file;
  if (!pointer.empty()) out += ": " + pointer;
  out += ": ";
  if (!check.empty()) out += "check " + check + ": ";
  return out + message;
}

Result<std::string> BindVariables(std::string_view sql, std::vector<std::string>& names) {
  names.clear();
  std::string out;
  std::map<std::string, int> numbers;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or quoted identifier, copied whole
      size_t end = i + 1;
      while (end < sql.size()) {
        if (sql[end] == c) {
          if (end + 1 < sql.size() && sql[end + 1] == c) {
            end += 2;
            continue;
          }
          break;
        }
        ++end;
      }
      std::string_view quoted = sql.substr(i, end + 1 - i);
      if (quoted.find("{{") != std::string_view::npos) {
        return Status::InvalidArgument(
            "a {{...}} placeholder inside a quoted string is not replaced; write the "
            "placeholder outside quotes, where it is bound as a value");
      }
      out.append(quoted);
      i = end + 1;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == '{' && i + 1 < sql.size() && sql[i + 1] == '{') {
      size_t end = sql.find("}}", i);
      if (end == std::string_view::npos) {
        return Status::InvalidArgument("unterminated {{ placeholder in the query");
      }
      std::string inner(sql.substr(i + 2, end - i - 2));
      if (inner.rfind("vars.", 0) != 0 || inner.size() == 5) {
        return Status::InvalidArgument("placeholder {{" + inner +
                                       "}} in a query must be {{vars.NAME}}");
      }
      std::string name = inner.substr(5);
      auto [it, added] = numbers.emplace(name, static_cast<int>(names.size()) + 1);
      if (added) names.push_back(name);
      out += "?" + std::to_string(it->second);
      i = end + 2;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

std::optional<Pack> ParsePack(std::string_view file, std::string_view content,
                              std::vector<Problem>& problems) {
  const std::string file_name(file);
  JsonReader in([&](std::string pointer, std::string check, std::string message) {
    problems.push_back({file_name, std::move(pointer), std::move(check), std::move(message)});
  });
  rapidjson::Document doc;
  std::string error;
  if (!internal::ParseJson(content, doc, error)) {
    in.Problem("", error);
    return std::nullopt;
  }
  if (!doc.IsObject()) {
    in.Problem("", "a pack is a JSON object");
    return std::nullopt;
  }
  Pack pack;
  pack.file = file_name;
  pack.sha256 = Sha256Hex(content);
  in.UnknownKeys(doc, "", {"name", "description", "platform", "version", "discovery", "vars",
                           "queries", "checks", "shard"});
  // An osquery pack has no name inside; it is named after its file.
  std::string base = BaseName(file);
  if (base.size() > 5 && base.substr(base.size() - 5) == ".json") base.resize(base.size() - 5);
  pack.name = in.String(doc, "", "name", false).value_or(base);
  pack.description = in.String(doc, "", "description", false).value_or("");
  pack.platform = in.String(doc, "", "platform", false).value_or("");
  pack.version = in.String(doc, "", "version", false).value_or("");
  pack.discovery = in.Strings(doc, "", "discovery").value_or(std::vector<std::string>{});
  pack.vars = in.ParamObject(doc, "", "vars");

  for (const char* section : {"queries", "checks"}) {
    auto it = doc.FindMember(section);
    if (it == doc.MemberEnd()) continue;
    std::string pointer = std::string("/") + section;
    if (!it->value.IsObject()) {
      in.Problem(pointer, "must be an object keyed by id");
      continue;
    }
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      std::string id(m->name.GetString(), m->name.GetStringLength());
      std::string where = pointer + "/" + PointerToken(id);
      in.set_check(id);
      if (!m->value.IsObject()) {
        in.Problem(where, "must be an object");
        continue;
      }
      if (section[0] == 'q') {
        ScheduledQuery q;
        q.name = id;
        ReadQuery(in, m->value, where, q);
        pack.queries.push_back(std::move(q));
      } else {
        Check c;
        c.id = id;
        c.pack = pack.name;
        ReadCheck(in, m->value, where, c);
        pack.checks.push_back(std::move(c));
      }
    }
    in.set_check("");
  }
  if (pack.queries.empty() && pack.checks.empty()) {
    in.Problem("", "the pack has no queries and no checks");
  }
  return pack;
}

void ValidatePack(const Pack& pack, const LoadOptions& options, std::vector<Problem>& problems) {
  auto problem = [&](std::string pointer, const std::string& check, std::string message) {
    problems.push_back({pack.file, std::move(pointer), check, std::move(message)});
  };
  if (options.database != nullptr) {
    for (const ScheduledQuery& q : pack.queries) {
      auto columns = options.database->Check(q.query);
      if (!columns.ok()) {
        problem("/queries/" + PointerToken(q.name) + "/query", q.name, columns.status().message());
      }
    }
  }
  for (const Check& c : pack.checks) {
    const std::string where = "/checks/" + PointerToken(c.id);
    std::vector<std::string> columns;
    bool columns_known = false;
    if (options.database != nullptr && !c.prepared_query.empty()) {
      auto prepared = options.database->Check(c.prepared_query);
      if (!prepared.ok()) {
        problem(where + "/query", c.id, prepared.status().message());
      } else {
        columns = std::move(prepared).value();
        columns_known = true;
      }
    }
    if (options.catalog != nullptr) {
      for (size_t i = 0; i < c.sr.size(); ++i) {
        if (options.catalog->Find(c.sr[i]) == nullptr) {
          problem(where + "/sr/" + std::to_string(i), c.id,
                  "'" + c.sr[i] + "' is not an SR of " + options.catalog->name);
        }
      }
    }
    std::set<std::string> vars_used(c.parameters.begin(), c.parameters.end());
    if (c.enforce && options.actions != nullptr) {
      const ActionSpec* spec = options.actions->FindAction(c.enforce->action);
      if (spec == nullptr) {
        problem(where + "/enforce/action", c.id,
                "unknown enforcer '" + c.enforce->action + "'");
      } else {
        for (const ParamSpec& p : spec->params) {
          if (p.required && c.enforce->with.count(p.name) == 0) {
            problem(where + "/enforce/with", c.id,
                    "enforcer " + spec->name + " needs '" + p.name + "' (" + p.description + ")");
          }
        }
        for (const auto& [key, value] : c.enforce->with) {
          std::string at = where + "/enforce/with/" + PointerToken(key);
          const ParamSpec* p = spec->Find(key);
          if (p == nullptr) {
            std::string known;
            for (const ParamSpec& q : spec->params) known += (known.empty() ? "" : ", ") + q.name;
            problem(at, c.id, "enforcer " + spec->name + " has no parameter '" + key +
                                  "' (it takes: " + known + ")");
          } else if (value.is_list && !p->list) {
            problem(at, c.id, "enforcer " + spec->name + " takes one value for '" + key +
                                  "', not a list");
          }
        }
      }
    }
    if (c.enforce) {
      for (const auto& [key, value] : c.enforce->with) {
        for (const std::string& item : value.items) {
          auto placeholders = Placeholders(item);
          std::string at = where + "/enforce/with/" + PointerToken(key);
          if (!placeholders.ok()) {
            problem(at, c.id, placeholders.status().message());
            continue;
          }
          for (const Placeholder& ph : *placeholders) {
            if (ph.kind == "vars") {
              vars_used.insert(ph.name);
            } else if (columns_known &&
                       std::find(columns.begin(), columns.end(), ph.name) == columns.end()) {
              problem(at, c.id, "{{row." + ph.name + "}} names no column of the check's rows");
            }
          }
        }
      }
    }
    if (options.vars != nullptr) {
      for (const std::string& name : vars_used) {
        if (pack.vars.count(name) == 0 && options.vars->count(name) == 0) {
          problem(where, c.id, "uses variable '" + name + "', which neither the pack nor the "
                               "node's variables define");
        }
      }
    }
  }
}

LoadResult LoadPacks(const std::vector<std::string>& paths, const LoadOptions& options) {
  LoadResult result;
  auto machine = Host::Open("/");
  if (!machine.ok()) {
    result.problems.push_back({"", "", "", machine.status().message()});
    return result;
  }
  const Host& host = **machine;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::string absolute = path;
    if (absolute.empty() || absolute[0] != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof(cwd)) != nullptr) absolute = JoinPath(cwd, path);
    }
    if (!host.IsDirectory(absolute)) {
      files.push_back(absolute);
      continue;
    }
    auto entries = host.ListDirectory(absolute);
    if (!entries.ok()) {
      result.problems.push_back({path, "", "", entries.status().message()});
      continue;
    }
    for (const DirEntry& e : *entries) {
      bool json = e.name.size() > 5 && e.name.substr(e.name.size() - 5) == ".json";
      if (json && e.name != "catalog.json") files.push_back(JoinPath(absolute, e.name));
    }
  }
  std::vector<PackSource> sources;
  for (const std::string& file : files) {
    auto content = host.ReadFile(file, 4u << 20);
    if (!content.ok()) {
      result.problems.push_back({file, "", "", content.status().message()});
      continue;
    }
    sources.push_back({file, std::move(*content)});
  }
  LoadResult loaded = LoadPackSources(sources, options);
  result.packs = std::move(loaded.packs);
  result.problems.insert(result.problems.end(), loaded.problems.begin(), loaded.problems.end());
  if (files.empty()) result.problems.push_back({"", "", "", "no pack files found"});
  return result;
}

Result<Params> ParseVars(std::string_view file, std::string_view content) {
  std::vector<Problem> problems;
  const std::string file_name(file);
  JsonReader in([&](std::string pointer, std::string check, std::string message) {
    problems.push_back({file_name, std::move(pointer), std::move(check), std::move(message)});
  });
  rapidjson::Document doc;
  std::string error;
  Params vars;
  if (!internal::ParseJson(content, doc, error)) {
    in.Problem("", error);
  } else if (!doc.IsObject()) {
    in.Problem("", "variables are a JSON object of name: value");
  } else {
    for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
      std::string name(m->name.GetString(), m->name.GetStringLength());
      if (auto param = in.ParamValue(m->value, "/" + PointerToken(name))) {
        vars.emplace(std::move(name), std::move(*param));
      }
    }
  }
  if (problems.empty()) return vars;
  std::string message;
  for (const Problem& p : problems) message += (message.empty() ? "" : "\n") + p.ToString();
  return Status::InvalidArgument(message);
}

LoadResult LoadPackSources(const std::vector<PackSource>& sources, const LoadOptions& options) {
  LoadResult result;
  std::map<std::string, std::string> pack_names, check_ids;  // -> file
  for (const PackSource& source : sources) {
    const std::string& file = source.file;
    std::optional<Pack> pack = ParsePack(file, source.content, result.problems);
    if (!pack) continue;
    if (auto [it, added] = pack_names.emplace(pack->name, file); !added) {
      result.problems.push_back(
          {file, "/name", "", "pack " + pack->name + " is also defined in " + it->second});
      continue;
    }
    for (const Check& c : pack->checks) {
      if (auto [it, added] = check_ids.emplace(c.id, file); !added) {
        result.problems.push_back({file, "/checks/" + PointerToken(c.id), c.id,
                                   "check id is also used in " + it->second});
      }
    }
    ValidatePack(*pack, options, result.problems);
    result.packs.push_back(std::move(*pack));
  }
  return result;
}

}  // namespace vigil::packs
