// A small command-line parser: each command declares its flags (so --help tells the truth),
// then parses `--name value`, `--name=value`, boolean `--name`, and positional arguments.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil::cli {

class FlagSet {
 public:
  // `usage` is the synopsis ("vigil sql [OPTIONS] STATEMENT"); `summary` one paragraph.
  FlagSet(std::string usage, std::string summary);

  void Bool(std::string name, std::string help);
  void Value(std::string name, std::string value_name, std::string help,
             std::optional<std::string> default_value = std::nullopt);

  // Parses args (without the program and command names). "--" ends the options.
  // --help is always known; check help_requested() after a successful parse.
  Status Parse(const std::vector<std::string>& args);

  bool help_requested() const { return IsSet("help"); }
  bool IsSet(std::string_view name) const;
  // The value given, else the default, else nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  std::string Help() const;

 private:
  struct Spec {
    std::string name;
    bool takes_value = false;
    std::string value_name;
    std::string help;
    std::optional<std::string> default_value;
  };
  const Spec* Find(std::string_view name) const;

  std::string usage_;
  std::string summary_;
  std::vector<Spec> specs_;
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> positionals_;
};

// "10" (seconds), "10s", "500ms", "2m", "1h" -> milliseconds. Must be > 0.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// A non-negative integer.
Result<long long> ParseCount(std::string_view text, std::string_view what);

}  // namespace vigil::cli
