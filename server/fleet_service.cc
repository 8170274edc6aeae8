#include "server/fleet_service.h"

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <iostream>
#include <limits>
#include <unordered_set>
#include <utility>

namespace vigil::server {
namespace {

constexpr size_t kRecoverCampaigns = 10'000;  // the newest campaigns looked at on start

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A parsed campaign target: the union of its items.
struct Target {
  bool all = false;
  std::vector<std::string> roles;
  std::vector<std::string> globs;  // host identifiers and globs over them and hostnames
};

Result<Target> ParseTarget(std::string_view text) {
  Target target;
  const std::string quoted = "campaign target \"" + std::string(text) + "\"";
  if (Trim(text).empty()) {
    return Status::InvalidArgument(
        "campaign target is empty: give \"all\", \"role:NAME\" or host identifiers and globs");
  }
  size_t start = 0, n = 1;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item = Trim(text.substr(start, comma - start));
    if (item.empty()) {
      return Status::InvalidArgument(quoted + ": item " + std::to_string(n) + " is empty");
    }
    if (item == "all") {
      target.all = true;
    } else if (item.substr(0, 5) == "role:") {
      const std::string_view role = Trim(item.substr(5));
      if (role.empty()) {
        return Status::InvalidArgument(quoted + ": item " + std::to_string(n) +
                                       " \"role:\" names no role");
      }
      target.roles.emplace_back(role);
    } else {
      target.globs.emplace_back(item);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
    ++n;
  }
  return target;
}

// `roles`: the node's, computed only when the target names roles.
bool Matches(const Target& target, const NodeRecord& node,
             const std::function<std::vector<std::string>()>& roles_of) {
  if (target.all) return true;
  if (!target.roles.empty()) {
    const std::vector<std::string> roles = roles_of();
    for (const std::string& role : target.roles) {
      if (std::find(roles.begin(), roles.end(), role) != roles.end()) return true;
    }
  }
  for (const std::string& glob : target.globs) {
    if (::fnmatch(glob.c_str(), node.host_identifier.c_str(), 0) == 0) return true;
    if (!node.hostname.empty() && ::fnmatch(glob.c_str(), node.hostname.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

// The totals of a campaign that takes no more answers: a node that never answered is offline.
CampaignTotals FinishedTotals(const CampaignRecord& campaign,
                              const std::vector<AnswerRecord>& answers) {
  CampaignTotals totals;
  totals.expected = campaign.expected.size();
  for (const AnswerRecord& answer : answers) {
    if (answer.status == AnswerRecord::Status::kOk) {
      ++totals.answered;
    } else {
      ++totals.failed;
    }
  }
  totals.offline = totals.expected - std::min(totals.expected, totals.answered + totals.failed);
  return totals;
}

// The watch of a campaign that had finished: everything was replayed at once.
class DoneWatch : public CampaignWatch {};

}  // namespace

// A running campaign. Guarded by the service's mu_.
struct FleetService::Campaign {
  CampaignRecord record;
  std::string query_text;                 // the `query` message every node gets
  std::unordered_set<std::string> expected;
  std::unordered_set<std::string> answered;
  std::unordered_set<std::string> offline;  // expected, not answered, without the query
  CampaignTotals totals;
  bool finished = false;
  std::map<uint64_t, std::shared_ptr<Watcher>> watchers;  // by watch id

  void SetOffline(const std::string& host, bool is_offline) {
    if (is_offline) {
      offline.insert(host);
    } else {
      offline.erase(host);
    }
    totals.offline = offline.size();
  }
};

// One watcher's queue of events, delivered by one thread at a time (Deliver) outside mu_.
// Guarded by its own mu (the observer is called without it).
struct FleetService::Watcher {
  explicit Watcher(CampaignObserver observer_in) : observer(std::move(observer_in)) {}

  const CampaignObserver observer;
  std::mutex mu;
  std::condition_variable idle;     // notified when an observer call returns
  std::deque<CampaignEvent> queue;
  std::unordered_set<std::string> seen;  // nodes whose answer is queued or delivered
  bool replaying = true;  // WatchCampaign is still putting the stored answers in front
  bool draining = false;  // a Deliver() is emptying the queue
  bool calling = false;   // the observer is running now
  std::thread::id caller; // on this thread
  bool active = true;     // false once the watch is destroyed
};

class FleetService::Watch : public CampaignWatch {
 public:
  Watch(FleetService& fleet, std::shared_ptr<Campaign> campaign, uint64_t id,
        std::shared_ptr<Watcher> watcher)
      : fleet_(fleet), campaign_(std::move(campaign)), id_(id), watcher_(std::move(watcher)) {}
  ~Watch() override { fleet_.Unwatch(campaign_, id_, watcher_); }

 private:
  FleetService& fleet_;
  const std::shared_ptr<Campaign> campaign_;
  const uint64_t id_;
  const std::shared_ptr<Watcher> watcher_;
};

void FleetService::EmitLocked(Campaign& campaign, const CampaignEvent& event,
                              Deliveries& deliveries) {
  for (const auto& [id, watcher] : campaign.watchers) {
    std::lock_guard<std::mutex> lock(watcher->mu);
    if (!watcher->active) continue;
    // An answer read from the store while the watch started is not sent twice.
    if (event.kind == CampaignEvent::Kind::kAnswer &&
        !watcher->seen.insert(event.answer.host_identifier).second) {
      continue;
    }
    watcher->queue.push_back(event);
    if (!watcher->replaying) deliveries.push_back(watcher);
  }
}

void FleetService::EndIfSettledLocked(Campaign& campaign, int64_t now) {
  if (campaign.finished || campaign.record.deadline <= now) return;
  const bool waiting = campaign.record.wait_until > now;
  const size_t settled = campaign.answered.size() + (waiting ? 0 : campaign.offline.size());
  if (settled < campaign.expected.size()) return;
  campaign.record.deadline = now;
  timer_cv_.notify_all();
}

void FleetService::Deliver(const std::shared_ptr<Watcher>& watcher) {
  std::unique_lock<std::mutex> lock(watcher->mu);
  if (watcher->draining || watcher->replaying) return;
  watcher->draining = true;
  while (watcher->active && !watcher->queue.empty()) {
    CampaignEvent event = std::move(watcher->queue.front());
    watcher->queue.pop_front();
    watcher->calling = true;
    watcher->caller = std::this_thread::get_id();
    lock.unlock();
    watcher->observer(event);
    lock.lock();
    watcher->calling = false;
    watcher->idle.notify_all();
  }
  watcher->draining = false;
}

void FleetService::Unwatch(const std::shared_ptr<Campaign>& campaign, uint64_t watch_id,
                           const std::shared_ptr<Watcher>& watcher) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    campaign->watchers.erase(watch_id);
  }
  std::unique_lock<std::mutex> lock(watcher->mu);
  watcher->active = false;
  watcher->queue.clear();
  // An observer that drops its own watch returns to Deliver(), which then stops.
  if (watcher->caller != std::this_thread::get_id()) {
    watcher->idle.wait(lock, [&] { return !watcher->calling; });
  }
}

// ---- the service

FleetService::FleetService(HubStore& store, FleetOptions options)
    : store_(store), options_(std::move(options)) {}

Result<std::unique_ptr<FleetService>> FleetService::Create(HubStore& store,
                                                           FleetOptions options) {
  std::unique_ptr<FleetService> fleet(new FleetService(store, std::move(options)));
  VIGIL_RETURN_IF_ERROR(fleet->Recover());
  fleet->timer_ = std::thread([f = fleet.get()] { f->TimerLoop(); });
  return fleet;
}

FleetService::~FleetService() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

int64_t FleetService::Now() const { return options_.clock ? options_.clock() : SystemNowMs(); }

void FleetService::Log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << "vigil-hub: " << line << std::endl;
  }
}

Status FleetService::Recover() {
  const int64_t now = Now();
  // Connections the last hub process did not see end (it was killed) ended when their nodes
  // were last heard from: reports for a past time must not show them connected since.
  VIGIL_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, store_.ListNodes());
  for (const NodeRecord& node : nodes) {
    VIGIL_ASSIGN_OR_RETURN(NodePresence presence, store_.PresenceAt(node.host_identifier, now));
    if (presence.online) {
      VIGIL_RETURN_IF_ERROR(store_.RecordDisconnected(
          node.host_identifier, std::max(presence.since_ms, node.last_seen * 1000)));
    }
  }
  VIGIL_ASSIGN_OR_RETURN(std::vector<CampaignRecord> campaigns,
                         store_.ListCampaigns(kRecoverCampaigns));
  for (CampaignRecord& record : campaigns) {
    if (record.finished) continue;
    if (record.deadline <= now) {
      record.finished = true;
      VIGIL_RETURN_IF_ERROR(store_.PutCampaign(record));
      continue;
    }
    VIGIL_ASSIGN_OR_RETURN(std::vector<AnswerRecord> answers, store_.Answers(record.id));
    auto campaign = std::make_shared<Campaign>();
    campaign->query_text = wire::Encode(wire::Query{
        record.id, record.sql, record.timeout_ms, options_.decode_limits.max_rows});
    campaign->expected.insert(record.expected.begin(), record.expected.end());
    campaign->totals.expected = campaign->expected.size();
    for (const AnswerRecord& answer : answers) {
      campaign->answered.insert(answer.host_identifier);
      ++(answer.status == AnswerRecord::Status::kOk ? campaign->totals.answered
                                                    : campaign->totals.failed);
    }
    for (const std::string& host : campaign->expected) {
      if (!campaign->answered.count(host)) campaign->SetOffline(host, true);
    }
    campaign->record = std::move(record);
    running_.emplace(campaign->record.id, std::move(campaign));
  }
  return Status::Ok();
}

