#include "server/config_service.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "engine/digest.h"

namespace vigil::server {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Removes a directory tree when it goes out of scope.
class TreeRemover {
 public:
  explicit TreeRemover(std::string path) : path_(std::move(path)) {}
  ~TreeRemover() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TreeRemover(const TreeRemover&) = delete;
  TreeRemover& operator=(const TreeRemover&) = delete;

 private:
  std::string path_;
};

Status WriteWhole(const std::string& path, std::string_view content, std::string_view name) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST || errno == EISDIR || errno == ENOTDIR) {
      return Status::InvalidArgument("config file '" + std::string(name) +
                                     "' clashes with a directory of the same name");
    }
    return Status::FromErrno(errno, "writing " + path);
  }
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "writing " + path);
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0) return Status::FromErrno(errno, "closing " + path);
  return Status::Ok();
}

// Creates the directories above `relative` inside `root` (which exists).
Status MakeParents(const std::string& root, std::string_view relative) {
  for (size_t slash = relative.find('/'); slash != std::string_view::npos;
       slash = relative.find('/', slash + 1)) {
    const std::string dir = root + "/" + std::string(relative.substr(0, slash));
    if (::mkdir(dir.c_str(), 0700) == 0) continue;
    if (errno == EEXIST) {
      struct stat st {};
      if (::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      return Status::InvalidArgument("config file '" + std::string(relative) + "': '" +
                                     std::string(relative.substr(0, slash)) +
                                     "' is a file, not a directory");
    }
    return Status::FromErrno(errno, "creating " + dir);
  }
  return Status::Ok();
}

std::string AuditDetail(const ConfigVersionRecord& record,
                        const std::optional<uint64_t>& rollback_to) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("digest");
  w.String(record.digest.c_str());
  w.Key("files");
  w.Uint64(record.files.size());
  if (rollback_to) {
    w.Key("rollback_to");
    w.Uint64(*rollback_to);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

ConfigVersionInfo InfoOf(const ConfigVersionRecord& record) {
  ConfigVersionInfo info;
  info.version = record.version;
  info.published_at = record.published_at;
  info.published_by = record.published_by;
  info.digest = record.digest;
  info.note = record.note;
  info.files = record.paths;
  return info;
}

}  // namespace

std::string ConfigDigest(const std::map<std::string, std::string>& files) {
  Digest digest(Digest::Algorithm::kSha256);
  for (const auto& [path, content] : files) {
    digest.Update(std::to_string(path.size()) + ":");
    digest.Update(path);
    digest.Update("," + std::to_string(content.size()) + ":");
    digest.Update(content);
    digest.Update(",");
  }
  return digest.HexFinal();
}

ConfigService::ConfigService(HubStore& store, SigningKey key, std::string work_dir)
    : store_(store), key_(std::move(key)), work_dir_(std::move(work_dir)) {}

Result<std::unique_ptr<ConfigService>> ConfigService::Open(HubStore& store, SigningKey key,
                                                           std::string work_dir) {
  if (work_dir.empty()) return Status::InvalidArgument("the config work directory is not set");
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    return Status::IoError("creating the config work directory " + work_dir + ": " + ec.message());
  }
  ::chmod(work_dir.c_str(), 0700);
  std::unique_ptr<ConfigService> service(
      new ConfigService(store, std::move(key), std::move(work_dir)));
  VIGIL_ASSIGN_OR_RETURN(auto versions, store.ListConfigVersions());
  if (!versions.empty()) service->newest_ = versions.front().version;
  VIGIL_ASSIGN_OR_RETURN(uint64_t current, store.CurrentConfigVersion());
  if (current == 0) return service;
  VIGIL_ASSIGN_OR_RETURN(auto record, store.GetConfigVersion(current));
  if (!record) {
    return Status::Corruption("hub store: the current config version " + std::to_string(current) +
                              " is not stored");
  }
  auto fleet = service->Materialize(record->files);
  if (!fleet.ok()) {
    return fleet.status().WithContext("loading config version " + std::to_string(current));
  }
  service->version_ = current;
  service->fleet_ = std::make_shared<const FleetDefinition>(*std::move(fleet));
  return service;
}

const std::string& ConfigService::public_key() const { return key_.public_key; }

