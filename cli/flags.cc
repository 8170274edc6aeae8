#include "cli/flags.h"

#include <charconv>

namespace vigil::cli {

FlagSet::FlagSet(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {
  Bool("help", "Show this help and exit");
}

void FlagSet::Bool(std::string name, std::string help) {
  specs_.push_back({std::move(name), false, "", std::move(help), std::nullopt});
}

void FlagSet::Value(std::string name, std::string value_name, std::string help,
                    std::optional<std::string> default_value) {
  specs_.push_back(
      {std::move(name), true, std::move(value_name), std::move(help), std::move(default_value)});
}

const FlagSet::Spec* FlagSet::Find(std::string_view name) const {
  for (const Spec& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg[1] != '-') {
      if (arg == "-h") {
        values_["help"] = "";
        continue;
      }
      return Status::InvalidArgument("unknown option " + arg + " (options are spelled --name)");
    }
    std::string_view body(arg);
    body.remove_prefix(2);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const Spec* spec = Find(body);
    if (spec == nullptr) return Status::InvalidArgument("unknown option --" + std::string(body));
    if (!spec->takes_value) {
      if (inline_value) return Status::InvalidArgument("--" + spec->name + " takes no value");
      values_[spec->name] = "";
      continue;
    }
    if (inline_value) {
      values_[spec->name] = *inline_value;
    } else if (i + 1 < args.size()) {
      values_[spec->name] = args[++i];
    } else {
      return Status::InvalidArgument("--" + spec->name + " needs a value (" + spec->value_name +
                                     ")");
    }
  }
  return Status::Ok();
}

bool FlagSet::IsSet(std::string_view name) const { return values_.count(name) != 0; }

std::optional<std::string> FlagSet::Get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (const Spec* spec = Find(name)) return spec->default_value;
  return std::nullopt;
}

std::string FlagSet::Help() const {
  std::string out = "Usage: " + usage_ + "\n\n" + summary_ + "\n\nOptions:\n";
  std::vector<std::string> lefts;
  size_t width = 0;
  for (const Spec& s : specs_) {
    std::string left = "  --" + s.name + (s.takes_value ? " " + s.value_name : "");
    width = std::max(width, left.size());
    lefts.push_back(std::move(left));
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    out += lefts[i] + std::string(width - lefts[i].size() + 2, ' ') + specs_[i].help;
    if (specs_[i].default_value) out += " (default: " + *specs_[i].default_value + ")";
    out += '\n';
  }
  return out;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  std::string_view unit(end, text.data() + text.size() - end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  if (unit == "ms") scale = 1;
  if (unit == "m") scale = 60'000;
  if (unit == "h") scale = 3'600'000;
  if (ec != std::errc() || scale == 0 || !(number > 0) || number * scale > 1e12) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a duration (examples: 10, 10s, 500ms, 2m)");
  }
  long long ms = static_cast<long long>(number * scale);
  return std::chrono::milliseconds(ms < 1 ? 1 : ms);
}

Result<long long> ParseCount(std::string_view text, std::string_view what) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return Status::InvalidArgument(std::string(what) + " must be a non-negative integer, not '" +
                                   std::string(text) + "'");
  }
  return value;
}

}  // namespace vigil::cli
