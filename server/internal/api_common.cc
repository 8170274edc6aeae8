#include "server/internal/api_common.h"

#include <rapidjson/error/en.h>

#include <charconv>
#include <chrono>

#include "engine/audit/chain.h"

namespace vigil::server::internal {

void WriteString(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteStrings(JsonWriter& w, const std::vector<std::string>& texts) {
  w.StartArray();
  for (const std::string& text : texts) WriteString(w, text);
  w.EndArray();
}

void WriteTime(JsonWriter& w, int64_t unix_seconds) {
  if (unix_seconds == 0) {
    w.Null();
    return;
  }
  WriteString(w, audit::FormatRfc3339(
                     std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds))));
}

void WriteTimeMs(JsonWriter& w, int64_t unix_milliseconds) {
  if (unix_milliseconds == 0) {
    w.Null();
    return;
  }
  WriteString(w, audit::FormatRfc3339(std::chrono::system_clock::time_point(
                     std::chrono::milliseconds(unix_milliseconds))));
}

HttpResponse JsonResponse(int status, const rapidjson::StringBuffer& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body.assign(body.GetString(), body.GetSize());
  return response;
}

HttpResponse StatusResponse(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return ErrorResponse(400, "malformed", status.message());
    case StatusCode::kUnauthenticated: {
      HttpResponse response = ErrorResponse(401, "unauthenticated", status.message());
      response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil-hub\"");
      return response;
    }
    case StatusCode::kPermissionDenied:
      return ErrorResponse(403, "forbidden", status.message());
    case StatusCode::kNotFound:
      return ErrorResponse(404, "not_found", status.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return ErrorResponse(409, "conflict", status.message());
    case StatusCode::kResourceExhausted:
      return ErrorResponse(413, "too_large", status.message());
    case StatusCode::kUnavailable:
      return ErrorResponse(503, "unavailable", status.message());
    default:
      return ErrorResponse(500, "internal", status.ToString());
  }
}

std::string Shown(std::string_view text) {
  constexpr size_t kMax = 200;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

Status ParseBody(const HttpRequest& request, std::string_view what, rapidjson::Document& doc) {
  if (request.body.empty()) {
    return Status::InvalidArgument(std::string(what) + " needs a JSON object as its body");
  }
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(request.body.data(), request.body.size());
  if (doc.HasParseError()) {
    return Status::InvalidArgument(std::string(what) + ": the body is not JSON: " +
                                   rapidjson::GetParseError_En(doc.GetParseError()) + " at byte " +
                                   std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) {
    return Status::InvalidArgument(std::string(what) + ": the body must be a JSON object");
  }
  return Status::Ok();
}

Status CheckFields(const rapidjson::Value& object, std::initializer_list<std::string_view> known,
                   std::string_view what) {
  for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member) {
    std::string_view name(member->name.GetString(), member->name.GetStringLength());
    bool found = false;
    for (std::string_view k : known) found = found || k == name;
    if (found) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return Status::InvalidArgument(std::string(what) + ": unknown field '" + Shown(name) +
                                   "' (fields: " + list + ")");
  }
  return Status::Ok();
}

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) {
        return Status::InvalidArgument("bad percent escape in '" + Shown(text) + "'");
      }
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    std::string_view query, std::initializer_list<std::string_view> known) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = PercentDecode(part.substr(0, eq), true);
    if (!name.ok()) return name.status();
    auto value = PercentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!value.ok()) return value.status();
    bool found = false;
    for (std::string_view k : known) found = found || k == *name;
    if (!found) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument(
          "unknown query parameter '" + Shown(*name) + "'" +
          (list.empty() ? " (this route takes none)" : " (parameters: " + list + ")"));
    }
    for (const auto& [seen, ignored] : params) {
      if (seen == *name) {
        return Status::InvalidArgument("query parameter '" + seen + "' is given twice");
      }
    }
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

Result<uint64_t> ParseNumber(std::string_view text, std::string_view what, uint64_t min,
                             uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return Status::InvalidArgument(std::string(what) + " must be a whole number from " +
                                   std::to_string(min) + " to " + std::to_string(max) + ", not '" +
                                   Shown(text) + "'");
  }
  return value;
}

}  // namespace vigil::server::internal