Result<FleetDefinition> ConfigService::Materialize(
    const std::map<std::string, std::string>& files) const {
  if (files.size() > limits_.max_members) {
    return Status::InvalidArgument("the config has " + std::to_string(files.size()) +
                                   " files, more than the limit of " +
                                   std::to_string(limits_.max_members));
  }
  size_t total = 0;
  for (const auto& [path, content] : files) {
    if (Status s = tar::CheckMemberPath(path); !s.ok()) {
      return Status::InvalidArgument("config file: " + s.message());
    }
    if (content.size() > limits_.max_member_bytes) {
      return Status::InvalidArgument(
          "config file '" + path + "' is " + std::to_string(content.size()) +
          " bytes, more than the limit of " + std::to_string(limits_.max_member_bytes));
    }
    total += content.size();
  }
  if (total > limits_.max_total_bytes) {
    return Status::InvalidArgument("the config's files are " + std::to_string(total) +
                                   " bytes, more than the limit of " +
                                   std::to_string(limits_.max_total_bytes));
  }
  std::string dir = work_dir_ + "/fleet-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    return Status::FromErrno(errno, "making a directory under " + work_dir_);
  }
  TreeRemover remove(dir);
  for (const auto& [path, content] : files) {
    VIGIL_RETURN_IF_ERROR(MakeParents(dir, path));
    VIGIL_RETURN_IF_ERROR(WriteWhole(dir + "/" + path, content, path));
  }
  return LoadFleetDir(dir);
}

Result<PublishOutcome> ConfigService::Publish(const std::map<std::string, std::string>& files,
                                              std::string_view actor) {
  std::lock_guard publishing(publish_mutex_);
  PublishOutcome outcome;
  if (!files.contains(kFleetFile)) {
    outcome.problems.push_back(
        {kFleetFile, "", "", "the config has no fleet.yaml (it names the nodes, roles and packs)"});
    return outcome;
  }
  VIGIL_ASSIGN_OR_RETURN(FleetDefinition fleet, Materialize(files));
  outcome.problems = ValidateFleetForPublish(fleet);
  if (!outcome.problems.empty()) return outcome;
  ConfigVersionRecord record;
  record.published_at = NowMs();
  record.published_by = std::string(actor);
  record.digest = ConfigDigest(files);
  record.files = files;
  VIGIL_ASSIGN_OR_RETURN(outcome.version, Install(std::move(record), std::move(fleet),
                                                  "config.publish", std::nullopt));
  return outcome;
}

Result<uint64_t> ConfigService::Rollback(uint64_t version, std::string_view actor) {
  std::lock_guard publishing(publish_mutex_);
  VIGIL_ASSIGN_OR_RETURN(auto old, store_.GetConfigVersion(version));
  if (!old) return Status::NotFound("no config version " + std::to_string(version));
  VIGIL_ASSIGN_OR_RETURN(FleetDefinition fleet, Materialize(old->files));
  // The hub's tables and enforcers may have changed since: what agents get must still pass.
  std::vector<packs::Problem> problems = ValidateFleetForPublish(fleet);
  if (!problems.empty()) {
    return Status::FailedPrecondition("config version " + std::to_string(version) +
                                      " no longer passes validation:\n" + ProblemsText(problems));
  }
  ConfigVersionRecord record;
  record.published_at = NowMs();
  record.published_by = std::string(actor);
  record.digest = old->digest;
  record.note = "rollback to " + std::to_string(version);
  record.files = std::move(old->files);
  return Install(std::move(record), std::move(fleet), "config.rollback", version);
}

Result<uint64_t> ConfigService::Install(ConfigVersionRecord record, FleetDefinition fleet,
                                        std::string_view action,
                                        std::optional<uint64_t> rollback_to) {
  record.version = newest_ + 1;
  VIGIL_RETURN_IF_ERROR(store_.PutConfigVersion(record));
  newest_ = record.version;
  std::vector<std::function<void(uint64_t)>> listeners;
  {
    auto shared = std::make_shared<const FleetDefinition>(std::move(fleet));
    std::lock_guard lock(mutex_);
    version_ = record.version;
    fleet_ = std::move(shared);
    messages_.clear();
    scopes_.clear();
    listeners = listeners_;
  }
  // The version is current (stored and in memory) from here on, even if the audit fails.
  Result<audit::Record> audited =
      store_.audit().Append(record.published_by, action, std::to_string(record.version),
                            AuditDetail(record, rollback_to));
  for (const auto& listener : listeners) listener(record.version);
  if (!audited.ok()) {
    return audited.status().WithContext("recording " + std::string(action) + " of config version " +
                                        std::to_string(record.version) + " in the audit chain");
  }
  return record.version;
}

Result<std::vector<ConfigVersionInfo>> ConfigService::History() const {
  VIGIL_ASSIGN_OR_RETURN(auto records, store_.ListConfigVersions());
  std::vector<ConfigVersionInfo> history;
  history.reserve(records.size());
  for (const ConfigVersionRecord& record : records) history.push_back(InfoOf(record));
  return history;
}

Result<std::map<std::string, std::string>> ConfigService::Files(uint64_t version) const {
  VIGIL_ASSIGN_OR_RETURN(auto record, store_.GetConfigVersion(version));
  if (!record) return Status::NotFound("no config version " + std::to_string(version));
  return std::move(record->files);
}

