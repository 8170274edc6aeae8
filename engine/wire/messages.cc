#include "engine/wire/messages.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>
#include <utility>

#include "engine/audit/record.h"
#include "engine/packs/json_reader.h"

namespace vigil::wire {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag |
                                 rapidjson::kParseIterativeFlag;

// ---- Encoding ----

// Rows as a JSON array of arrays: integers, reals (null when not finite), text, null.
void WriteRows(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::vector<Row>& rows) {
  w.StartArray();
  for (const Row& row : rows) {
    w.StartArray();
    for (const Value& cell : row) {
      switch (cell.type()) {
        case Value::Type::kNull:
          w.Null();
          break;
        case Value::Type::kInteger:
          w.Int64(cell.integer());
          break;
        case Value::Type::kReal:
          if (std::isfinite(cell.real())) {
            w.Double(cell.real());
          } else {
            w.Null();
          }
          break;
        case Value::Type::kText:
          w.String(cell.text().data(), static_cast<rapidjson::SizeType>(cell.text().size()));
          break;
      }
    }
    w.EndArray();
  }
  w.EndArray();
}

class Out {
 public:
  explicit Out(std::string_view type) : w_(buffer_) {
    w_.StartObject();
    Str("type", type);
    w_.Key("v");
    w_.Int(kVersion);
  }

