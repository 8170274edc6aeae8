// Reading pack-like JSON with every problem located by its JSON pointer. Internal to
// engine/packs: rapidjson stays inside the .cc files that include this header.
#pragma once

#include <rapidjson/document.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/packs/pack.h"

namespace vigil::packs::internal {

// "/checks/a~1b/query": RFC 6901 escaping of one reference token.
std::string PointerToken(std::string_view token);

// Collects problems for one file; `check` is the id of the check or query being read.
class JsonReader {
 public:
  using Report = std::function<void(std::string pointer, std::string check, std::string message)>;
  explicit JsonReader(Report report) : report_(std::move(report)) {}

  void Problem(const std::string& pointer, const std::string& message) {
    report_(pointer, check_, message);
  }
  void set_check(std::string check) { check_ = std::move(check); }

  // Reports every member of `object` not in `known`.
  void UnknownKeys(const rapidjson::Value& object, const std::string& pointer,
                   std::initializer_list<std::string_view> known);

  std::optional<std::string> String(const rapidjson::Value& object, const std::string& pointer,
                                    const char* key, bool required);
  std::optional<int> Int(const rapidjson::Value& object, const std::string& pointer,
                         const char* key, int min, int max);
  std::optional<bool> Bool(const rapidjson::Value& object, const std::string& pointer,
                           const char* key);
  // A string or an array of strings.
  std::optional<std::vector<std::string>> Strings(const rapidjson::Value& object,
                                                  const std::string& pointer, const char* key);
  // A string, number, boolean, or array of those, as a Param.
  std::optional<Param> ParamValue(const rapidjson::Value& value, const std::string& pointer);
  // An object of Params.
  Params ParamObject(const rapidjson::Value& object, const std::string& pointer, const char* key);
  // An object whose values are string arrays ("frameworks").
  std::map<std::string, std::vector<std::string>> StringLists(const rapidjson::Value& object,
                                                              const std::string& pointer,
                                                              const char* key);

 private:
  Report report_;
  std::string check_;
};

// "a string", "an array", "null", ...: what a value is, for messages ("must be X, not Y").
std::string JsonTypeName(const rapidjson::Value& v);

// Parses JSON text, reporting a syntax error with its line and column.
bool ParseJson(std::string_view content, rapidjson::Document& doc, std::string& error);

}  // namespace vigil::packs::internal
