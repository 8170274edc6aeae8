// The people's API: remediation and tasks dispatched to nodes (server/task_service.h).
//   POST /api/v1/remediations {check, target?, dry_run?, batch?, max_failures?, node_timeout_s?}
//   POST /api/v1/tasks {kind, check?, target?, args?: {packages: []}, dry_run?, batch?, ...}
//        -> 201 {"id", "status", "nodes": [...]}
//   GET /api/v1/tasks?limit=N -> [{task, totals}], newest first
//   GET /api/v1/tasks/{id} -> {task, totals, nodes: [{node, batch, state, offline, sent_at,
//        answered_at, outcome, verdict_before, verdict_after, remediation}]}
// The start is recorded in the audit chain by the service.
#include <rapidjson/document.h>

#include <cmath>

#include "server/api.h"
#include "server/internal/api_common.h"
#include "server/task_service.h"

namespace vigil::server {
namespace {

using internal::JsonWriter;
using internal::Shown;
using internal::WriteString;
using internal::WriteStrings;
using internal::WriteTimeMs;

constexpr size_t kDefaultTasksListed = 50;
constexpr size_t kMaxTasksListed = 1000;
constexpr uint64_t kMaxNodeTimeoutS = 86'400;

HttpResponse NoService() {
  return ErrorResponse(503, "unavailable", "remediation and tasks are not enabled on this hub");
}

// The request's fields shared by both routes; a response when one is bad.
std::optional<HttpResponse> ReadCommon(const rapidjson::Document& doc, std::string_view what,
                                       size_t max_target, TaskRequest& request) {
  auto bad = [&](std::string_view field, const std::string& problem) {
    return ErrorResponse(400, "malformed",
                         std::string(what) + ": field '" + std::string(field) + "' " + problem);
  };
  if (doc.HasMember("check")) {
    const rapidjson::Value& check = doc["check"];
    if (!check.IsString() || check.GetStringLength() == 0) {
      return bad("check", "must be a non-empty string (a check id)");
    }
    request.check.assign(check.GetString(), check.GetStringLength());
  }
  if (doc.HasMember("target") && !doc["target"].IsNull()) {
    const rapidjson::Value& target = doc["target"];
    if (!target.IsString()) return bad("target", "must be a string: all, role:NAME, or host globs");
    request.target.assign(target.GetString(), target.GetStringLength());
    if (request.target.size() > max_target) {
      return bad("target", "is longer than " + std::to_string(max_target) + " bytes");
    }
  }
  if (doc.HasMember("dry_run")) {
    if (!doc["dry_run"].IsBool()) return bad("dry_run", "must be true or false");
    request.dry_run = doc["dry_run"].GetBool();
  }
  if (doc.HasMember("batch")) {
    if (!doc["batch"].IsUint64() || doc["batch"].GetUint64() == 0) {
      return bad("batch", "must be a whole number of nodes, at least 1");
    }
    request.batch = doc["batch"].GetUint64();
  }
  if (doc.HasMember("max_failures")) {
    if (!doc["max_failures"].IsUint64()) {
      return bad("max_failures", "must be a whole number, 0 or more");
    }
    request.max_failures = doc["max_failures"].GetUint64();
  }
  if (doc.HasMember("node_timeout_s")) {
    const rapidjson::Value& v = doc["node_timeout_s"];
    if (!v.IsNumber() || !(v.GetDouble() > 0) ||
        v.GetDouble() > static_cast<double>(kMaxNodeTimeoutS)) {
      return bad("node_timeout_s",
                 "must be a number of seconds above 0 to " + std::to_string(kMaxNodeTimeoutS));
    }
    request.node_timeout = std::chrono::milliseconds(std::llround(v.GetDouble() * 1000));
  }
  return std::nullopt;
}

void WriteTotals(JsonWriter& w, const TaskTotals& t) {
  w.StartObject();
  const std::pair<const char*, uint64_t> counts[] = {
      {"nodes", t.nodes},         {"pending", t.pending}, {"sent", t.sent}, {"offline", t.offline},
      {"succeeded", t.succeeded}, {"failed", t.failed},   {"gone", t.gone}, {"skipped", t.skipped}};
  for (const auto& [key, n] : counts) {
    w.Key(key);
    w.Uint64(n);
  }
  w.EndObject();
}

void WriteTask(JsonWriter& w, const TaskRecord& t) {
  w.StartObject();
  w.Key("id");
  WriteString(w, t.id);
  w.Key("kind");
  WriteString(w, t.kind);
  w.Key("check");
  if (t.check.empty()) {
    w.Null();
  } else {
    WriteString(w, t.check);
  }
  w.Key("args");
  w.StartObject();
  if (t.kind == "package_upgrade") {
    w.Key("packages");
    WriteStrings(w, t.packages);
  }
  w.EndObject();
  w.Key("target");
  WriteString(w, t.target);
  w.Key("dry_run");
  w.Bool(t.dry_run);
  w.Key("batch");
  w.Uint64(t.batch);
  w.Key("max_failures");
  w.Uint64(t.max_failures);
  w.Key("node_timeout_s");
  w.Double(static_cast<double>(t.node_timeout_ms) / 1000);
  w.Key("created_by");
  WriteString(w, t.created_by);
  w.Key("created_at");
  WriteTimeMs(w, t.created_at);
  w.Key("status");
  WriteString(w, t.status);
  w.Key("finished_at");
  WriteTimeMs(w, t.finished_at);
  w.EndObject();
}

// One node: its state and, once it answered, what its task_result carried.
void WriteTaskNode(JsonWriter& w, const TaskNodeRecord& n) {
  w.StartObject();
  w.Key("node");
  WriteString(w, n.host_identifier);
  w.Key("batch");
  w.Uint64(n.batch);
  w.Key("state");
  WriteString(w, n.state);
  w.Key("offline");
  w.Bool(n.offline);
  w.Key("sent_at");
  WriteTimeMs(w, n.state == "pending" || n.state == "skipped" ? 0 : n.sent_at);
  w.Key("answered_at");
  WriteTimeMs(w, n.answered_at);
  w.Key("outcome");
  if (n.outcome.empty()) {
    w.Null();
  } else {
    WriteString(w, n.outcome);
  }
  rapidjson::Document result;
  if (!n.result_json.empty()) result.Parse(n.result_json.c_str(), n.result_json.size());
  for (const char* key : {"verdict_before", "verdict_after", "remediation"}) {
    w.Key(key);
    if (result.IsObject() && result.HasMember(key)) {
      result[key].Accept(w);
    } else {
      w.Null();
    }
  }
  w.EndObject();
}

HttpResponse Started(const Result<TaskRecord>& task) {
  if (!task.ok()) {
    // A bad check, package or target is the request's fault.
    return internal::StatusResponse(task.status());
  }
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("id");
  WriteString(w, task->id);
  w.Key("status");
  WriteString(w, task->status);
  w.Key("nodes");
  WriteStrings(w, task->nodes);
  w.EndObject();
  return internal::JsonResponse(201, buffer);
}

}  // namespace

HttpResponse Api::StartRemediation(const TokenRecord& caller, const HttpRequest& request) {
  if (services_.tasks == nullptr) return NoService();
  constexpr std::string_view kWhat = "POST /api/v1/remediations";
  rapidjson::Document doc;
  if (Status s = internal::ParseBody(request, kWhat, doc); !s.ok()) {
    return internal::StatusResponse(s);
  }
  if (Status s = internal::CheckFields(
          doc, {"check", "target", "dry_run", "batch", "max_failures", "node_timeout_s"}, kWhat);
      !s.ok()) {
    return internal::StatusResponse(s);
  }
  if (!doc.HasMember("check")) {
    return ErrorResponse(400, "malformed", std::string(kWhat) + ": field 'check' is missing");
  }
  TaskRequest task;
  task.kind = "enforce";
  if (auto error = ReadCommon(doc, kWhat, limits_.max_target_bytes, task)) return *error;
  return Started(services_.tasks->Start(task, caller.id));
}

HttpResponse Api::StartTask(const TokenRecord& caller, const HttpRequest& request) {
  if (services_.tasks == nullptr) return NoService();
  constexpr std::string_view kWhat = "POST /api/v1/tasks";
  rapidjson::Document doc;
  if (Status s = internal::ParseBody(request, kWhat, doc); !s.ok()) {
    return internal::StatusResponse(s);
  }
  if (Status s = internal::CheckFields(
          doc,
          {"kind", "check", "target", "args", "dry_run", "batch", "max_failures", "node_timeout_s"},
          kWhat);
      !s.ok()) {
    return internal::StatusResponse(s);
  }
  auto bad = [&](std::string_view field, const std::string& problem) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) + ": field '" + std::string(field) + "' " + problem);
  };
  TaskRequest task;
  if (!doc.HasMember("kind") || !doc["kind"].IsString()) {
    return bad("kind", "must be \"package_upgrade\" or \"enforce\"");
  }
  task.kind.assign(doc["kind"].GetString(), doc["kind"].GetStringLength());
  if (task.kind != "package_upgrade" && task.kind != "enforce") {
    return bad("kind",
               "must be \"package_upgrade\" or \"enforce\", not '" + Shown(task.kind) + "'");
  }
  if (auto error = ReadCommon(doc, kWhat, limits_.max_target_bytes, task)) return *error;
  if (doc.HasMember("args") && !doc["args"].IsNull()) {
    const rapidjson::Value& args = doc["args"];
    if (!args.IsObject()) return bad("args", "must be an object ({\"packages\": [...]})");
    if (Status s = internal::CheckFields(args, {"packages"}, std::string(kWhat) + " args");
        !s.ok()) {
      return internal::StatusResponse(s);
    }
    if (args.HasMember("packages")) {
      const rapidjson::Value& packages = args["packages"];
      if (!packages.IsArray()) return bad("args.packages", "must be an array of package names");
      for (const rapidjson::Value& p : packages.GetArray()) {
        if (!p.IsString()) return bad("args.packages", "must hold strings only");
        task.packages.emplace_back(p.GetString(), p.GetStringLength());
      }
    }
  }
  return Started(services_.tasks->Start(task, caller.id));
}