Result<ConfigVersionInfo> ConfigService::Info(uint64_t version) const {
  VIGIL_ASSIGN_OR_RETURN(auto record, store_.GetConfigVersion(version));
  if (!record) return Status::NotFound("no config version " + std::to_string(version));
  return InfoOf(*record);
}

uint64_t ConfigService::current_version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

Result<std::optional<std::string>> ConfigService::MessageFor(std::string_view host_identifier,
                                                             std::string_view hostname) const {
  uint64_t version = 0;
  std::shared_ptr<const FleetDefinition> fleet;
  {
    std::lock_guard lock(mutex_);
    version = version_;
    fleet = fleet_;
  }
  if (!fleet) return std::optional<std::string>();
  const NodeRule* rule = MatchNode(*fleet, host_identifier, hostname);
  if (rule == nullptr) return std::optional<std::string>();
  const size_t index = static_cast<size_t>(rule - fleet->nodes.data());
  auto cached = [&]() -> std::shared_ptr<const std::string> {
    std::lock_guard lock(mutex_);
    if (version_ != version) return nullptr;
    auto it = messages_.find(index);
    return it == messages_.end() ? nullptr : it->second;
  };
  if (auto hit = cached()) return std::optional<std::string>(*hit);
  std::lock_guard rendering(render_mutex_);
  if (auto hit = cached()) return std::optional<std::string>(*hit);  // rendered meanwhile
  VIGIL_ASSIGN_OR_RETURN(std::string json,
                         NodeConfigFor(*fleet, host_identifier, hostname, version));
  VIGIL_ASSIGN_OR_RETURN(std::string signed_message, SignedConfigMessage(key_, json));
  auto message = std::make_shared<const std::string>(std::move(signed_message));
  {
    std::lock_guard lock(mutex_);
    ++rendered_;
    if (version_ == version) messages_[index] = message;
  }
  return std::optional<std::string>(*message);
}

Result<std::optional<NodeScope>> ConfigService::ScopeFor(std::string_view host_identifier,
                                                         std::string_view hostname) const {
  using Scope = std::optional<NodeScope>;
  uint64_t version = 0;
  std::shared_ptr<const FleetDefinition> fleet;
  {
    std::lock_guard lock(mutex_);
    version = version_;
    fleet = fleet_;
  }
  if (!fleet) return Scope();
  const NodeRule* rule = MatchNode(*fleet, host_identifier, hostname);
  if (rule == nullptr) return Scope(NodeScope{});
  const size_t index = static_cast<size_t>(rule - fleet->nodes.data());
  {
    std::lock_guard lock(mutex_);
    if (auto it = scopes_.find(index); version_ == version && it != scopes_.end()) {
      return Scope(*it->second);
    }
  }
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> message, MessageFor(host_identifier, hostname));
  auto scope = std::make_shared<NodeScope>();
  if (message) {
    rapidjson::Document doc;
    doc.Parse(message->data(), message->size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("packs") ||
        !doc["packs"].IsArray()) {
      return Status::Internal("the config message of version " + std::to_string(version) +
                              " has no packs array");
    }
    if (doc.HasMember("target_sl") && doc["target_sl"].IsInt()) {
      scope->target_sl = doc["target_sl"].GetInt();
    }
    for (const auto& pack : doc["packs"].GetArray()) {
      if (!pack.IsObject() || !pack.HasMember("checks") || !pack["checks"].IsObject()) continue;
      for (const auto& check : pack["checks"].GetObject()) {
        scope->checks.emplace(check.name.GetString(), check.name.GetStringLength());
      }
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (version_ == version) scopes_[index] = scope;
  }
  return Scope(*scope);
}

std::vector<std::string> ConfigService::RolesFor(std::string_view host_identifier,
                                                 std::string_view hostname) const {
  std::shared_ptr<const FleetDefinition> fleet;
  {
    std::lock_guard lock(mutex_);
    fleet = fleet_;
  }
  if (!fleet) return {};
  const NodeRule* rule = MatchNode(*fleet, host_identifier, hostname);
  return rule == nullptr ? std::vector<std::string>() : rule->roles;
}

std::optional<std::string> ConfigService::Catalog() const {
  std::shared_ptr<const FleetDefinition> fleet;
  {
    std::lock_guard lock(mutex_);
    fleet = fleet_;
  }
  if (!fleet) return std::nullopt;
  return fleet->catalog;
}

void ConfigService::OnChange(std::function<void(uint64_t version)> listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

uint64_t ConfigService::messages_rendered() const {
  std::lock_guard lock(mutex_);
  return rendered_;
}

}  // namespace vigil::server