  void Key(std::string_view key) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  }
  void Text(std::string_view s) { w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
  void Str(std::string_view key, std::string_view value) {
    Key(key);
    Text(value);
  }
  // Left out when empty or absent.
  void OptStr(std::string_view key, const std::optional<std::string>& value) {
    if (value) Str(key, *value);
  }
  void Uint(std::string_view key, uint64_t value) {
    Key(key);
    w_.Uint64(value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    w_.Bool(value);
  }
  void Number(double value) {
    if (std::isfinite(value)) {
      w_.Double(value);
    } else {
      w_.Null();
    }
  }
  void Null() { w_.Null(); }
  // `json` must be one JSON value (an object, for the callers here).
  void Raw(std::string_view json) { w_.RawValue(json.data(), json.size(), rapidjson::kObjectType); }
  void RawOrNull(std::string_view key, const std::optional<std::string>& json) {
    Key(key);
    if (json) {
      Raw(*json);
    } else {
      w_.Null();
    }
  }
  rapidjson::Writer<rapidjson::StringBuffer>& writer() { return w_; }

  std::string Finish() {
    w_.EndObject();
    return std::string(buffer_.GetString(), buffer_.GetSize());
  }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

// ---- Decoding ----

using packs::internal::JsonTypeName;

std::string StringOf(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

std::string ToJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Reads the fields of one message, keeping the first problem. Getters return a default value
// after a problem; the caller checks failed() once at the end.
class Fields {
 public:
  Fields(const rapidjson::Value& object, std::string_view type) : object_(object), type_(type) {}

  bool failed() const { return !problem_.empty(); }
  const std::string& problem() const { return problem_; }

  void Fail(std::string_view field, std::string_view what) {
    if (failed()) return;
    problem_ = std::string(type_) + ": field \"" + std::string(field) + "\" " + std::string(what);
  }
  void WrongType(std::string_view field, std::string_view expected, const rapidjson::Value& v) {
    Fail(field, "must be " + std::string(expected) + ", not " + JsonTypeName(v));
  }

  // The member, or nullptr (and a problem when required).
  const rapidjson::Value* Get(const char* key, bool required) {
    auto it = object_.FindMember(key);
    if (it == object_.MemberEnd()) {
      if (required) Fail(key, "is missing");
      return nullptr;
    }
    return &it->value;
  }
  // Absent and null are the same for an optional field.
  const rapidjson::Value* GetOptional(const char* key) {
    const rapidjson::Value* v = Get(key, false);
    return v != nullptr && v->IsNull() ? nullptr : v;
  }

  std::string String(const char* key) {
    const rapidjson::Value* v = Get(key, true);
    if (v == nullptr) return {};
    if (!v->IsString()) {
      WrongType(key, "a string", *v);
      return {};
    }
    return StringOf(*v);
  }
  std::optional<std::string> OptString(const char* key) {
    const rapidjson::Value* v = GetOptional(key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsString()) {
      WrongType(key, "a string or null", *v);
      return std::nullopt;
    }
    return StringOf(*v);
  }
  uint64_t Uint(const char* key) {
    const rapidjson::Value* v = Get(key, true);
    if (v == nullptr) return 0;
    if (!v->IsUint64()) {
      Fail(key, "must be a whole number >= 0, not " +
                    (v->IsNumber() ? "the number " + ToJson(*v) : JsonTypeName(*v)));
      return 0;
    }
    return v->GetUint64();
  }
  double Number(const char* key) {
    const rapidjson::Value* v = Get(key, true);
    if (v == nullptr) return 0;
    if (!v->IsNumber()) {
      WrongType(key, "a number", *v);
      return 0;
    }
    return v->GetDouble();
  }
  bool Bool(const char* key) {
    const rapidjson::Value* v = Get(key, true);
    if (v == nullptr) return false;
    if (!v->IsBool()) {
      WrongType(key, "true or false", *v);
      return false;
    }
    return v->GetBool();
  }
  // The array member, or nullptr after a problem.
  const rapidjson::Value* Array(const char* key) {
    const rapidjson::Value* v = Get(key, true);
    if (v == nullptr) return nullptr;
    if (!v->IsArray()) {
      WrongType(key, "an array", *v);
      return nullptr;
    }
    return v;
  }
  // An object kept as compact JSON text, or nullopt when absent or null.
  std::optional<std::string> OptObject(const char* key) {
    const rapidjson::Value* v = GetOptional(key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsObject()) {
      WrongType(key, "an object or null", *v);
      return std::nullopt;
    }
    return ToJson(*v);
  }

 private:
  const rapidjson::Value& object_;
  std::string_view type_;
  std::string problem_;
};

// The deepest nesting of arrays and objects in `text`, or limit + 1 as soon as it is passed.
// Only a bound: the text need not be JSON. It keeps the recursive writer in ToJson safe.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string NumberText(const rapidjson::Value& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v.GetDouble());
  return std::string(buffer, end);
}

// A task argument: a scalar or an array of scalars, as text.
std::optional<packs::Param> ParamOf(const rapidjson::Value& v) {
  const auto scalar = [](const rapidjson::Value& s) -> std::optional<std::string> {
    if (s.IsString()) return StringOf(s);
    if (s.IsBool()) return std::string(s.GetBool() ? "true" : "false");
    if (s.IsNumber()) return NumberText(s);
    return std::nullopt;
  };
  if (!v.IsArray()) {
    auto text = scalar(v);
    if (!text) return std::nullopt;
    return packs::Param::One(std::move(*text));
  }
  packs::Param param{{}, true};
  for (const auto& item : v.GetArray()) {
    auto text = scalar(item);
    if (!text) return std::nullopt;
    param.items.push_back(std::move(*text));
  }
  return param;
}

Value CellOf(const rapidjson::Value& v) {
  if (v.IsString()) return Value(StringOf(v));
  if (v.IsInt64()) return Value(v.GetInt64());
  if (v.IsNumber()) return Value(v.GetDouble());  // a fraction, or past int64
  return Value();
}

Hello DecodeHello(Fields& in) {
  Hello m;
  m.host_identifier = in.String("host_identifier");
  m.hostname = in.String("hostname");
  m.os = in.String("os");
  m.vigil_version = in.String("vigil_version");
  m.enroll_secret = in.OptString("enroll_secret");
  m.node_key = in.OptString("node_key");
  if (!m.enroll_secret && !m.node_key) in.Fail("node_key", "is missing (and so is enroll_secret)");
  m.config_version = in.Uint("config_version");
  m.outbox_next_seq = in.Uint("outbox_next_seq");
  if (const rapidjson::Value* roles = in.GetOptional("roles")) {
    if (!roles->IsArray()) {
      in.WrongType("roles", "an array of strings or null", *roles);
      return m;
    }
    for (rapidjson::SizeType i = 0; i < roles->Size(); ++i) {
      const rapidjson::Value& role = (*roles)[i];
      if (!role.IsString()) {
        in.WrongType("roles/" + std::to_string(i), "a string", role);
        break;
      }
      m.roles.push_back(StringOf(role));
    }
  }
  if (const rapidjson::Value* cycle = in.GetOptional("cycle_ms")) {
    if (!cycle->IsUint64() || cycle->GetUint64() == 0) {
      in.Fail("cycle_ms", "must be a whole number > 0 or null, not " +
                              (cycle->IsNumber() ? "the number " + ToJson(*cycle)
                                                 : JsonTypeName(*cycle)));
    } else {
      m.cycle_ms = cycle->GetUint64();
    }
  }
  return m;
}

Welcome DecodeWelcome(Fields& in) {
  Welcome m;
  m.node_key = in.OptString("node_key");
  m.hub_public_key = in.String("hub_public_key");
  m.server_time = in.String("server_time");
  return m;
}

Config DecodeConfig(Fields& in, std::string_view text) {
  Config m;
  m.json = std::string(text);
  m.version = in.Uint("version");
  m.signature = in.OptString("signature").value_or("");
  return m;
}

Query DecodeQuery(Fields& in) {
  Query m;
  m.id = in.String("id");
  m.sql = in.String("sql");
  m.timeout_ms = in.Uint("timeout_ms");
  m.max_rows = in.Uint("max_rows");
  return m;
}

QueryResult DecodeQueryResult(Fields& in, const DecodeLimits& limits, bool& too_large) {
  QueryResult m;
  m.id = in.String("id");
  const std::string status = in.String("status");
  if (status == "error") {
    m.status = QueryResult::Status::kError;
  } else if (status != "ok" && !in.failed()) {
    in.Fail("status", "must be \"ok\" or \"error\", not \"" + status + "\"");
  }
  if (const rapidjson::Value* columns = in.Array("columns")) {
    for (rapidjson::SizeType i = 0; i < columns->Size(); ++i) {
      const rapidjson::Value& c = (*columns)[i];
      if (!c.IsString()) {
        in.WrongType("columns/" + std::to_string(i), "a string", c);
        break;
      }
      m.columns.push_back(StringOf(c));
    }
  }
  if (const rapidjson::Value* rows = in.Array("rows"); rows != nullptr && !in.failed()) {
    if (rows->Size() > limits.max_rows) {
      too_large = true;
      in.Fail("rows", "has " + std::to_string(rows->Size()) + " rows, more than the limit of " +
                          std::to_string(limits.max_rows));
      return m;
    }
    m.rows.reserve(rows->Size());
    for (rapidjson::SizeType i = 0; i < rows->Size() && !in.failed(); ++i) {
      const auto field = [i] { return "rows/" + std::to_string(i); };  // built on failure only
      const rapidjson::Value& row = (*rows)[i];
      if (!row.IsArray()) {
        in.WrongType(field(), "an array", row);
      } else if (row.Size() != m.columns.size()) {
        in.Fail(field(), "has " + std::to_string(row.Size()) + " values for " +
                             std::to_string(m.columns.size()) + " columns");
      } else {
        Row& out = m.rows.emplace_back();
        out.reserve(row.Size());
        for (rapidjson::SizeType j = 0; j < row.Size(); ++j) {
          const rapidjson::Value& cell = row[j];
          if (!cell.IsString() && !cell.IsNumber() && !cell.IsNull()) {
            in.WrongType(field() + "/" + std::to_string(j), "a string, a number or null", cell);
            break;
          }
          out.push_back(CellOf(cell));
        }
      }
    }
  }
  m.rows_total = in.Uint("rows_total");
  m.error = in.OptString("error").value_or("");
  m.duration_ms = in.Number("duration_ms");
  return m;
}

Results DecodeResults(Fields& in) {
  Results m;
  m.seq = in.Uint("seq");
  const rapidjson::Value* items = in.Array("items");
  if (items == nullptr) return m;
  m.items.reserve(items->Size());
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const std::string field = "items/" + std::to_string(i);
    const rapidjson::Value& item = (*items)[i];
    if (!item.IsObject()) {
      in.WrongType(field, "an object", item);
      break;
    }
    auto kind = item.FindMember("kind");
    if (kind == item.MemberEnd()) {
      in.Fail(field + "/kind", "is missing");
      break;
    }
    if (!kind->value.IsString()) {
      in.WrongType(field + "/kind", "a string", kind->value);
      break;
    }
    const std::string name = StringOf(kind->value);
    ResultItem out;
    if (name == "verdict") {
      out.kind = ResultItem::Kind::kVerdict;
    } else if (name == "log") {
      out.kind = ResultItem::Kind::kLog;
    } else if (name == "audit_head") {
      out.kind = ResultItem::Kind::kAuditHead;
    } else {
      in.Fail(field + "/kind", "must be verdict, log or audit_head, not \"" + name + "\"");
      break;
    }
    out.json = ToJson(item);
    m.items.push_back(std::move(out));
  }
  return m;
}

Task DecodeTask(Fields& in) {
  Task m;
  m.id = in.String("id");
  const std::string kind = in.String("kind");
  if (kind == "package_upgrade") {
    m.kind = Task::Kind::kPackageUpgrade;
  } else if (kind != "enforce" && !in.failed()) {
    in.Fail("kind", "must be enforce or package_upgrade, not \"" + kind + "\"");
  }
  m.check = in.OptString("check").value_or("");
  m.dry_run = in.Bool("dry_run");
  if (const rapidjson::Value* args = in.GetOptional("args")) {
    if (!args->IsObject()) {
      in.WrongType("args", "an object", *args);
      return m;
    }
    for (const auto& member : args->GetObject()) {
      const std::string name = StringOf(member.name);
      auto param = ParamOf(member.value);
      if (!param) {
        in.Fail("args/" + name, "must be a string, a number, a boolean or an array of those");
        break;
      }
      m.args[name] = std::move(*param);
    }
  }
  return m;
}

TaskResult DecodeTaskResult(Fields& in) {
  TaskResult m;
  m.id = in.String("id");
  m.outcome = in.String("outcome");
  m.verdict_before = in.OptObject("verdict_before");
  m.verdict_after = in.OptObject("verdict_after");
  m.remediation = in.OptObject("remediation");
  return m;
}

ConfigStatus DecodeConfigStatus(Fields& in) {
  ConfigStatus m;
  m.config_version = in.Uint("config_version");
  m.config_error = in.OptString("config_error").value_or("");
  return m;
}

Error DecodeError(Fields& in) {
  Error m;
  m.code = in.String("code");
  m.message = in.String("message");
  m.ref = in.OptString("ref").value_or("");
  return m;
}

// The id a failed message refers to, when it can be read.
std::string RefOf(const rapidjson::Value& object) {
  if (auto id = object.FindMember("id"); id != object.MemberEnd() && id->value.IsString()) {
    return StringOf(id->value);
  }
  if (auto seq = object.FindMember("seq"); seq != object.MemberEnd() && seq->value.IsUint64()) {
    return std::to_string(seq->value.GetUint64());
  }
  return {};
}

Error Failure(std::string_view code, std::string message, std::string ref = {}) {
  return Error{std::string(code), std::move(message), std::move(ref)};
}

}  // namespace

std::string_view TypeName(const Message& message) {
  static constexpr std::string_view kNames[] = {"hello",        "welcome",       "config", "query",
                                                "query_result", "results",       "ack",    "task",
                                                "task_result",  "config_status", "error"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[message.index()];
}

std::string_view ResultItemKindName(ResultItem::Kind kind) {
  switch (kind) {
    case ResultItem::Kind::kVerdict:
      return "verdict";
    case ResultItem::Kind::kLog:
      return "log";
    case ResultItem::Kind::kAuditHead:
      return "audit_head";
  }
  return "verdict";
}

std::string_view TaskKindName(Task::Kind kind) {
  return kind == Task::Kind::kPackageUpgrade ? "package_upgrade" : "enforce";
}

std::string Encode(const Hello& m) {
  Out out("hello");
  out.Str("host_identifier", m.host_identifier);
  out.Str("hostname", m.hostname);
  out.Str("os", m.os);
  out.Str("vigil_version", m.vigil_version);
  out.OptStr("enroll_secret", m.enroll_secret);
  out.OptStr("node_key", m.node_key);
  out.Uint("config_version", m.config_version);
  out.Uint("outbox_next_seq", m.outbox_next_seq);
  if (!m.roles.empty()) {
    out.Key("roles");
    out.writer().StartArray();
    for (const std::string& role : m.roles) out.Text(role);
    out.writer().EndArray();
  }
  if (m.cycle_ms) out.Uint("cycle_ms", *m.cycle_ms);
  return out.Finish();
}

std::string Encode(const Welcome& m) {
  Out out("welcome");
  out.OptStr("node_key", m.node_key);
  out.Str("hub_public_key", m.hub_public_key);
  out.Str("server_time", m.server_time);
  return out.Finish();
}

std::string Encode(const Config& m) { return m.json; }

std::string Encode(const Query& m) {
  Out out("query");
  out.Str("id", m.id);
  out.Str("sql", m.sql);
  out.Uint("timeout_ms", m.timeout_ms);
  out.Uint("max_rows", m.max_rows);
  return out.Finish();
}

std::string Encode(const QueryResult& m) {
  Out out("query_result");
  out.Str("id", m.id);
  out.Str("status", m.status == QueryResult::Status::kOk ? "ok" : "error");
  out.Key("columns");
  auto& w = out.writer();
  w.StartArray();
  for (const std::string& column : m.columns) out.Text(column);
  w.EndArray();
  out.Key("rows");
  WriteRows(w, m.rows);
  out.Uint("rows_total", m.rows_total);
  out.Key("error");
  if (m.error.empty()) {
    out.Null();
  } else {
    out.Text(m.error);
  }
  out.Key("duration_ms");
  out.Number(std::isfinite(m.duration_ms) ? m.duration_ms : 0);
  return out.Finish();
}

std::string RowsJson(const std::vector<Row>& rows) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  WriteRows(w, rows);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string Encode(const Results& m) {
  Out out("results");
  out.Uint("seq", m.seq);
  out.Key("items");
  out.writer().StartArray();
  for (const ResultItem& item : m.items) out.Raw(item.json);
  out.writer().EndArray();
  return out.Finish();
}

std::string Encode(const Ack& m) {
  Out out("ack");
  out.Uint("seq", m.seq);
  return out.Finish();
}

std::string Encode(const Task& m) {
  Out out("task");
  out.Str("id", m.id);
  out.Str("kind", TaskKindName(m.kind));
  if (!m.check.empty()) out.Str("check", m.check);
  out.Bool("dry_run", m.dry_run);
  out.Key("args");
  auto& w = out.writer();
  w.StartObject();
  for (const auto& [name, param] : m.args) {
    out.Key(name);
    if (param.is_list) w.StartArray();
    for (const std::string& item : param.items) out.Text(item);
    if (param.is_list) w.EndArray();
  }
  w.EndObject();
  return out.Finish();
}

std::string Encode(const TaskResult& m) {
  Out out("task_result");
  out.Str("id", m.id);
  out.Str("outcome", m.outcome);
  out.RawOrNull("verdict_before", m.verdict_before);
  out.RawOrNull("verdict_after", m.verdict_after);
  out.RawOrNull("remediation", m.remediation);
  return out.Finish();
}

std::string Encode(const ConfigStatus& m) {
  Out out("config_status");
  out.Uint("config_version", m.config_version);
  if (!m.config_error.empty()) out.Str("config_error", m.config_error);
  return out.Finish();
}

std::string Encode(const Error& m) {
  Out out("error");
  out.Str("code", m.code);
  out.Str("message", m.message);
  if (!m.ref.empty()) out.Str("ref", m.ref);
  return out.Finish();
}

std::string Encode(const Message& m) {
  return std::visit([](const auto& message) { return Encode(message); }, m);
}

DecodeResult Decode(std::string_view text, const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Failure(kTooLarge, "message is " + std::to_string(text.size()) +
                                  " bytes, more than the limit of " +
                                  std::to_string(limits.max_bytes));
  }
  if (NestingDepth(text, limits.max_depth) > limits.max_depth) {
    return Failure(kMalformed, "message nests arrays and objects deeper than " +
                                   std::to_string(limits.max_depth) + " levels");
  }
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Failure(kMalformed, std::string("message is not JSON: ") +
                                   rapidjson::GetParseError_En(doc.GetParseError()) +
                                   " at offset " + std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) {
    return Failure(kMalformed, "message is " + JsonTypeName(doc) + ", not a JSON object");
  }
  std::string ref = RefOf(doc);

  auto type_member = doc.FindMember("type");
  if (type_member == doc.MemberEnd()) {
    return Failure(kMalformed, "message: field \"type\" is missing", std::move(ref));
  }
  if (!type_member->value.IsString()) {
    return Failure(kMalformed,
                   "message: field \"type\" must be a string, not " + JsonTypeName(type_member->value),
                   std::move(ref));
  }
  const std::string type = StringOf(type_member->value);
  auto v = doc.FindMember("v");
  if (v == doc.MemberEnd()) {
    return Failure(kMalformed, type + ": field \"v\" is missing", std::move(ref));
  }
  if (!v->value.IsNumber()) {
    return Failure(kMalformed, type + ": field \"v\" must be a number, not " + JsonTypeName(v->value),
                   std::move(ref));
  }
  if (!v->value.IsInt() || v->value.GetInt() != kVersion) {
    return Failure(kUnsupportedVersion,
                   type + ": version " + ToJson(v->value) +
                       " is not supported (this side speaks version " + std::to_string(kVersion) +
                       ")",
                   std::move(ref));
  }

  Fields in(doc, type);
  bool too_large = false;
  std::optional<Message> message;
  if (type == "hello") {
    message = DecodeHello(in);
  } else if (type == "welcome") {
    message = DecodeWelcome(in);
  } else if (type == "config") {
    message = DecodeConfig(in, text);
  } else if (type == "query") {
    message = DecodeQuery(in);
  } else if (type == "query_result") {
    message = DecodeQueryResult(in, limits, too_large);
  } else if (type == "results") {
    message = DecodeResults(in);
  } else if (type == "ack") {
    message = Ack{in.Uint("seq")};
  } else if (type == "task") {
    message = DecodeTask(in);
  } else if (type == "task_result") {
    message = DecodeTaskResult(in);
  } else if (type == "config_status") {
    message = DecodeConfigStatus(in);
  } else if (type == "error") {
    message = DecodeError(in);
  } else {
    return Failure(kUnknownType, "unknown message type \"" + type + "\"", std::move(ref));
  }
  if (in.failed()) {
    return Failure(too_large ? kTooLarge : kMalformed, in.problem(), std::move(ref));
  }
  return DecodeResult(std::move(*message));
}

Result<std::string> CanonicalJsonWithout(std::string_view json, std::string_view key) {
  return audit::CanonicalObjectWithout(json, key);
}

}  // namespace vigil::wire
