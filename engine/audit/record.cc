#include "engine/audit/record.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "engine/digest.h"

namespace vigil::audit {

namespace {

constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag |
                                 rapidjson::kParseIterativeFlag;

// The length of the valid UTF-8 sequence at text[i], or 0: no overlong forms, no surrogates,
// nothing above U+10FFFF.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char min = 0x80, max = 0xbf;  // allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) min = 0xa0;
    if (lead == 0xed) max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) min = 0x90;
    if (lead == 0xf4) max = 0x8f;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min || byte(i + 1) > max) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return length;
}

// Appends `text` as a canonical JSON string; false when it is not valid UTF-8.
bool AppendString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(text, i);
      if (length == 0) return false;
      out.append(text, i, length);
      i += length;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return true;
}

void AppendDouble(std::string& out, double value) {
  if (value == 0) {  // 0 and -0
    out += '0';
    return;
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, end);
}

// Appends a parsed JSON value in canonical form. Parsing validated the encoding already.
Status AppendValue(std::string& out, const rapidjson::Value& value, int depth,
                   const std::string& pointer) {
  if (depth > kMaxDetailDepth) {
    return Status::InvalidArgument("nested deeper than " + std::to_string(kMaxDetailDepth) +
                                   " levels at " + pointer);
  }
  switch (value.GetType()) {
    case rapidjson::kNullType:
      out += "null";
      break;
    case rapidjson::kFalseType:
      out += "false";
      break;
    case rapidjson::kTrueType:
      out += "true";
      break;
    case rapidjson::kStringType:
      // Parsing validated the bytes, but an escaped lone surrogate ("\udc00") decodes to
      // bytes that are not UTF-8.
      if (!AppendString(out, std::string_view(value.GetString(), value.GetStringLength()))) {
        return Status::InvalidArgument("a string that is not valid UTF-8 at " + pointer);
      }
      break;
    case rapidjson::kNumberType:
      if (value.IsDouble()) {
        AppendDouble(out, value.GetDouble());
      } else if (value.IsInt64()) {
        out += std::to_string(value.GetInt64());
      } else {
        out += std::to_string(value.GetUint64());
      }
      break;
    case rapidjson::kArrayType: {
      out += '[';
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        if (i > 0) out += ',';
        VIGIL_RETURN_IF_ERROR(
            AppendValue(out, value[i], depth + 1, pointer + "/" + std::to_string(i)));
      }
      out += ']';
      break;
    }
    case rapidjson::kObjectType: {
      std::vector<std::pair<std::string_view, const rapidjson::Value*>> members;
      for (const auto& m : value.GetObject()) {
        members.emplace_back(std::string_view(m.name.GetString(), m.name.GetStringLength()),
                             &m.value);
      }
      // string_view compares chars as unsigned (char_traits<char>), which is code point order.
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0 && members[i].first == members[i - 1].first) {
          return Status::InvalidArgument("duplicate key \"" + std::string(members[i].first) +
                                         "\" at " + (pointer.empty() ? "/" : pointer));
        }
        if (i > 0) out += ',';
        if (!AppendString(out, members[i].first)) {
          return Status::InvalidArgument("a key that is not valid UTF-8 at " +
                                         (pointer.empty() ? "/" : pointer));
        }
        out += ':';
        VIGIL_RETURN_IF_ERROR(AppendValue(out, *members[i].second, depth + 1,
                                          pointer + "/" + std::string(members[i].first)));
      }
      out += '}';
      break;
    }
  }
  return Status::Ok();
}

Status ParseJson(std::string_view text, rapidjson::Document& doc) {
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Status::InvalidArgument(std::string(rapidjson::GetParseError_En(doc.GetParseError())) +
                                   " at offset " + std::to_string(doc.GetErrorOffset()));
  }
  return Status::Ok();
}

Result<std::string> CanonicalObject(const rapidjson::Value& value) {
  if (!value.IsObject()) return Status::InvalidArgument("not a JSON object");
  std::string out;
  VIGIL_RETURN_IF_ERROR(AppendValue(out, value, 1, ""));
  return out;
}

