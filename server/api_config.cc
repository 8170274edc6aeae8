// The people's API: the published fleet config (PROTOCOL.md, "People's API"): publish a tar of
// fleet.yaml and its packs, the versions' history, one version's files, the diff between two
// versions, and rollback. ConfigService validates, stores, signs and audits; this file speaks
// HTTP.
#include <optional>

#include "enforcers/diff.h"
#include "engine/tar.h"
#include "server/api.h"
#include "server/config_service.h"
#include "server/internal/api_common.h"

namespace vigil::server {
namespace {

using internal::JsonResponse;
using internal::JsonWriter;
using internal::StatusResponse;
using internal::WriteString;

HttpResponse NoConfigService() {
  return ErrorResponse(503, "unavailable", "this hub does not serve the fleet config");
}

void WriteInfo(JsonWriter& w, const ConfigVersionInfo& info, uint64_t current) {
  w.StartObject();
  w.Key("version");
  w.Uint64(info.version);
  w.Key("current");
  w.Bool(info.version == current);
  w.Key("published_at");
  internal::WriteTimeMs(w, info.published_at);
  w.Key("published_by");
  WriteString(w, info.published_by);
  w.Key("digest");
  WriteString(w, info.digest);
  w.Key("note");
  WriteString(w, info.note);
  w.Key("files");
  internal::WriteStrings(w, info.files);
  w.EndObject();
}

// A version number from a path segment or a parameter: 404 / 400 are the caller's to choose.
Result<uint64_t> VersionNumber(std::string_view text, std::string_view what) {
  return internal::ParseNumber(text, what, 1, UINT64_MAX);
}

// Replaces the "--- a/PATH" or "+++ b/PATH" label of a diff with /dev/null.
std::string WithNullSide(std::string diff, bool before) {
  const size_t line_start = before ? 0 : diff.find('\n') + 1;
  const size_t line_end = diff.find('\n', line_start);
  if (line_end == std::string::npos) return diff;
  diff.replace(line_start, line_end - line_start, before ? "--- /dev/null" : "+++ /dev/null");
  return diff;
}

}  // namespace

HttpResponse Api::PublishConfig(const TokenRecord& caller, const HttpRequest& request) {
  constexpr std::string_view kWhat = "POST /api/v1/config";
  if (services_.config == nullptr) return NoConfigService();
  std::string_view type = request.Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type != "application/x-tar" && type != "application/tar") {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) +
                             " takes a tar archive of fleet.yaml and its packs (Content-Type: "
                             "application/x-tar), not '" +
                             internal::Shown(type) + "'");
  }
  if (request.body.empty()) {
    return ErrorResponse(400, "malformed", std::string(kWhat) + ": the tar archive is empty");
  }
  Result<std::map<std::string, std::string>> files = tar::Read(request.body);
  if (!files.ok()) {
    return ErrorResponse(400, "malformed", std::string(kWhat) + ": " + files.status().message());
  }
  Result<PublishOutcome> outcome = services_.config->Publish(*files, caller.id);
  if (!outcome.ok()) return StatusResponse(outcome.status().WithContext(std::string(kWhat)));
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  if (!outcome->problems.empty()) {
    const uint64_t current = services_.config->current_version();
    const size_t n = outcome->problems.size();
    // A refused publish is an action too: who tried, what (the files' digest), how it failed.
    if (Status s = Audit(caller, "config.publish_rejected", ConfigDigest(*files),
                         "{\"problems\":" + std::to_string(n) + "}");
        !s.ok()) {
      return StatusResponse(s);
    }
    w.Key("error");
    w.StartObject();
    w.Key("code");
    WriteString(w, "invalid_config");
    w.Key("message");
    WriteString(w, "the config has " + std::to_string(n) + (n == 1 ? " problem" : " problems") +
                       "; nothing was published" +
                       (current == 0 ? std::string()
                                     : " (version " + std::to_string(current) + " stays current)"));
    w.EndObject();
    w.Key("problems");
    w.StartArray();
    for (const packs::Problem& problem : outcome->problems) {
      w.StartObject();
      w.Key("file");
      WriteString(w, problem.file);
      w.Key("pointer");
      WriteString(w, problem.pointer);
      if (!problem.check.empty()) {
        w.Key("check");
        WriteString(w, problem.check);
      }
      w.Key("message");
      WriteString(w, problem.message);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return JsonResponse(422, buffer);
  }
  w.Key("version");
  w.Uint64(outcome->version);
  w.EndObject();
  return JsonResponse(201, buffer);
}