std::vector<std::string> FleetService::OnlineNodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> hosts;
  hosts.reserve(online_.size());
  for (const auto& [host, online] : online_) hosts.push_back(host);
  return hosts;
}

void FleetService::SetOnline(const std::string& host, const std::string& hostname,
                             uint64_t config_version, std::shared_ptr<AgentChannel> channel) {
  std::shared_ptr<AgentChannel> replaced;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, added] = online_.try_emplace(host, Online{channel, hostname, config_version, 0});
    if (added) {
      metrics_.online_nodes.fetch_add(1, std::memory_order_relaxed);
    } else {
      replaced = std::move(it->second.channel);
      it->second = Online{std::move(channel), hostname, config_version, 0};
    }
  }
  if (replaced) replaced->Close("replaced by a newer connection of this node");
}

void FleetService::SendConfig(const std::string& host, const std::string& hostname,
                              uint64_t running, const std::shared_ptr<AgentChannel>& channel) {
  if (!options_.config_version || !options_.config_message) return;
  const uint64_t current = options_.config_version();
  if (current == 0 || running >= current) return;
  auto message = options_.config_message(host, hostname);
  if (!message.ok()) {
    Log("node '" + host + "': its config could not be made: " + message.status().ToString());
    return;
  }
  if (!*message) return;  // no rule of the fleet config matches the node
  if (!channel->Send(std::move(**message))) return;
  metrics_.configs_sent.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = online_.find(host); it != online_.end() && it->second.channel == channel) {
    it->second.config_sent = std::max(it->second.config_sent, current);
  }
}

