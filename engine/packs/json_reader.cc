#include "engine/packs/json_reader.h"

#include <rapidjson/error/en.h>

#include <algorithm>

namespace vigil::packs::internal {
namespace {

std::optional<std::string> Scalar(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsBool()) return std::string(v.GetBool() ? "true" : "false");
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsDouble()) {
    std::string text = std::to_string(v.GetDouble());
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  }
  return std::nullopt;
}

}  // namespace

std::string PointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

void JsonReader::UnknownKeys(const rapidjson::Value& object, const std::string& pointer,
                             std::initializer_list<std::string_view> known) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string expected;
    for (std::string_view k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
    Problem(pointer + "/" + PointerToken(key),
            "unknown key '" + std::string(key) + "' (expected one of: " + expected + ")");
  }
}

std::optional<std::string> JsonReader::String(const rapidjson::Value& object,
                                              const std::string& pointer, const char* key,
                                              bool required) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) {
    if (required) Problem(pointer, std::string("missing required key '") + key + "'");
    return std::nullopt;
  }
  if (!it->value.IsString()) {
    Problem(pointer + "/" + key, "must be a string, not " + JsonTypeName(it->value));
    return std::nullopt;
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int> JsonReader::Int(const rapidjson::Value& object, const std::string& pointer,
                                   const char* key, int min, int max) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return std::nullopt;
  const rapidjson::Value& v = it->value;
  // osquery packs sometimes quote numbers ("interval": "3600"); accept that.
  std::optional<int64_t> n;
  if (v.IsInt64()) n = v.GetInt64();
  if (v.IsString()) {
    try {
      size_t used = 0;
      std::string text(v.GetString(), v.GetStringLength());
      int64_t parsed = std::stoll(text, &used);
      if (used == text.size()) n = parsed;
    } catch (...) {
    }
  }
  if (!n || *n < min || *n > max) {
    Problem(pointer + "/" + key, "must be an integer from " + std::to_string(min) + " to " +
                                     std::to_string(max));
    return std::nullopt;
  }
  return static_cast<int>(*n);
}

std::optional<bool> JsonReader::Bool(const rapidjson::Value& object, const std::string& pointer,
                                     const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return std::nullopt;
  if (it->value.IsBool()) return it->value.GetBool();
  if (it->value.IsString()) {  // osquery packs: "snapshot": "true"
    std::string_view text(it->value.GetString(), it->value.GetStringLength());
    if (text == "true") return true;
    if (text == "false") return false;
  }
  Problem(pointer + "/" + key, "must be true or false, not " + JsonTypeName(it->value));
  return std::nullopt;
}

std::optional<std::vector<std::string>> JsonReader::Strings(const rapidjson::Value& object,
                                                            const std::string& pointer,
                                                            const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return std::nullopt;
  std::string where = pointer + "/" + key;
  if (it->value.IsString()) return std::vector<std::string>{it->value.GetString()};
  if (!it->value.IsArray()) {
    Problem(where, "must be a string or an array of strings, not " + JsonTypeName(it->value));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const rapidjson::Value& item = it->value[i];
    if (!item.IsString()) {
      Problem(where + "/" + std::to_string(i), "must be a string, not " + JsonTypeName(item));
      continue;
    }
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

std::optional<Param> JsonReader::ParamValue(const rapidjson::Value& value,
                                            const std::string& pointer) {
  if (auto scalar = Scalar(value)) return Param::One(*scalar);
  if (!value.IsArray()) {
    Problem(pointer, "must be a string, number, boolean or an array of them, not " +
                         JsonTypeName(value));
    return std::nullopt;
  }
  Param param;
  param.is_list = true;
  for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
    auto item = Scalar(value[i]);
    if (!item) {
      Problem(pointer + "/" + std::to_string(i), "must be a string, number or boolean");
      continue;
    }
    param.items.push_back(std::move(*item));
  }
  return param;
}

Params JsonReader::ParamObject(const rapidjson::Value& object, const std::string& pointer,
                               const char* key) {
  Params out;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return out;
  std::string where = pointer + "/" + key;
  if (!it->value.IsObject()) {
    Problem(where, "must be an object, not " + JsonTypeName(it->value));
    return out;
  }
  for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    if (auto param = ParamValue(m->value, where + "/" + PointerToken(name))) {
      out.emplace(std::move(name), std::move(*param));
    }
  }
  return out;
}

std::map<std::string, std::vector<std::string>> JsonReader::StringLists(
    const rapidjson::Value& object, const std::string& pointer, const char* key) {
  std::map<std::string, std::vector<std::string>> out;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return out;
  std::string where = pointer + "/" + key;
  if (!it->value.IsObject()) {
    Problem(where, "must be an object of string arrays, not " + JsonTypeName(it->value));
    return out;
  }
  for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    if (auto list = Strings(it->value, where, name.c_str())) out[name] = std::move(*list);
  }
  return out;
}

std::string JsonTypeName(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array";
  return "an object";
}

bool ParseJson(std::string_view content, rapidjson::Document& doc, std::string& error) {
  doc.Parse(content.data(), content.size());
  if (!doc.HasParseError()) return true;
  size_t offset = doc.GetErrorOffset();
  int line = 1, column = 1;
  for (size_t i = 0; i < offset && i < content.size(); ++i) {
    if (content[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  error = std::string("invalid JSON at line ") + std::to_string(line) + ", column " +
          std::to_string(column) + ": " + rapidjson::GetParseError_En(doc.GetParseError());
  return false;
}

}  // namespace vigil::packs::internal
