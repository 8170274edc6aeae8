#include "engine/packs/evaluate.h"

#include <charconv>
#include <ctime>
#include <sstream>

#include "engine/sql/database.h"

namespace vigil::packs {
namespace {

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;  // variables hold no control bytes
      out += c;
    }
    out += '"';
  }
  return out + "]";
}

bool PlatformFits(const std::string& wanted, const std::string& platform) {
  if (wanted.empty() || wanted == "all" || wanted == "any" || wanted == "posix") return true;
  // osquery platforms are comma-separated ("linux,darwin").
  std::istringstream list(wanted);
  for (std::string p; std::getline(list, p, ',');) {
    p.erase(0, p.find_first_not_of(' '));
    p.erase(p.find_last_not_of(' ') + 1);
    if (p == platform) return true;
  }
  return false;
}

}  // namespace

std::string_view VerdictStatusName(VerdictStatus status) {
  switch (status) {
    case VerdictStatus::kPass: return "pass";
    case VerdictStatus::kFail: return "fail";
    case VerdictStatus::kError: return "error";
    case VerdictStatus::kNotApplicable: return "not_applicable";
    case VerdictStatus::kFixed: return "fixed";
  }
  return "error";
}

std::string NowRfc3339() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

Value BindValue(const Param& param) {
  if (param.is_list) return Value(JsonArray(param.items));
  const std::string& text = param.text();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return Value(n);
  return Value(text);
}

Verdict EvaluateCheck(Database& database, const Pack& pack, const Check& check,
                      const EvaluateOptions& options) {
  Verdict v;
  v.check = check.id;
  v.pack = pack.name;
  v.sr = check.sr;
  v.sl = check.sl;
  v.time = NowRfc3339();
  v.enforcer = check.enforce ? check.enforce->action : "";
  if (check.sl > options.target_sl) {
    v.status = VerdictStatus::kNotApplicable;
    v.error = "applies from SL " + std::to_string(check.sl) + "; the node's target is SL " +
              std::to_string(options.target_sl);
    return v;
  }
  const std::string& platform = check.platform.empty() ? pack.platform : check.platform;
  if (!PlatformFits(platform, options.platform)) {
    v.status = VerdictStatus::kNotApplicable;
    v.error = "for platform " + platform + ", not " + options.platform;
    return v;
  }
  QueryOptions query;
  query.timeout = options.timeout;
  query.max_rows = options.max_rows;
  for (const std::string& name : check.parameters) {
    auto node = options.vars.find(name);
    auto fallback = pack.vars.find(name);
    if (node != options.vars.end()) {
      query.parameters.push_back(BindValue(node->second));
    } else if (fallback != pack.vars.end()) {
      query.parameters.push_back(BindValue(fallback->second));
    } else {
      v.status = VerdictStatus::kError;
      v.error = "variable '" + name + "' is not defined for this node";
      return v;
    }
  }
  auto result = database.Query(check.prepared_query.empty() ? check.query : check.prepared_query,
                               query);
  if (!result.ok()) {
    v.status = VerdictStatus::kError;
    v.error = result.status().message();
    return v;
  }
  v.duration_ms = result->duration_ms;
  v.columns = std::move(result->columns);
  v.rows = std::move(result->rows);
  v.rows_total = result->rows_total;
  v.status = v.rows_total == 0 ? VerdictStatus::kPass : VerdictStatus::kFail;
  return v;
}

std::vector<Verdict> EvaluateBatch(Database& database, const std::vector<CheckRef>& checks,
                                   const EvaluateOptions& options,
                                   const std::function<void(const CheckRef&)>& before,
                                   const std::function<void(const CheckRef&)>& after) {
  // One evaluation sees one state of the host, read once: checks that ask the same table
  // (deb_packages, nftables_rules, systemd_units, ...) share its rows. Preparing every
  // statement first tells the bridge every column the batch needs of each table, so the first
  // scan of a table computes them all and later checks reuse its rows.
  database.HoldRows(true);
  for (const CheckRef& ref : checks) (void)database.Check(ref.check->prepared_query);
  std::vector<Verdict> verdicts;
  verdicts.reserve(checks.size());
  for (const CheckRef& ref : checks) {
    if (before) before(ref);
    verdicts.push_back(EvaluateCheck(database, *ref.pack, *ref.check, options));
    if (after) after(ref);
  }
  database.HoldRows(false);
  return verdicts;
}

std::vector<Verdict> EvaluatePacks(Database& database, const std::vector<Pack>& packs,
                                   const EvaluateOptions& options) {
  std::vector<CheckRef> checks;
  for (const Pack& pack : packs) {
    for (const Check& check : pack.checks) checks.push_back({&pack, &check});
  }
  return EvaluateBatch(database, checks, options);
}

}  // namespace vigil::packs