Result<bool> FleetService::SetRunning(const std::string& host,
                                      const std::shared_ptr<AgentChannel>& channel,
                                      uint64_t version, const std::string& error) {
  std::lock_guard<std::mutex> writing(node_write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = online_.find(host);
    if (it == online_.end() || it->second.channel != channel) return false;
    it->second.config_version = version;
  }
  VIGIL_ASSIGN_OR_RETURN(std::optional<NodeRecord> node, store_.GetNode(host));
  // A newer connection of the node may have stored its hello and not be online yet: the
  // record names the connection that wrote it last.
  if (!node || node->remote_address != channel->remote_address()) return false;
  if (node->config_version == version && node->config_error == error) return false;
  node->config_version = version;
  node->config_error = error;
  VIGIL_RETURN_IF_ERROR(store_.PutNode(*node));
  return true;
}

size_t FleetService::ConfigChanged() {
  if (!options_.config_version) return 0;
  const uint64_t current = options_.config_version();
  std::vector<std::tuple<std::string, std::string, uint64_t, std::shared_ptr<AgentChannel>>> nodes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [host, online] : online_) {
      if (online.config_version < current && online.config_sent < current) {
        nodes.emplace_back(host, online.hostname, online.config_version, online.channel);
      }
    }
  }
  const uint64_t before = metrics_.configs_sent.load(std::memory_order_relaxed);
  for (const auto& [host, hostname, running, channel] : nodes) {
    SendConfig(host, hostname, running, channel);
  }
  return metrics_.configs_sent.load(std::memory_order_relaxed) - before;
}