HttpResponse Api::ConfigHistory() {
  if (services_.config == nullptr) return NoConfigService();
  Result<std::vector<ConfigVersionInfo>> history = services_.config->History();
  if (!history.ok()) return StatusResponse(history.status());
  const uint64_t current = services_.config->current_version();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const ConfigVersionInfo& info : *history) WriteInfo(w, info, current);
  w.EndArray();
  return JsonResponse(200, buffer);
}

HttpResponse Api::ConfigVersion(const std::string& version) {
  if (services_.config == nullptr) return NoConfigService();
  Result<uint64_t> number = VersionNumber(version, "the config version");
  if (!number.ok()) {
    return ErrorResponse(
        404, "not_found",
        "no config version '" + internal::Shown(version) + "' (versions are numbers from 1)");
  }
  Result<ConfigVersionInfo> info = services_.config->Info(*number);
  if (!info.ok()) return StatusResponse(info.status());
  Result<std::map<std::string, std::string>> files = services_.config->Files(*number);
  if (!files.ok()) return StatusResponse(files.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("info");
  WriteInfo(w, *info, services_.config->current_version());
  w.Key("files");
  w.StartObject();
  for (const auto& [path, content] : *files) {
    w.Key(path.data(), static_cast<rapidjson::SizeType>(path.size()));
    WriteString(w, content);
  }
  w.EndObject();
  w.EndObject();
  return JsonResponse(200, buffer);
}

HttpResponse Api::RollbackConfig(const TokenRecord& caller, const HttpRequest& request) {
  constexpr std::string_view kWhat = "POST /api/v1/config/rollback";
  if (services_.config == nullptr) return NoConfigService();
  rapidjson::Document doc;
  if (Status s = internal::ParseBody(request, kWhat, doc); !s.ok()) return StatusResponse(s);
  if (Status s = internal::CheckFields(doc, {"version"}, kWhat); !s.ok()) {
    return StatusResponse(s);
  }
  if (!doc.HasMember("version") || !doc["version"].IsUint64() || doc["version"].GetUint64() == 0) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) +
                             ": field 'version' must be the number of a published version (1 or "
                             "more)");
  }
  const uint64_t target = doc["version"].GetUint64();
  Result<uint64_t> made = services_.config->Rollback(target, caller.id);
  if (!made.ok()) return StatusResponse(made.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("version");
  w.Uint64(*made);
  w.Key("rollback_to");
  w.Uint64(target);
  w.EndObject();
  return JsonResponse(201, buffer);
}

HttpResponse Api::ConfigDiff(std::string_view query) {
  constexpr std::string_view kWhat = "GET /api/v1/config/diff";
  if (services_.config == nullptr) return NoConfigService();
  auto params = internal::ParseQuery(query, {"from", "to"});
  if (!params.ok()) return StatusResponse(params.status());
  std::optional<uint64_t> from;
  std::optional<uint64_t> to;
  for (const auto& [name, value] : *params) {
    Result<uint64_t> number = VersionNumber(value, name);
    if (!number.ok()) return StatusResponse(number.status());
    (name == "from" ? from : to) = *number;
  }
  if (!from || !to) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) + " needs both versions: ?from=A&to=B");
  }
  Result<std::map<std::string, std::string>> before = services_.config->Files(*from);
  if (!before.ok()) return StatusResponse(before.status());
  Result<std::map<std::string, std::string>> after = services_.config->Files(*to);
  if (!after.ok()) return StatusResponse(after.status());
  // Every path of either version, in order; a file only in one is diffed against nothing.
  std::map<std::string, std::pair<const std::string*, const std::string*>> paths;
  for (const auto& [path, content] : *before) paths[path].first = &content;
  for (const auto& [path, content] : *after) paths[path].second = &content;
  std::string body;
  for (const auto& [path, sides] : paths) {
    const std::string empty;
    std::string diff = enforcers::UnifiedDiff(path, sides.first ? *sides.first : empty,
                                              sides.second ? *sides.second : empty);
    if (sides.first == nullptr && sides.second->empty()) {
      diff = "--- /dev/null\n+++ b/" + path + "\n";  // an empty file added
    } else if (sides.second == nullptr && sides.first->empty()) {
      diff = "--- a/" + path + "\n+++ /dev/null\n";  // an empty file removed
    } else if (sides.first == nullptr) {
      diff = WithNullSide(std::move(diff), true);
    } else if (sides.second == nullptr) {
      diff = WithNullSide(std::move(diff), false);
    }
    body += diff;
  }
  HttpResponse response;
  response.content_type = "text/x-diff; charset=utf-8";
  response.body = std::move(body);
  return response;
}

}  // namespace vigil::server
