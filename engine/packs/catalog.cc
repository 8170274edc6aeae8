#include "engine/packs/catalog.h"

#include <set>

#include "engine/packs/json_reader.h"

namespace vigil::packs {

std::string_view CoverageName(Coverage coverage) {
  switch (coverage) {
    case Coverage::kMachine: return "machine";
    case Coverage::kDetectOnly: return "detect_only";
    case Coverage::kOrganisational: return "organisational";
    case Coverage::kNotCovered: return "not_covered";
  }
  return "not_covered";
}

const Requirement* Catalog::Find(std::string_view id) const {
  for (const Requirement& sr : srs) {
    if (sr.id == id) return &sr;
  }
  return nullptr;
}

const FoundationalRequirement* Catalog::FindFr(std::string_view id) const {
  for (const FoundationalRequirement& fr : frs) {
    if (fr.id == id) return &fr;
  }
  return nullptr;
}

Result<Catalog> ParseCatalog(std::string_view file, std::string_view content) {
  std::vector<std::string> problems;
  internal::JsonReader in([&](std::string pointer, std::string, std::string message) {
    problems.push_back(std::string(file) + ": " + pointer + ": " + message);
  });
  rapidjson::Document doc;
  std::string error;
  if (!internal::ParseJson(content, doc, error)) {
    return Status::InvalidArgument(std::string(file) + ": " + error);
  }
  if (!doc.IsObject()) return Status::InvalidArgument(std::string(file) + ": not a JSON object");
  Catalog catalog;
  in.UnknownKeys(doc, "", {"name", "version", "description", "frameworks", "frs", "srs"});
  catalog.name = in.String(doc, "", "name", true).value_or("");
  catalog.version = in.String(doc, "", "version", false).value_or("");

  if (auto fw = doc.FindMember("frameworks"); fw != doc.MemberEnd() && fw->value.IsObject()) {
    for (auto m = fw->value.MemberBegin(); m != fw->value.MemberEnd(); ++m) {
      std::string key = m->name.GetString();
      std::string where = "/frameworks/" + internal::PointerToken(key);
      if (!m->value.IsObject()) {
        in.Problem(where, "must be an object with 'name' and 'source'");
        continue;
      }
      in.UnknownKeys(m->value, where, {"name", "source"});
      catalog.framework_names[key] = in.String(m->value, where, "name", true).value_or(key);
      catalog.framework_sources[key] = in.String(m->value, where, "source", true).value_or("");
    }
  }

  auto frs = doc.FindMember("frs");
  if (frs == doc.MemberEnd() || !frs->value.IsArray()) {
    in.Problem("/frs", "must be an array of foundational requirements");
  } else {
    for (rapidjson::SizeType i = 0; i < frs->value.Size(); ++i) {
      const rapidjson::Value& v = frs->value[i];
      std::string where = "/frs/" + std::to_string(i);
      if (!v.IsObject()) {
        in.Problem(where, "must be an object");
        continue;
      }
      in.UnknownKeys(v, where, {"id", "abbreviation", "title"});
      FoundationalRequirement fr;
      fr.id = in.String(v, where, "id", true).value_or("");
      fr.abbreviation = in.String(v, where, "abbreviation", false).value_or("");
      fr.title = in.String(v, where, "title", true).value_or("");
      catalog.frs.push_back(std::move(fr));
    }
  }

  auto srs = doc.FindMember("srs");
  std::set<std::string> seen;
  if (srs == doc.MemberEnd() || !srs->value.IsArray()) {
    in.Problem("/srs", "must be an array of system requirements");
  } else {
    for (rapidjson::SizeType i = 0; i < srs->value.Size(); ++i) {
      const rapidjson::Value& v = srs->value[i];
      std::string where = "/srs/" + std::to_string(i);
      if (!v.IsObject()) {
        in.Problem(where, "must be an object");
        continue;
      }
      in.UnknownKeys(v, where, {"id", "fr", "title", "sl", "enhancements", "frameworks",
                                "coverage", "checks", "note"});
      Requirement sr;
      sr.id = in.String(v, where, "id", true).value_or("");
      sr.fr = in.String(v, where, "fr", true).value_or("");
      sr.title = in.String(v, where, "title", true).value_or("");
      sr.sl = in.Int(v, where, "sl", 1, 4).value_or(1);
      sr.frameworks = in.StringLists(v, where, "frameworks");
      sr.checks = in.Strings(v, where, "checks").value_or(std::vector<std::string>{});
      sr.note = in.String(v, where, "note", false).value_or("");
      std::string coverage = in.String(v, where, "coverage", true).value_or("not_covered");
      if (coverage == "machine") {
        sr.coverage = Coverage::kMachine;
      } else if (coverage == "detect_only") {
        sr.coverage = Coverage::kDetectOnly;
      } else if (coverage == "organisational") {
        sr.coverage = Coverage::kOrganisational;
      } else if (coverage == "not_covered") {
        sr.coverage = Coverage::kNotCovered;
      } else {
        in.Problem(where + "/coverage",
                   "must be machine, detect_only, organisational or not_covered");
      }
      bool checked = sr.coverage == Coverage::kMachine || sr.coverage == Coverage::kDetectOnly;
      if (!checked && sr.note.empty()) {
        in.Problem(where + "/note", sr.id + " is " + coverage +
                                        ": the note must say why, or what evidence to attach");
      }
      if (sr.coverage == Coverage::kDetectOnly && sr.note.empty()) {
        in.Problem(where + "/note", sr.id + " is detect_only: the note must say why");
      }
      if (auto e = v.FindMember("enhancements"); e != v.MemberEnd()) {
        if (!e->value.IsArray()) {
          in.Problem(where + "/enhancements", "must be an array");
        } else {
          for (rapidjson::SizeType k = 0; k < e->value.Size(); ++k) {
            const rapidjson::Value& ev = e->value[k];
            std::string at = where + "/enhancements/" + std::to_string(k);
            if (!ev.IsObject()) {
              in.Problem(at, "must be an object");
              continue;
            }
            in.UnknownKeys(ev, at, {"id", "title", "sl"});
            Enhancement re;
            re.id = in.String(ev, at, "id", true).value_or("");
            re.title = in.String(ev, at, "title", true).value_or("");
            re.sl = in.Int(ev, at, "sl", 1, 4).value_or(1);
            sr.enhancements.push_back(std::move(re));
          }
        }
      }
      if (!sr.id.empty() && !seen.insert(sr.id).second) {
        in.Problem(where + "/id", sr.id + " appears twice");
      }
      if (!sr.fr.empty() && catalog.FindFr(sr.fr) == nullptr) {
        in.Problem(where + "/fr", "'" + sr.fr + "' is not one of the catalogue's frs");
      }
      for (const auto& [framework, ids] : sr.frameworks) {
        if (!catalog.framework_names.empty() && catalog.framework_names.count(framework) == 0) {
          in.Problem(where + "/frameworks/" + internal::PointerToken(framework),
                     "framework '" + framework + "' is not declared under /frameworks");
        }
      }
      catalog.srs.push_back(std::move(sr));
    }
  }
  if (!problems.empty()) {
    std::string message = problems.front();
    for (size_t i = 1; i < problems.size(); ++i) message += "\n" + problems[i];
    return Status::InvalidArgument(message);
  }
  return catalog;
}

}  // namespace vigil::packs