Status FleetService::SendToNode(std::string_view host_identifier, std::string frame) {
  std::shared_ptr<AgentChannel> channel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = online_.find(host_identifier); it != online_.end()) channel = it->second.channel;
  }
  const std::string name(host_identifier);
  if (!channel) return Status::Unavailable("node '" + name + "' is not online");
  if (!channel->Send(std::move(frame))) {
    return Status::Unavailable("node '" + name + "' is not taking messages (its queue is full)");
  }
  return Status::Ok();
}

std::vector<std::string> FleetService::RolesOf(const NodeRecord& node) const {
  if (options_.roles_for && options_.config_version && options_.config_version() > 0) {
    return options_.roles_for(node.host_identifier, node.hostname);
  }
  return node.roles;
}

bool FleetService::SetOffline(const std::string& host, uint64_t channel_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = online_.find(host);
  if (it == online_.end() || it->second.channel->id() != channel_id) return false;  // replaced
  online_.erase(it);
  metrics_.online_nodes.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

Status FleetService::RemoveNode(std::string_view host_identifier) {
  {
    std::lock_guard<std::mutex> writing(node_write_mu_);
    VIGIL_ASSIGN_OR_RETURN(std::optional<NodeRecord> node, store_.GetNode(host_identifier));
    if (!node) {
      return Status::NotFound("node '" + std::string(host_identifier) + "' is not enrolled");
    }
    VIGIL_RETURN_IF_ERROR(store_.DeleteNode(host_identifier));
  }
  std::shared_ptr<AgentChannel> channel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = online_.find(host_identifier); it != online_.end()) {
      channel = std::move(it->second.channel);
      online_.erase(it);
      metrics_.online_nodes.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (channel) channel->Close("this node was removed from the hub");
  Log("node '" + std::string(host_identifier) + "' removed");
  return Status::Ok();
}

Result<std::vector<std::string>> FleetService::ResolveTarget(std::string_view text) const {
  VIGIL_ASSIGN_OR_RETURN(Target target, ParseTarget(text));
  VIGIL_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, store_.ListNodes());
  std::vector<std::string> hosts;
  for (const NodeRecord& node : nodes) {  // ListNodes is in host identifier order
    if (Matches(target, node, [&] { return RolesOf(node); })) {
      hosts.push_back(node.host_identifier);
    }
  }
  return hosts;
}

