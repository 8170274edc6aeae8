#include "engine/packs/node_config.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "engine/packs/json_reader.h"

namespace vigil::packs {
namespace {

using internal::JsonReader;

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string_view EnforceModeName(EnforceMode mode) {
  switch (mode) {
    case EnforceMode::kOff:
      return "off";
    case EnforceMode::kDryRun:
      return "dry-run";
    case EnforceMode::kAuto:
      return "auto";
  }
  return "off";
}

Result<NodeConfig> ParseNodeConfig(std::string_view file, std::string_view content) {
  const std::string file_name(file);
  std::vector<Problem> problems;
  JsonReader in([&](std::string pointer, std::string check, std::string message) {
    problems.push_back({file_name, std::move(pointer), std::move(check), std::move(message)});
  });
  NodeConfig config;
  rapidjson::Document doc;
  std::string error;
  if (!internal::ParseJson(content, doc, error)) {
    in.Problem("", error);
  } else if (!doc.IsObject()) {
    in.Problem("", "a node config is a JSON object (version, roles, vars, enforce, target_sl, "
                   "packs)");
  } else {
    in.UnknownKeys(doc, "",
                   {"type", "v", "version", "roles", "vars", "enforce", "target_sl", "packs",
                    "catalog", "signature"});
    if (auto type = in.String(doc, "", "type", false); type && *type != "config") {
      in.Problem("/type", "must be \"config\", not \"" + *type + "\"");
    }
    in.Int(doc, "", "v", 1, 1);  // the message version; only 1 exists
    if (doc.HasMember("version")) {
      const rapidjson::Value& v = doc["version"];
      if (v.IsUint64()) {
        config.version = v.GetUint64();
      } else {
        in.Problem("/version", "must be a whole number >= 0");
      }
    }
    if (auto roles = in.Strings(doc, "", "roles")) config.roles = std::move(*roles);
    config.vars = in.ParamObject(doc, "", "vars");
    if (auto mode = in.String(doc, "", "enforce", false)) {
      if (*mode == "auto") {
        config.enforce = EnforceMode::kAuto;
      } else if (*mode == "dry-run") {
        config.enforce = EnforceMode::kDryRun;
      } else if (*mode == "off") {
        config.enforce = EnforceMode::kOff;
      } else {
        in.Problem("/enforce", "must be auto, dry-run or off, not \"" + *mode + "\"");
      }
    }
    if (auto sl = in.Int(doc, "", "target_sl", 1, 4)) config.target_sl = *sl;
    if (auto s = in.String(doc, "", "signature", false)) config.signature = std::move(*s);
    if (doc.HasMember("catalog")) {
      if (doc["catalog"].IsObject()) {
        config.catalog = ToJson(doc["catalog"]);
      } else {
        in.Problem("/catalog", "must be an SR catalogue object");
      }
    }
    if (!doc.HasMember("packs")) {
      in.Problem("/packs", "missing: name the packs to run (e.g. [\"iec62443\"])");
    } else if (!doc["packs"].IsArray()) {
      in.Problem("/packs", "must be an array of packs or pack names");
    } else {
      const auto& list = doc["packs"].GetArray();
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        const std::string pointer = "/packs/" + std::to_string(i);
        if (list[i].IsString()) {
          std::string name(list[i].GetString(), list[i].GetStringLength());
          if (name.empty()) {
            in.Problem(pointer, "an empty pack name");
          } else {
            config.pack_names.push_back(std::move(name));
          }
        } else if (list[i].IsObject()) {
          config.packs.push_back({file_name + "#" + pointer, ToJson(list[i])});
        } else {
          in.Problem(pointer, "must be a pack object or a pack name");
        }
      }
    }
  }
  if (problems.empty()) return config;
  std::string message;
  for (const Problem& p : problems) message += (message.empty() ? "" : "\n") + p.ToString();
  return Status::InvalidArgument(message);
}

std::string NodeConfigJson(const NodeConfig& config, const std::vector<PackSource>& packs,
                           const std::optional<std::string>& catalog) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto text = [&w](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("type");
  w.String("config");
  w.Key("v");
  w.Int(1);
  w.Key("version");
  w.Uint64(config.version);
  w.Key("roles");
  w.StartArray();
  for (const std::string& role : config.roles) text(role);
  w.EndArray();
  w.Key("vars");
  w.StartObject();
  for (const auto& [name, param] : config.vars) {
    text(name);
    if (param.is_list) w.StartArray();
    for (const std::string& item : param.items) text(item);
    if (param.is_list) w.EndArray();
  }
  w.EndObject();
  w.Key("enforce");
  text(EnforceModeName(config.enforce));
  w.Key("target_sl");
  w.Int(config.target_sl);
  w.Key("packs");
  w.StartArray();
  for (const PackSource& pack : packs) {
    w.RawValue(pack.content.data(), pack.content.size(), rapidjson::kObjectType);
  }
  w.EndArray();
  if (catalog) {
    w.Key("catalog");
    w.RawValue(catalog->data(), catalog->size(), rapidjson::kObjectType);
  }
  if (!config.signature.empty()) {
    w.Key("signature");
    text(config.signature);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace vigil::packs
