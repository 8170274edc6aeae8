// vigilctl config: publish a fleet directory (fleet.yaml and its packs) to the hub, list the
// published versions, diff two of them, roll back to one (PROTOCOL.md, POST /api/v1/config).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/output.h"
#include "cli/vigilctl_client.h"
#include "cli/vigilctl_commands.h"
#include "engine/tar.h"

namespace vigil::cli::ctl {
namespace {

constexpr const char* kSummary =
    "Manages the fleet config on the hub (admin).\n"
    "  publish DIR   Sends fleet.yaml and every regular file below DIR (hidden ones skipped);\n"
    "                the hub validates all of it and makes it a new version, or refuses it and\n"
    "                prints every problem (file: pointer: message), exit 1\n"
    "  history       The published versions, newest first\n"
    "  diff A B      What changed from version A to version B (unified diff)\n"
    "  rollback V    Makes a new version with version V's files";

// fleet.yaml and every regular file below `dir` by relative path; hidden files and directories
// (a name starting with '.') are skipped.
Result<std::map<std::string, std::string>> ReadFleetDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::InvalidArgument(dir + " is not a directory");
  if (!fs::is_regular_file(fs::path(dir) / "fleet.yaml", ec)) {
    return Status::InvalidArgument(dir + " has no fleet.yaml");
  }
  std::map<std::string, std::string> files;
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) return Status::IoError("reading " + dir + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError("reading " + dir + ": " + ec.message());
    const fs::path& path = it->path();
    if (path.filename().string().starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in) return Status::IoError("reading " + path.string());
    files[fs::relative(path, dir, ec).generic_string()] = content.str();
  }
  return files;
}

int Publish(const HubConnection& hub, const std::string& dir) {
  auto files = ReadFleetDir(dir);
  if (!files.ok()) {
    std::cerr << "vigilctl: " << files.status().message() << "\n";
    return kExitUsage;
  }
  auto archive = tar::Write(*files);
  if (!archive.ok()) {
    std::cerr << "vigilctl: " << dir << ": " << archive.status().message() << "\n";
    return kExitUsage;
  }
  auto reply = agent::net::HttpCall(hub.options(), "POST", "/api/v1/config", hub.AuthHeaders(),
                                    *archive, "application/x-tar");
  if (!reply.ok()) return Fail(reply.status());
  rapidjson::Document doc;
  doc.Parse(reply->body.data(), reply->body.size());
  if (reply->status == 422 && doc.IsObject() && doc.HasMember("problems") &&
      doc["problems"].IsArray()) {
    std::cerr << "vigilctl: the hub refused the config: "
              << (doc.HasMember("error") ? MemberText(doc["error"], "message") : "") << "\n";
    for (const auto& p : doc["problems"].GetArray()) {
      std::string line = MemberText(p, "file");
      if (const std::string pointer = MemberText(p, "pointer"); !pointer.empty()) {
        line += ": " + pointer;
      }
      if (const std::string check = MemberText(p, "check"); !check.empty()) {
        line += ": check " + check;
      }
      std::cout << line << ": " << MemberText(p, "message") << "\n";
    }
    return kExitFailed;
  }
  if (reply->status >= 400) {
    std::cerr << "vigilctl: HTTP " << reply->status << ": "
              << agent::net::ErrorMessageOf(reply->body) << "\n";
    return kExitFailed;
  }
  std::cout << "published version " << MemberText(doc, "version") << " (" << files->size()
            << " files)\n";
  return kExitOk;
}

}  // namespace

int RunConfig(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl config publish DIR | history [--json] | diff A B | rollback V", kSummary);
  flags.Bool("json", "Print the hub's JSON (history)");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  const auto& positionals = flags.positionals();
  const std::string verb = positionals.empty() ? "" : positionals[0];
  if (verb == "publish" && positionals.size() == 2) return Publish(*hub, positionals[1]);
  if (verb == "history" && positionals.size() == 1) {
    auto list = hub->CallJson("GET", "/api/v1/config/history");
    if (!list.ok()) return Fail(list.status());
    if (flags.IsSet("json") || !list->IsArray()) {
      std::cout << Compact(*list) << "\n";
      return kExitOk;
    }
    auto writer = MakeWriter(::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList,
                             true, std::cout);
    writer->Begin(
        {"version", "current", "published_at", "published_by", "note", "files", "digest"});
    for (const auto& item : list->GetArray()) {
      const size_t files = item.IsObject() && item.HasMember("files") && item["files"].IsArray()
                               ? item["files"].Size()
                               : 0;
      writer->AddRow({MemberText(item, "version"), MemberText(item, "current"),
                      MemberText(item, "published_at"), MemberText(item, "published_by"),
                      MemberText(item, "note"), std::to_string(files),
                      MemberText(item, "digest").substr(0, 12)});
    }
    writer->End();
    return kExitOk;
  }
  if (verb == "diff" && positionals.size() == 3) {
    auto reply = hub->Call("GET", "/api/v1/config/diff?from=" + PathSegment(positionals[1]) +
                                      "&to=" + PathSegment(positionals[2]));
    if (!reply.ok()) return Fail(reply.status());
    std::cout << reply->body;
    return kExitOk;
  }
  if (verb == "rollback" && positionals.size() == 2) {
    auto version = ParseCount(positionals[1], "the version");
    if (!version.ok() || *version <= 0) {
      std::cerr << "vigilctl: config rollback takes a version number (1 or more)\n";
      return kExitUsage;
    }
    const std::string body = "{\"version\":" + std::to_string(*version) + "}";
    auto made = hub->CallJson("POST", "/api/v1/config/rollback", body);
    if (!made.ok()) return Fail(made.status());
    std::cout << "published version " << MemberText(*made, "version") << " (rollback to "
              << *version << ")\n";
    return kExitOk;
  }
  std::cerr << "vigilctl: config takes `publish DIR`, `history`, `diff A B` or `rollback V`\n";
  return kExitUsage;
}

}  // namespace vigil::cli::ctl