Result<CampaignRecord> FleetService::StartCampaign(const CampaignSpec& spec) {
  if (Trim(spec.sql).empty()) return Status::InvalidArgument("campaign: the SQL is empty");
  if (spec.timeout_ms == 0) return Status::InvalidArgument("campaign: timeout_ms must be > 0");
  if (spec.deadline_ms == 0) return Status::InvalidArgument("campaign: deadline_ms must be > 0");
  if (spec.max_rows == 0) return Status::InvalidArgument("campaign: max_rows must be > 0");
  CampaignRecord record;
  VIGIL_ASSIGN_OR_RETURN(record.expected, ResolveTarget(spec.target));
  if (record.expected.size() > options_.max_campaign_nodes) {
    return Status::ResourceExhausted(
        "campaign target \"" + spec.target + "\" matches " +
        std::to_string(record.expected.size()) + " nodes, more than the limit of " +
        std::to_string(options_.max_campaign_nodes));
  }
  VIGIL_ASSIGN_OR_RETURN(record.id, store_.NextCampaignId());
  const int64_t now = Now();
  const uint64_t wait_ms = std::min(spec.wait_ms, options_.max_deadline_ms);
  const uint64_t deadline_ms = std::min(std::max(spec.deadline_ms, wait_ms),
                                        options_.max_deadline_ms);
  record.sql = spec.sql;
  record.target = spec.target;
  record.created_by = spec.created_by;
  record.created_at = now;
  record.deadline = now + static_cast<int64_t>(deadline_ms);
  record.wait_until = wait_ms > 0 ? now + static_cast<int64_t>(wait_ms) : 0;
  record.timeout_ms = spec.timeout_ms;
  VIGIL_RETURN_IF_ERROR(store_.PutCampaign(record));
  metrics_.campaigns_started.fetch_add(1, std::memory_order_relaxed);

  auto campaign = std::make_shared<Campaign>();
  campaign->record = record;
  campaign->query_text = wire::Encode(wire::Query{
      record.id, record.sql, record.timeout_ms,
      std::min<uint64_t>(spec.max_rows, options_.decode_limits.max_rows)});
  campaign->expected.insert(record.expected.begin(), record.expected.end());
  campaign->totals.expected = campaign->expected.size();
  std::vector<std::pair<std::string, std::shared_ptr<AgentChannel>>> to_send;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& host : record.expected) {
      auto it = online_.find(host);
      if (it == online_.end()) {
        campaign->SetOffline(host, true);
      } else {
        to_send.emplace_back(host, it->second.channel);
      }
    }
    running_.emplace(record.id, campaign);
  }
  timer_cv_.notify_all();

  std::vector<std::string> failed;
  for (auto& [host, channel] : to_send) {
    if (channel->Send(campaign->query_text)) {
      metrics_.queries_sent.fetch_add(1, std::memory_order_relaxed);
    } else {
      failed.push_back(host);
    }
  }
  if (!failed.empty()) MarkOffline(campaign, failed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EndIfSettledLocked(*campaign, now);
  }
  return record;
}

void FleetService::MarkOffline(const std::shared_ptr<Campaign>& campaign,
                               const std::vector<std::string>& hosts) {
  Deliveries deliveries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (campaign->finished) return;
    for (const std::string& host : hosts) {
      if (!campaign->answered.count(host)) campaign->SetOffline(host, true);
    }
    EmitLocked(*campaign, CampaignEvent{CampaignEvent::Kind::kTotals, {}, campaign->totals},
               deliveries);
    EndIfSettledLocked(*campaign, Now());
  }
  for (const auto& watcher : deliveries) Deliver(watcher);
}

