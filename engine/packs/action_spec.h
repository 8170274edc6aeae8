// What the pack validator knows of enforcer actions: their names and parameters. The engine
// knows no action by name; enforcers/ provides the catalogue (enforcers/builtin.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil::packs {

struct ParamSpec {
  std::string name;
  bool required = false;
  bool list = false;  // takes a list of strings (a single string is accepted as a list of one)
  std::string description;
};

struct ActionSpec {
  std::string name;  // "sshd.set"
  std::string description;
  std::vector<ParamSpec> params;

  const ParamSpec* Find(std::string_view param) const {
    for (const ParamSpec& p : params) {
      if (p.name == param) return &p;
    }
    return nullptr;
  }
};

class ActionCatalog {
 public:
  virtual ~ActionCatalog() = default;
  virtual const ActionSpec* FindAction(std::string_view name) const = 0;
};

}  // namespace vigil::packs