HttpResponse Api::ListTasks(std::string_view query) {
  if (services_.tasks == nullptr) return NoService();
  auto params = internal::ParseQuery(query, {"limit"});
  if (!params.ok()) return internal::StatusResponse(params.status());
  uint64_t limit = kDefaultTasksListed;
  for (const auto& [name, value] : *params) {
    auto number = internal::ParseNumber(value, "limit", 1, kMaxTasksListed);
    if (!number.ok()) return internal::StatusResponse(number.status());
    limit = *number;
  }
  Result<std::vector<TaskRecord>> tasks = services_.tasks->List(limit);
  if (!tasks.ok()) return internal::StatusResponse(tasks.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const TaskRecord& task : *tasks) {
    Result<std::optional<TaskView>> view = services_.tasks->Get(task.id);
    if (!view.ok()) return internal::StatusResponse(view.status());
    if (!*view) continue;
    w.StartObject();
    w.Key("task");
    WriteTask(w, (*view)->task);
    w.Key("totals");
    WriteTotals(w, (*view)->totals);
    w.EndObject();
  }
  w.EndArray();
  return internal::JsonResponse(200, buffer);
}

HttpResponse Api::GetTask(const std::string& id) {
  if (services_.tasks == nullptr) return NoService();
  Result<std::optional<TaskView>> view = services_.tasks->Get(id);
  if (!view.ok()) return internal::StatusResponse(view.status());
  if (!*view) return ErrorResponse(404, "not_found", "no task '" + Shown(id) + "'");
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("task");
  WriteTask(w, (*view)->task);
  w.Key("totals");
  WriteTotals(w, (*view)->totals);
  w.Key("nodes");
  w.StartArray();
  for (const TaskNodeRecord& n : (*view)->nodes) WriteTaskNode(w, n);
  w.EndArray();
  w.EndObject();
  return internal::JsonResponse(200, buffer);
}

}  // namespace vigil::server