void FleetService::SendPendingQueries(const std::string& host,
                                      const std::shared_ptr<AgentChannel>& channel) {
  const int64_t now = Now();
  std::vector<std::shared_ptr<Campaign>> pending;
  Deliveries deliveries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, campaign] : running_) {
      const CampaignRecord& record = campaign->record;
      if (record.wait_until <= now || record.deadline <= now) continue;
      if (!campaign->expected.count(host) || campaign->answered.count(host)) continue;
      pending.push_back(campaign);
      if (campaign->offline.count(host)) {
        campaign->SetOffline(host, false);
        EmitLocked(*campaign, CampaignEvent{CampaignEvent::Kind::kTotals, {}, campaign->totals},
                   deliveries);
      }
    }
  }
  for (const auto& watcher : deliveries) Deliver(watcher);
  for (const auto& campaign : pending) {
    if (channel->Send(campaign->query_text)) {
      metrics_.queries_sent.fetch_add(1, std::memory_order_relaxed);
    } else {
      MarkOffline(campaign, {host});
    }
  }
}

Status FleetService::TakeAnswer(const std::string& host, const wire::QueryResult& result) {
  const int64_t now = Now();
  std::shared_ptr<Campaign> campaign;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(result.id);
    if (it != running_.end() && !it->second->finished && it->second->record.deadline >= now &&
        it->second->expected.count(host) && !it->second->answered.count(host)) {
      campaign = it->second;
    }
  }
  if (!campaign) {
    metrics_.answers_ignored.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  AnswerRecord answer;
  answer.campaign_id = result.id;
  answer.host_identifier = host;
  answer.status = result.status == wire::QueryResult::Status::kOk ? AnswerRecord::Status::kOk
                                                                  : AnswerRecord::Status::kError;
  answer.columns = result.columns;
  answer.rows_json = wire::RowsJson(result.rows);
  answer.rows = result.rows.size();
  answer.rows_total = result.rows_total;
  answer.error = result.error;
  answer.duration_ms = result.duration_ms;
  answer.received_at = now;
  VIGIL_ASSIGN_OR_RETURN(bool first, store_.PutAnswer(answer));
  if (!first) {
    metrics_.answers_ignored.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  metrics_.answers_stored.fetch_add(1, std::memory_order_relaxed);
  Deliveries deliveries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (campaign->finished || !campaign->answered.insert(host).second) return Status::Ok();
    campaign->SetOffline(host, false);
    ++(answer.status == AnswerRecord::Status::kOk ? campaign->totals.answered
                                                  : campaign->totals.failed);
    EmitLocked(*campaign,
               CampaignEvent{CampaignEvent::Kind::kAnswer, std::move(answer), campaign->totals},
               deliveries);
    EndIfSettledLocked(*campaign, now);
  }
  for (const auto& watcher : deliveries) Deliver(watcher);
  return Status::Ok();
}

Result<CampaignTotals> FleetService::Totals(std::string_view id) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = running_.find(id); it != running_.end()) return it->second->totals;
  }
  VIGIL_ASSIGN_OR_RETURN(std::optional<CampaignRecord> record, store_.GetCampaign(id));
  if (!record) return Status::NotFound("campaign '" + std::string(id) + "' does not exist");
  VIGIL_ASSIGN_OR_RETURN(std::vector<AnswerRecord> answers, store_.Answers(id));
  return FinishedTotals(*record, answers);
}

Status FleetService::ReplayStored(std::string_view id, const CampaignObserver& observer) const {
  VIGIL_ASSIGN_OR_RETURN(std::optional<CampaignRecord> record, store_.GetCampaign(id));
  if (!record) return Status::NotFound("campaign '" + std::string(id) + "' does not exist");
  VIGIL_ASSIGN_OR_RETURN(std::vector<AnswerRecord> answers, store_.Answers(id));
  const CampaignTotals totals = FinishedTotals(*record, answers);
  for (AnswerRecord& answer : answers) {
    observer(CampaignEvent{CampaignEvent::Kind::kAnswer, std::move(answer), totals});
  }
  observer(CampaignEvent{CampaignEvent::Kind::kTotals, {}, totals});
  observer(CampaignEvent{CampaignEvent::Kind::kDone, {}, totals});
  return Status::Ok();
}

