// Every enforcer action, registered from one list (enforcers/builtin.cc), and the catalogue of
// their specs that the pack validator reads.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "enforcers/action.h"
#include "engine/packs/action_spec.h"

namespace vigil::enforcers {

class ActionRegistry final : public packs::ActionCatalog {
 public:
  // The built-in actions.
  static const ActionRegistry& Builtin();

  // Adds an action (extensions and tests); the name must not be taken.
  void Add(std::unique_ptr<Action> action) { actions_.push_back(std::move(action)); }

  const Action* Find(std::string_view name) const;
  const packs::ActionSpec* FindAction(std::string_view name) const override;
  const std::vector<std::unique_ptr<Action>>& actions() const { return actions_; }

 private:
  std::vector<std::unique_ptr<Action>> actions_;
};

}  // namespace vigil::enforcers