bool IsHash(const rapidjson::Value& value) {
  if (!value.IsString() || value.GetStringLength() != 64) return false;
  std::string_view text(value.GetString(), value.GetStringLength());
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Result<std::string> CanonicalDetail(std::string_view json) {
  if (json.size() > kMaxDetailBytes) {
    return Status::ResourceExhausted("audit detail is " + std::to_string(json.size()) +
                                     " bytes, more than the limit of " +
                                     std::to_string(kMaxDetailBytes));
  }
  auto canonical = CanonicalObjectWithout(json, "");
  if (!canonical.ok()) return canonical.status().WithContext("audit detail");
  return canonical;
}

Result<std::string> CanonicalObjectWithout(std::string_view json, std::string_view omit) {
  rapidjson::Document doc;
  VIGIL_RETURN_IF_ERROR(ParseJson(json, doc));
  if (!omit.empty() && doc.IsObject()) {
    const auto name = rapidjson::StringRef(omit.data(), omit.size());
    if (doc.RemoveMember(name) && doc.HasMember(name)) {
      return Status::InvalidArgument("duplicate key \"" + std::string(omit) + "\" at /");
    }
  }
  return CanonicalObject(doc);
}

Result<std::string> CanonicalJson(const Record& record) {
  std::string out = "{\"seq\":" + std::to_string(record.seq);
  for (auto [name, text] : {std::pair<const char*, const std::string*>{"time", &record.time},
                            {"actor", &record.actor},
                            {"action", &record.action},
                            {"subject", &record.subject}}) {
    out += ",\"";
    out += name;
    out += "\":";
    if (!AppendString(out, *text)) {
      return Status::InvalidArgument(std::string("audit record ") + name + " is not valid UTF-8");
    }
  }
  out += ",\"detail\":";
  out += record.detail;
  out += '}';
  return out;
}

Result<std::string> ComputeHash(const Record& record) {
  VIGIL_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(record));
  Digest digest(Digest::Algorithm::kSha256);
  digest.Update(record.prev_hash);
  digest.Update(canonical);
  return digest.HexFinal();
}

Result<std::string> SerializeRecord(const Record& record) {
  VIGIL_ASSIGN_OR_RETURN(std::string out, CanonicalJson(record));
  out.pop_back();  // the closing brace
  out += ",\"prev_hash\":";
  if (!AppendString(out, record.prev_hash)) {
    return Status::InvalidArgument("audit record prev_hash is not valid UTF-8");
  }
  out += ",\"hash\":";
  if (!AppendString(out, record.hash)) {
    return Status::InvalidArgument("audit record hash is not valid UTF-8");
  }
  out += '}';
  return out;
}

Result<Record> ParseRecord(std::string_view stored) {
  rapidjson::Document doc;
  if (Status s = ParseJson(stored, doc); !s.ok()) {
    return Status::Corruption("not JSON: " + s.message());
  }
  if (!doc.IsObject()) return Status::Corruption("not a JSON object");
  static constexpr const char* kFields[] = {"seq",     "time",   "actor",     "action",
                                            "subject", "detail", "prev_hash", "hash"};
  for (const auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (std::find(std::begin(kFields), std::end(kFields), name) == std::end(kFields)) {
      return Status::Corruption("unexpected field \"" + std::string(name) + "\"");
    }
  }
  for (const char* field : kFields) {
    if (!doc.HasMember(field)) {
      return Status::Corruption(std::string("field \"") + field + "\" is missing");
    }
  }
  if (doc.MemberCount() != std::size(kFields)) {
    return Status::Corruption("a field appears more than once");
  }

  Record record;
  const rapidjson::Value& seq = doc["seq"];
  if (!seq.IsUint64() || seq.GetUint64() == 0) {
    return Status::Corruption("field \"seq\" is not a positive integer");
  }
  record.seq = seq.GetUint64();
  for (auto [name, target] : {std::pair<const char*, std::string*>{"time", &record.time},
                              {"actor", &record.actor},
                              {"action", &record.action},
                              {"subject", &record.subject}}) {
    const rapidjson::Value& value = doc[name];
    if (!value.IsString()) {
      return Status::Corruption(std::string("field \"") + name + "\" is not a string");
    }
    target->assign(value.GetString(), value.GetStringLength());
  }
  auto detail = CanonicalObject(doc["detail"]);
  if (!detail.ok()) return Status::Corruption("field \"detail\": " + detail.status().message());
  record.detail = std::move(*detail);
  for (auto [name, target] : {std::pair<const char*, std::string*>{"prev_hash", &record.prev_hash},
                              {"hash", &record.hash}}) {
    const rapidjson::Value& value = doc[name];
    if (!IsHash(value)) {
      return Status::Corruption(std::string("field \"") + name +
                                "\" is not 64 lowercase hex digits");
    }
    target->assign(value.GetString(), value.GetStringLength());
  }
  return record;
}

}  // namespace vigil::audit