Result<std::unique_ptr<CampaignWatch>> FleetService::WatchCampaign(std::string_view id,
                                                                   CampaignObserver observer) {
  auto watcher = std::make_shared<Watcher>(std::move(observer));
  std::shared_ptr<Campaign> campaign;
  uint64_t watch_id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end() && !it->second->finished) {
      campaign = it->second;
      watch_id = next_watch_id_++;
      campaign->watchers.emplace(watch_id, watcher);
    }
  }
  if (!campaign) {
    // Finished (or finishing: its record may not say so yet, but it takes no more answers).
    VIGIL_RETURN_IF_ERROR(ReplayStored(id, watcher->observer));
    return std::unique_ptr<CampaignWatch>(std::make_unique<DoneWatch>());
  }
  auto watch = std::make_unique<Watch>(*this, campaign, watch_id, watcher);

  // Events that happen while the stored answers are read wait in the queue, behind them.
  VIGIL_ASSIGN_OR_RETURN(std::vector<AnswerRecord> stored, store_.Answers(id));
  {
    std::lock_guard<std::mutex> lock(mu_);
    const CampaignTotals totals = campaign->totals;
    std::unordered_set<std::string> replayed;
    std::deque<CampaignEvent> front;
    for (AnswerRecord& answer : stored) {
      replayed.insert(answer.host_identifier);
      watcher->seen.insert(answer.host_identifier);
      front.push_back(CampaignEvent{CampaignEvent::Kind::kAnswer, std::move(answer), totals});
    }
    front.push_back(CampaignEvent{CampaignEvent::Kind::kTotals, {}, totals});
    std::lock_guard<std::mutex> watcher_lock(watcher->mu);
    for (CampaignEvent& event : watcher->queue) {
      if (event.kind == CampaignEvent::Kind::kAnswer &&
          replayed.count(event.answer.host_identifier)) {
        continue;
      }
      event.totals = totals;  // queued before `totals` was read: none is newer
      front.push_back(std::move(event));
    }
    watcher->queue = std::move(front);
    watcher->replaying = false;
  }
  Deliver(watcher);
  return std::unique_ptr<CampaignWatch>(std::move(watch));
}

void FleetService::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const int64_t now = Now();
    std::vector<std::shared_ptr<Campaign>> due;
    int64_t next = std::numeric_limits<int64_t>::max();
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->record.deadline <= now) {
        due.push_back(std::move(it->second));
        it = running_.erase(it);
      } else {
        next = std::min(next, it->second->record.deadline);
        ++it;
      }
    }
    if (due.empty()) {
      // At most a second at a time: a test's clock may move without notifying.
      const int64_t wait = next == std::numeric_limits<int64_t>::max()
                               ? 1000
                               : std::clamp<int64_t>(next - now, 1, 1000);
      timer_cv_.wait_for(lock, std::chrono::milliseconds(wait));
      continue;
    }
    Deliveries deliveries;
    for (const auto& campaign : due) {
      campaign->finished = true;
      campaign->record.finished = true;
      // No more answers: a node that has the query and did not answer is offline too.
      for (const std::string& host : campaign->expected) {
        if (!campaign->answered.count(host)) campaign->offline.insert(host);
      }
      campaign->totals.offline = campaign->offline.size();
    }
    lock.unlock();
    for (const auto& campaign : due) {
      if (Status status = store_.PutCampaign(campaign->record); !status.ok()) {
        Log("campaign " + campaign->record.id + ": storing it finished failed: " +
            status.ToString());
      }
    }
    lock.lock();
    for (const auto& campaign : due) {
      EmitLocked(*campaign, CampaignEvent{CampaignEvent::Kind::kTotals, {}, campaign->totals},
                 deliveries);
      EmitLocked(*campaign, CampaignEvent{CampaignEvent::Kind::kDone, {}, campaign->totals},
                 deliveries);
      campaign->watchers.clear();
    }
    lock.unlock();
    for (const auto& watcher : deliveries) Deliver(watcher);
    lock.lock();
  }
}

}  // namespace vigil::server
