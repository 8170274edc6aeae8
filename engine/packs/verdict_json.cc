#include "engine/packs/verdict_json.h"

#include <rapidjson/document.h>

#include <charconv>
#include <string>

namespace vigil::packs {
namespace {

using JsonValue = rapidjson::Value;

Status Bad(std::string_view member, std::string_view problem) {
  return Status::InvalidArgument("verdict: member \"" + std::string(member) + "\" " +
                                 std::string(problem));
}

const JsonValue* Member(const JsonValue& object, const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Status ReadString(const JsonValue& object, const char* key, std::string& out) {
  const JsonValue* v = Member(object, key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsString()) return Bad(key, "is not a string");
  out.assign(v->GetString(), v->GetStringLength());
  return Status::Ok();
}

Status ReadStrings(const JsonValue& object, const char* key, std::vector<std::string>& out) {
  const JsonValue* v = Member(object, key);
  if (v == nullptr) return Status::Ok();
  if (v->IsString()) {
    out.assign(1, std::string(v->GetString(), v->GetStringLength()));
    return Status::Ok();
  }
  if (!v->IsArray()) return Bad(key, "is not an array of strings");
  out.clear();
  for (const JsonValue& e : v->GetArray()) {
    if (!e.IsString()) return Bad(key, "holds a non-string");
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return Status::Ok();
}

Value CellOf(const JsonValue& v) {
  if (v.IsInt64()) return Value(v.GetInt64());
  if (v.IsUint64()) return Value(static_cast<double>(v.GetUint64()));
  if (v.IsNumber()) return Value(v.GetDouble());
  if (v.IsString()) return Value(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsBool()) return Value(v.GetBool());
  return Value();
}

Status ReadRows(const JsonValue& object, Verdict& out) {
  const JsonValue* rows = Member(object, "rows");
  if (rows == nullptr) return Status::Ok();
  if (!rows->IsArray()) return Bad("rows", "is not an array");
  for (const JsonValue& row : rows->GetArray()) {
    if (!row.IsObject()) return Bad("rows", "holds a non-object");
    if (out.rows.empty()) {
      for (const auto& m : row.GetObject()) {
        out.columns.emplace_back(m.name.GetString(), m.name.GetStringLength());
      }
    }
    Row cells(out.columns.size());
    for (size_t i = 0; i < out.columns.size(); ++i) {
      auto it = row.FindMember(out.columns[i].c_str());
      if (it != row.MemberEnd()) cells[i] = CellOf(it->value);
    }
    out.rows.push_back(std::move(cells));
  }
  return Status::Ok();
}

Status ReadRemediation(const JsonValue& object, Verdict& out) {
  const JsonValue* r = Member(object, "remediation");
  if (r == nullptr) return Status::Ok();
  if (!r->IsObject()) return Bad("remediation", "is not an object");
  Remediation rem;
  VIGIL_RETURN_IF_ERROR(ReadString(*r, "outcome", rem.outcome));
  VIGIL_RETURN_IF_ERROR(ReadString(*r, "message", rem.message));
  if (const JsonValue* seq = Member(*r, "audit_seq")) {
    if (!seq->IsUint64()) return Bad("remediation/audit_seq", "is not an unsigned integer");
    rem.audit_seq = seq->GetUint64();
  }
  if (const JsonValue* changes = Member(*r, "changes")) {
    if (!changes->IsArray()) return Bad("remediation/changes", "is not an array");
    for (const JsonValue& c : changes->GetArray()) {
      if (!c.IsObject()) return Bad("remediation/changes", "holds a non-object");
      Change change;
      std::string kind;
      VIGIL_RETURN_IF_ERROR(ReadString(c, "kind", kind));
      if (kind == "command") {
        change.kind = Change::Kind::kCommand;
        VIGIL_RETURN_IF_ERROR(ReadStrings(c, "argv", change.argv));
        if (const JsonValue* exit = Member(c, "exit")) {
          if (!exit->IsInt()) return Bad("remediation/changes/exit", "is not an integer");
          change.exit_code = exit->GetInt();
        }
      } else if (kind == "file") {
        VIGIL_RETURN_IF_ERROR(ReadString(c, "path", change.path));
        VIGIL_RETURN_IF_ERROR(ReadString(c, "diff", change.diff));
      } else {
        return Bad("remediation/changes/kind", "is \"" + kind + "\", not file or command");
      }
      rem.changes.push_back(std::move(change));
    }
  }
  out.remediation = std::move(rem);
  return Status::Ok();
}

bool Digits(std::string_view text, size_t at, size_t n, int& out) {
  if (at + n > text.size()) return false;
  auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + n, out);
  return ec == std::errc() && end == text.data() + at + n;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<VerdictStatus> ParseVerdictStatus(std::string_view name) {
  for (VerdictStatus s : {VerdictStatus::kPass, VerdictStatus::kFail, VerdictStatus::kError,
                          VerdictStatus::kNotApplicable, VerdictStatus::kFixed}) {
    if (VerdictStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseRfc3339(std::string_view t) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (t.size() < 20 || !Digits(t, 0, 4, year) || t[4] != '-' || !Digits(t, 5, 2, month) ||
      t[7] != '-' || !Digits(t, 8, 2, day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
      !Digits(t, 11, 2, hour) || t[13] != ':' || !Digits(t, 14, 2, minute) || t[16] != ':' ||
      !Digits(t, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  if (at < t.size() && t[at] == '.') {
    ++at;
    const size_t digits = at;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') ++at;
    if (at == digits) return std::nullopt;
  }
  int64_t offset = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    int oh = 0, om = 0;
    if (!Digits(t, at + 1, 2, oh) || at + 3 >= t.size() || t[at + 3] != ':' ||
        !Digits(t, at + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (t[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != t.size()) return std::nullopt;
  return DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

Result<Verdict> ParseVerdictJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Status::InvalidArgument("verdict: not a JSON object");
  }
  Verdict v;
  VIGIL_RETURN_IF_ERROR(ReadString(doc, "check", v.check));
  if (v.check.empty()) return Bad("check", "is missing or empty");
  VIGIL_RETURN_IF_ERROR(ReadString(doc, "pack", v.pack));
  VIGIL_RETURN_IF_ERROR(ReadStrings(doc, "sr", v.sr));
  if (const JsonValue* sl = Member(doc, "sl")) {
    if (!sl->IsInt() || sl->GetInt() < 1 || sl->GetInt() > 4) {
      return Bad("sl", "is not an integer from 1 to 4");
    }
    v.sl = sl->GetInt();
  }
  std::string status;
  VIGIL_RETURN_IF_ERROR(ReadString(doc, "status", status));
  auto parsed = ParseVerdictStatus(status);
  if (!parsed) {
    return Bad("status", "is \"" + status + "\", not pass, fail, error, not_applicable or fixed");
  }
  v.status = *parsed;
  VIGIL_RETURN_IF_ERROR(ReadRows(doc, v));
  v.rows_total = v.rows.size();
  if (const JsonValue* total = Member(doc, "rows_total")) {
    if (!total->IsUint64()) return Bad("rows_total", "is not an unsigned integer");
    v.rows_total = static_cast<size_t>(total->GetUint64());
  }
  VIGIL_RETURN_IF_ERROR(ReadString(doc, "error", v.error));
  if (const JsonValue* d = Member(doc, "duration_ms")) {
    if (!d->IsNumber()) return Bad("duration_ms", "is not a number");
    v.duration_ms = d->GetDouble();
  }
  VIGIL_RETURN_IF_ERROR(ReadString(doc, "time", v.time));
  VIGIL_RETURN_IF_ERROR(ReadString(doc, "enforcer", v.enforcer));
  VIGIL_RETURN_IF_ERROR(ReadRemediation(doc, v));
  return v;
}

}  // namespace vigil::packs
