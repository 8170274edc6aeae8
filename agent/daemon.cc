#include "agent/daemon.h"

#include <malloc.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agent/agent_status.h"
#include "agent/extension/extension_server.h"
#include "agent/hub_client.h"
#include "agent/net/client.h"
#include "agent/outbox.h"
#include "agent/results_file.h"
#include "agent/schedule.h"
#include "agent/shared_engine.h"
#include "enforcers/applier.h"
#include "enforcers/builtin.h"
#include "enforcers/repair.h"
#include "engine/audit/chain.h"
#include "engine/digest.h"
#include "engine/packs/catalog.h"
#include "engine/packs/evaluate.h"
#include "engine/packs/loader.h"
#include "engine/packs/node_config.h"
#include "engine/packs/report.h"
#include "engine/results/result_log.h"
#include "engine/sql/database.h"
#include "engine/store/store.h"
#include "packs/bundle.h"
#include "tables/builtin.h"

namespace vigil::agent {
namespace {

using Clock = std::chrono::system_clock;

// Keys of the store's config family.
constexpr std::string_view kConfigKey = "config.current";       // the accepted config (JSON)
// Where config.current came from: kSourceHub (kept as the hub sent it, signature included, and
// verified again before use) or kSourceFile (a --config file, packs inlined).
constexpr std::string_view kConfigSourceKey = "config.source";
constexpr std::string_view kSourceHub = "hub";
constexpr std::string_view kSourceFile = "file";
constexpr std::string_view kAuditHeadSentKey = "outbox.audit_head";  // last audit head queued
// Keys of the results family: a scheduled query's last rows and run counter, a check's last
// verdict fingerprint.
constexpr std::string_view kRowsPrefix = "rows:";
constexpr std::string_view kCounterPrefix = "counter:";
constexpr std::string_view kVerdictPrefix = "verdict:";
constexpr std::string_view kRepairPrefix = "repair:";

constexpr std::string_view kDefaultConfig = R"({"packs": ["iec62443"], "enforce": "off"})";
constexpr size_t kMaxConfigBytes = 16u << 20;

std::string CheckItemName(const std::string& id) { return "check_" + id; }

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

// A config as the agent runs it: loaded and validated packs, and the SR catalogue.
struct RunningConfig {
  packs::NodeConfig node;
  std::string json;  // the resolved config as kept in the store (packs inlined)
  std::vector<packs::Pack> packs;
};

std::string Fingerprint(const packs::Verdict& v) {
  packs::Verdict copy = v;
  copy.time.clear();
  copy.duration_ms = 0;
  copy.remediation.reset();
  return std::string(packs::VerdictStatusName(v.status)) + " " +
         Sha256Hex(packs::VerdictJson(copy));
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

struct Daemon::Impl {
  DaemonOptions options;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<Schedule> schedule;
  std::unique_ptr<audit::AuditChain> chain;
  std::unique_ptr<ResultsFile> results;
  std::unique_ptr<AgentStatus> status;
  std::unique_ptr<SharedEngine> engine;
  std::unique_ptr<ExtensionServer> extensions;
  std::unique_ptr<HubClient> hub;  // with --hub; stopped before everything it borrows goes
  std::string host_identifier;
  RunningConfig config;
  Clock::time_point started = Clock::now();

  std::optional<HubClientOptions> hub_client_options;  // with --hub, checked by Open()
  // A config from the hub, loaded and kept, waiting for the start of the next cycle.
  std::mutex pending_mutex;
  std::optional<RunningConfig> pending_config;  // guarded by pending_mutex
  std::atomic<bool> config_pending{false};
  // Checks the hub's settings and reads the enroll secret into hub_client_options.
  Status OpenHub();

  // Held by a cycle and by a task for their whole run: the engine and the enforcers work on
  // the host for one of them at a time, and a task sees the config between cycles.
  std::mutex work;

  std::mutex wake_mutex;
  std::condition_variable wake;
  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};

  void Log(LogLevel level, const std::string& message) const {
    if (level > options.log_level) return;
    if (options.log) {
      options.log(level, message);
      return;
    }
    std::cerr << packs::NowRfc3339() << " " << LogLevelName(level) << " " << message << "\n";
  }

  // Parses, resolves and validates a config; nothing changes unless all of it loads.
  Result<RunningConfig> Load(const std::string& name, const std::string& text,
                             const std::string& base_dir) {
    VIGIL_ASSIGN_OR_RETURN(packs::NodeConfig node, packs::ParseNodeConfig(name, text));
    std::vector<packs::PackSource> sources = node.packs;
    std::optional<std::string> catalog_text = node.catalog;
    std::string catalog_name = name + "#/catalog";
    if (!node.pack_names.empty()) {
      auto bundle = packs::CollectPacks(node.pack_names, base_dir);
      if (!bundle.ok()) return Status(bundle.status()).WithContext(name);
      for (packs::PackSource& s : bundle->sources) sources.push_back(std::move(s));
      if (!catalog_text && bundle->catalog) {
        catalog_text = bundle->catalog;
        catalog_name = bundle->catalog_name;
      }
    }
    packs::Catalog catalog;
    if (catalog_text) {
      VIGIL_ASSIGN_OR_RETURN(catalog, packs::ParseCatalog(catalog_name, *catalog_text));
    }
    packs::LoadResult loaded = engine->Use([&](Database& db) {
      packs::LoadOptions load;
      load.database = &db;
      load.actions = &enforcers::ActionRegistry::Builtin();
      load.catalog = catalog_text ? &catalog : nullptr;
      return packs::LoadPackSources(sources, load);
    });
    if (!loaded.ok()) {
      std::string message;
      for (const packs::Problem& p : loaded.problems) {
        message += (message.empty() ? "" : "\n") + p.ToString();
      }
      return Status::InvalidArgument(message);
    }
    RunningConfig running;
    running.json = packs::NodeConfigJson(node, sources, catalog_text);
    running.node = std::move(node);
    running.packs = std::move(loaded.packs);
    return running;
  }

  // `source` is what vigil_agent's config_source says: hub, file, stored or default.
  void Adopt(RunningConfig running, std::string_view from, std::string_view source) {
    config = std::move(running);
    status->Update([&](AgentCounters& c) {
      c.config_version = config.node.version;
      c.roles = config.node.roles;
      c.enforce = std::string(packs::EnforceModeName(config.node.enforce));
      c.config_source = std::string(source);
    });
    size_t checks = 0, queries = 0;
    std::set<std::string> ids;
    for (const packs::Pack& p : config.packs) {
      checks += p.checks.size();
      queries += p.queries.size();
      for (const packs::Check& c : p.checks) ids.insert(c.id);
    }
    // A check the new config leaves out no longer counts as failing.
    std::erase_if(failing_by_check, [&](const auto& entry) { return !ids.count(entry.first); });
    Log(LogLevel::kInfo, "config " + std::to_string(config.node.version) + " from " +
                             std::string(from) + ": " + std::to_string(config.packs.size()) +
                             " packs, " + std::to_string(checks) + " checks, " +
                             std::to_string(queries) + " scheduled queries, enforce " +
                             std::string(packs::EnforceModeName(config.node.enforce)) +
                             ", target SL " + std::to_string(config.node.target_sl));
  }

  // With --config, the file (else the stored config when the file does not load); else the
  // stored config: one the hub sent only once its signature verifies again against the pinned
  // key, and with --hub only one the hub sent. Else the built-in default, until the hub's comes.
  Status LoadInitialConfig() {
    std::optional<std::string> stored;
    std::string source;
    {
      auto got = store->Get(store::Family::kConfig, kConfigKey);
      if (!got.ok()) return got.status();
      stored = std::move(*got);
      auto from = store->Get(store::Family::kConfig, kConfigSourceKey);
      if (!from.ok()) return from.status();
      // A store from before sources were kept holds a --config file's config.
      source = from->value_or(std::string(kSourceFile));
    }
    if (options.config_path) {
      Status s = LoadConfigFile();
      if (s.ok()) return s;
      if (!stored) return s;
      Log(LogLevel::kError, s.message());
      Log(LogLevel::kWarning, "running from the config kept in " + options.state_dir);
    }
    if (stored) {
      std::string refused;
      if (source == kSourceHub) {
        auto running = LoadStoredHubConfig(*stored);
        if (running.ok()) {
          Adopt(std::move(*running), "the hub, kept in the state directory", "stored");
          return Status::Ok();
        }
        refused = running.status().message();
      } else if (!options.hub_url.empty()) {
        refused = "the config kept in " + options.state_dir +
                  " came from a --config file, not from the hub; not used with --hub";
      } else {
        auto running = Load("stored config", *stored, "");
        if (!running.ok()) {
          return Status::Corruption("the config kept in " + options.state_dir +
                                    " no longer loads (give --config FILE): " +
                                    running.status().message());
        }
        Adopt(std::move(*running), "the state directory", "stored");
        return Status::Ok();
      }
      Log(LogLevel::kError, refused + "; running the built-in default" +
                                (options.hub_url.empty() ? "" : " until the hub sends a config"));
      status->Update([&](AgentCounters& c) { c.config_error = refused; });
    }
    auto running = Load("built-in default config", std::string(kDefaultConfig), "");
    if (!running.ok()) return running.status();
    Adopt(std::move(*running), "the built-in default (iec62443, report only)", "default");
    return Status::Ok();
  }

  // The hub's config kept in the store, verified again against the pinned key, then loaded.
  Result<RunningConfig> LoadStoredHubConfig(const std::string& json) {
    const std::string what = "the hub's config kept in " + options.state_dir;
    if (Status s = VerifyPinnedConfig(*store, json); !s.ok()) {
      return Status::PermissionDenied(what + ": " + s.message());
    }
    auto running = LoadHubConfig(json);
    if (!running.ok()) {
      return Status::InvalidArgument(what + " no longer loads: " + running.status().message());
    }
    return running;
  }

  // A config message from the hub (its signature already verified): parsed and its packs loaded.
  // `json` stays as received, so the signature can be verified again after a restart.
  Result<RunningConfig> LoadHubConfig(const std::string& json) {
    VIGIL_ASSIGN_OR_RETURN(packs::NodeConfig node, packs::ParseNodeConfig("config", json));
    if (!node.pack_names.empty()) {
      return Status::InvalidArgument("config " + std::to_string(node.version) + " names packs (" +
                                     node.pack_names.front() +
                                     "); a hub's config carries its packs as objects");
    }
    VIGIL_ASSIGN_OR_RETURN(RunningConfig running,
                           Load("config " + std::to_string(node.version), json, ""));
    running.json = json;
    return running;
  }

  // HubClientOptions::on_config, on the hub link's thread: loads and keeps the hub's config
  // and wakes the cycle loop, which adopts it before its next cycle (AdoptPending).
  Status TakeHubConfig(const std::string& json) {
    VIGIL_ASSIGN_OR_RETURN(RunningConfig running, LoadHubConfig(json));
    std::vector<store::Mutation> writes{
        store::Mutation::Put(store::Family::kConfig, std::string(kConfigKey), json),
        store::Mutation::Put(store::Family::kConfig, std::string(kConfigSourceKey),
                             std::string(kSourceHub))};
    if (Status s = store->Write(writes, {.sync = true}); !s.ok()) {
      return Status(s).WithContext("keeping the config in " + options.state_dir);
    }
    {
      std::lock_guard lock(pending_mutex);
      pending_config = std::move(running);
    }
    std::lock_guard lock(wake_mutex);
    config_pending = true;
    wake.notify_all();
    return Status::Ok();
  }

  // Between cycles: the config the hub sent last, if one waits.
  void AdoptPending() {
    if (!config_pending.exchange(false)) return;
    std::optional<RunningConfig> next;
    {
      std::lock_guard lock(pending_mutex);
      next.swap(pending_config);
    }
    if (next) Adopt(std::move(*next), "the hub", "hub");
  }

  Status LoadConfigFile() {
    const std::string& path = *options.config_path;
    VIGIL_ASSIGN_OR_RETURN(auto machine, Host::Open("/"));
    std::error_code ec;
    std::string absolute = std::filesystem::absolute(path, ec).string();
    if (ec) return Status::IoError("cannot resolve " + path + ": " + ec.message());
    auto text = machine->ReadFile(absolute, kMaxConfigBytes);
    if (!text.ok()) return Status(text.status()).WithContext("config " + path);
    std::string base = std::filesystem::path(absolute).parent_path().string();
    auto running = Load(path, *text, base);
    if (!running.ok()) {
      return Status::InvalidArgument("config " + path + " does not load:\n" +
                                     running.status().message());
    }
    auto stored = store->Get(store::Family::kConfig, kConfigKey);
    if (!stored.ok()) return stored.status();
    auto source = store->Get(store::Family::kConfig, kConfigSourceKey);
    if (!source.ok()) return source.status();
    if (!*stored || **stored != running->json || *source != kSourceFile) {
      VIGIL_RETURN_IF_ERROR(store->Write(
          {store::Mutation::Put(store::Family::kConfig, std::string(kConfigKey), running->json),
           store::Mutation::Put(store::Family::kConfig, std::string(kConfigSourceKey),
                                std::string(kSourceFile))},
          {.sync = true}));
    }
    Adopt(std::move(*running), path, "file");
    status->Update([](AgentCounters& c) { c.config_error.clear(); });
    return Status::Ok();
  }

  // --- one cycle ---

  void RunQueries(Database& db, const std::vector<std::string>& due, Clock::time_point now,
                  CycleReport& report) {
    for (const packs::Pack& pack : config.packs) {
      for (const packs::ScheduledQuery& q : pack.queries) {
        if (stop) return;
        const std::string name = results::ScheduledName(pack.name, q.name);
        if (std::find(due.begin(), due.end(), name) == due.end()) continue;
        RunQuery(db, name, q, now, report);
      }
    }
  }

  void RunQuery(Database& db, const std::string& name, const packs::ScheduledQuery& q,
                Clock::time_point now, CycleReport& report) {
    if (Status s = schedule->Begin(name); !s.ok()) {
      Log(LogLevel::kError, name + ": " + s.message());
      return;
    }
    QueryOptions query_options;
    query_options.timeout = options.statement_timeout;
    auto result = db.Query(q.query, query_options);
    ++report.queries;
    if (!result.ok()) {
      ++report.query_errors;
      Log(LogLevel::kWarning, "scheduled query " + name + ": " + result.status().message());
    } else {
      for (const std::string& w : result->warnings) Log(LogLevel::kDebug, name + ": " + w);
      if (Status s = LogResult(name, q, now, *result, report); !s.ok()) {
        Log(LogLevel::kError, "scheduled query " + name + ": " + s.message());
      }
    }
    if (Status s = schedule->End(name, now); !s.ok()) {
      Log(LogLevel::kError, name + ": " + s.message());
    }
  }

  Status LogResult(const std::string& name, const packs::ScheduledQuery& q, Clock::time_point now,
                   const QueryResult& result, CycleReport& report) {
    std::vector<results::ResultRow> rows = results::ToResultRows(result.columns, result.rows);
    const std::string rows_key = std::string(kRowsPrefix) + name;
    const std::string counter_key = std::string(kCounterPrefix) + name;
    VIGIL_ASSIGN_OR_RETURN(auto counter_text, store->Get(store::Family::kResults, counter_key));
    uint64_t counter = counter_text ? std::strtoull(counter_text->c_str(), nullptr, 10) : 0;
    results::LogContext context{name, host_identifier, now, 0, counter};
    std::vector<std::string> lines;
    if (q.snapshot) {
      lines.push_back(results::SnapshotLine(context, rows));
    } else {
      VIGIL_ASSIGN_OR_RETURN(auto stored, store->Get(store::Family::kResults, rows_key));
      std::vector<results::ResultRow> previous;
      if (stored) {
        auto decoded = results::DecodeRows(*stored);
        if (decoded.ok()) {
          previous = std::move(*decoded);
        } else {
          Log(LogLevel::kWarning, name + ": the last result kept is unreadable (" +
                                      decoded.status().message() + "); logging every row as added");
        }
      }
      results::ResultDiff diff = results::Diff(previous, rows);
      lines = results::EventLines(context, diff, q.removed);
    }
    if (!lines.empty()) {
      VIGIL_RETURN_IF_ERROR(results->Append(lines));
      // A result log line is an object; the outbox item is the same object with its kind.
      std::vector<std::string> items;
      for (const std::string& line : lines) items.push_back("{\"kind\":\"log\"," + line.substr(1));
      VIGIL_RETURN_IF_ERROR(outbox->AppendAll(ItemKind::kLog, std::move(items)).status());
      report.log_lines += static_cast<int>(lines.size());
    }
    // The last rows may be lost in a power cut (they are recomputed: the next diff then
    // repeats some rows rather than missing any).
    std::vector<store::Mutation> writes;
    writes.push_back(
        store::Mutation::Put(store::Family::kResults, counter_key, std::to_string(counter + 1)));
    if (!q.snapshot) {
      writes.push_back(
          store::Mutation::Put(store::Family::kResults, rows_key, results::EncodeRows(rows)));
    }
    return store->Write(writes, {.sync = false});
  }

  // Runs are recorded at the cycle's start, so an item with the cycle's own interval is due
  // again at the next cycle however long this one took.
  std::vector<packs::Verdict> EvaluateChecks(Database& db, const std::vector<std::string>& due,
                                             const packs::EvaluateOptions& evaluate,
                                             Clock::time_point cycle_start, CycleReport& report) {
    const std::set<std::string> wanted(due.begin(), due.end());
    std::vector<packs::CheckRef> batch;
    for (const packs::Pack& pack : config.packs) {
      for (const packs::Check& check : pack.checks) {
        if (wanted.count(CheckItemName(check.id))) batch.push_back({&pack, &check});
      }
    }
    auto mark = [&](const packs::CheckRef& ref) {
      if (Status s = schedule->Begin(CheckItemName(ref.check->id)); !s.ok()) {
        Log(LogLevel::kError, ref.check->id + ": " + s.message());
      }
    };
    auto done = [&](const packs::CheckRef& ref) {
      if (Status s = schedule->End(CheckItemName(ref.check->id), cycle_start); !s.ok()) {
        Log(LogLevel::kError, ref.check->id + ": " + s.message());
      }
    };
    std::vector<packs::Verdict> verdicts = packs::EvaluateBatch(db, batch, evaluate, mark, done);
    report.checks += static_cast<int>(verdicts.size());
    for (const packs::Verdict& v : verdicts) {
      if (v.status == packs::VerdictStatus::kError) ++report.query_errors;
    }
    return verdicts;
  }

  // Verdicts for the checks denied after a crash: an error that says so, so the evidence
  // shows the gap rather than hiding it.
  std::vector<packs::Verdict> DeniedVerdicts(const std::vector<Denial>& denials) {
    std::vector<packs::Verdict> verdicts;
    for (const Denial& d : denials) {
      for (const packs::Pack& pack : config.packs) {
        for (const packs::Check& check : pack.checks) {
          if (CheckItemName(check.id) != d.name) continue;
          packs::Verdict v;
          v.check = check.id;
          v.pack = pack.name;
          v.sr = check.sr;
          v.sl = check.sl;
          v.status = packs::VerdictStatus::kError;
          v.error = "not run: the agent died while running this check; skipped until " +
                    results::CalendarTime(d.until);
          v.time = packs::NowRfc3339();
          v.enforcer = check.enforce ? check.enforce->action : "";
          verdicts.push_back(std::move(v));
        }
      }
    }
    return verdicts;
  }

  // Queues each verdict that changed since it was last queued, or was last queued longer ago
  // than verdict_refresh.
  Status QueueVerdicts(const std::vector<packs::Verdict>& verdicts, CycleReport& report) {
    const int64_t now = UnixNow();
    std::vector<std::string> items;
    std::vector<store::Mutation> queued;
    for (const packs::Verdict& v : verdicts) {
      const std::string key = std::string(kVerdictPrefix) + v.check;
      VIGIL_ASSIGN_OR_RETURN(auto last, store->Get(store::Family::kResults, key));
      // Stored: "<unix seconds queued> <status> <sha256>".
      std::string print = Fingerprint(v);
      std::string last_status;
      bool changed = true, due = true;
      if (last) {
        size_t space = last->find(' ');
        int64_t queued = std::strtoll(last->substr(0, space).c_str(), nullptr, 10);
        std::string last_print = space == std::string::npos ? "" : last->substr(space + 1);
        last_status = last_print.substr(0, last_print.find(' '));
        changed = last_print != print;
        due = now - queued >= options.verdict_refresh.count();
      }
      if (v.remediation) changed = true;  // a repair is news even when the status is not
      if (!changed && !due) continue;
      if (changed) {
        const std::string now_status(packs::VerdictStatusName(v.status));
        const bool bad = v.status == packs::VerdictStatus::kFail ||
                         v.status == packs::VerdictStatus::kError;
        // fixed -> pass is the proof holding, not news; a first sighting matters when bad.
        const bool news = last_status.empty() ? bad || v.status == packs::VerdictStatus::kFixed
                                              : last_status != now_status &&
                                                    !(last_status == "fixed" && now_status == "pass");
        if (v.status == packs::VerdictStatus::kFixed) {
          Log(LogLevel::kInfo, "check " + v.check + ": failed and was repaired");
        } else if (news) {
          Log(bad ? LogLevel::kWarning : LogLevel::kInfo,
              "check " + v.check + ": " + (last_status.empty() ? "" : last_status + " -> ") +
                  now_status + (v.error.empty() ? "" : " (" + v.error + ")"));
        }
      }
      items.push_back("{\"kind\":\"verdict\"," + packs::VerdictJson(v).substr(1));
      queued.push_back(store::Mutation::Put(store::Family::kResults, key,
                                            std::to_string(now) + " " + print));
    }
    if (items.empty()) return Status::Ok();
    report.verdicts_queued = static_cast<int>(items.size());
    VIGIL_RETURN_IF_ERROR(outbox->AppendAll(ItemKind::kVerdict, std::move(items)).status());
    return store->Write(queued, {.sync = false});
  }

  // Queues the audit chain's head when it moved, so the hub can tell a truncated or rewritten
  // chain from an intact one.
  Status QueueAuditHead() {
    VIGIL_ASSIGN_OR_RETURN(audit::ChainHead head, chain->Head());
    if (head.seq == 0) return Status::Ok();
    VIGIL_ASSIGN_OR_RETURN(auto sent, store->Get(store::Family::kConfig, kAuditHeadSentKey));
    const std::string current = std::to_string(head.seq) + " " + head.hash;
    if (sent && *sent == current) return Status::Ok();
    VIGIL_RETURN_IF_ERROR(outbox
                              ->Append(ItemKind::kAuditHead,
                                       "{\"kind\":\"audit_head\",\"seq\":" +
                                           std::to_string(head.seq) + ",\"hash\":\"" + head.hash +
                                           "\"}")
                              .status());
    return store->Put(store::Family::kConfig, kAuditHeadSentKey, current);
  }

  // How the running config's checks are evaluated (target SL, the node's variables, limits).
  packs::EvaluateOptions Evaluation() const {
    packs::EvaluateOptions evaluate;
    evaluate.target_sl = config.node.target_sl;
    evaluate.vars = config.node.vars;
    evaluate.vars["target_sl"] = packs::Param::One(std::to_string(config.node.target_sl));
    evaluate.timeout = options.statement_timeout;
    return evaluate;
  }

  Result<CycleReport> Cycle(bool everything) {
    const auto begin = std::chrono::steady_clock::now();
    CycleReport report;
    const Clock::time_point now = Clock::now();

    std::vector<ScheduledItem> items;
    for (const packs::Pack& pack : config.packs) {
      for (const packs::ScheduledQuery& q : pack.queries) {
        if (!q.platform.empty() && q.platform.find("linux") == std::string::npos &&
            q.platform.find("posix") == std::string::npos && q.platform != "all") {
          continue;
        }
        if (q.shard && static_cast<int>(std::hash<std::string>{}(host_identifier) % 100) >=
                           *q.shard) {
          continue;
        }
        items.push_back({results::ScheduledName(pack.name, q.name), std::chrono::seconds(q.interval)});
      }
      for (const packs::Check& c : pack.checks) {
        items.push_back({CheckItemName(c.id), std::chrono::seconds(c.interval)});
      }
    }
    std::vector<std::string> due;
    std::vector<Denial> denials = schedule->Denials(now);
    if (everything) {
      std::set<std::string> denied;
      for (const Denial& d : denials) denied.insert(d.name);
      for (const ScheduledItem& item : items) {
        if (!denied.count(item.name)) due.push_back(item.name);
      }
    } else {
      // Slack of a quarter cycle: an item whose interval is the cycle is due every cycle even
      // when this cycle's start came a little earlier, relative to the last, than that one's.
      due = schedule->Due(items, now + options.cycle / 4, started);
    }

    const packs::EvaluateOptions evaluate = Evaluation();
    std::vector<packs::Verdict> verdicts;
    enforcers::RepairSummary repaired;
    engine->Use([&](Database& db) {
      RunQueries(db, due, now, report);
      verdicts = EvaluateChecks(db, due, evaluate, now, report);
      if (config.node.enforce == packs::EnforceMode::kOff || stop) return;
      repaired = Repair(db, verdicts, evaluate);
    });
    for (packs::Verdict& v : DeniedVerdicts(denials)) verdicts.push_back(std::move(v));
    for (const packs::Verdict& v : verdicts) {
      if (v.status == packs::VerdictStatus::kFail || v.status == packs::VerdictStatus::kError) {
        ++report.failing;
      }
      if (v.status == packs::VerdictStatus::kFixed) ++report.repaired;
    }
    VIGIL_RETURN_IF_ERROR(QueueVerdicts(verdicts, report));
    VIGIL_RETURN_IF_ERROR(QueueAuditHead());

    // The rows a cycle held are freed; give the memory back rather than keep it resident until
    // the next cycle.
    ::malloc_trim(0);
    report.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
    UpdateStatus(verdicts, denials.size(), report, repaired);
    return report;
  }

  // Repairs the failing verdicts, except those whose last repair did not fix them and whose
  // rows have not changed since (within repair_retry): a repair that was refused or failed is
  // not retried every cycle, filling the audit chain with the same refusal.
  enforcers::RepairSummary Repair(Database& db, std::vector<packs::Verdict>& verdicts,
                                  const packs::EvaluateOptions& evaluate) {
    const int64_t now = UnixNow();
    std::vector<size_t> picked;
    std::vector<packs::Verdict> candidates;
    std::vector<std::string> prints;
    for (size_t i = 0; i < verdicts.size(); ++i) {
      const packs::Verdict& v = verdicts[i];
      if (v.status != packs::VerdictStatus::kFail || v.enforcer.empty()) continue;
      std::string print = Fingerprint(v);
      auto last = store->Get(store::Family::kResults, std::string(kRepairPrefix) + v.check);
      if (last.ok() && *last) {
        // "<unix seconds> <outcome> <fingerprint>"
        const std::string& text = **last;
        size_t a = text.find(' '), b = a == std::string::npos ? a : text.find(' ', a + 1);
        int64_t when = std::strtoll(text.substr(0, a).c_str(), nullptr, 10);
        if (b != std::string::npos && text.substr(b + 1) == print &&
            now - when < options.repair_retry.count()) {
          continue;
        }
      }
      picked.push_back(i);
      candidates.push_back(v);
      prints.push_back(std::move(print));
    }
    if (candidates.empty()) return {};
    enforcers::RepairOptions repair;
    repair.evaluate = evaluate;
    repair.apply.dry_run = config.node.enforce == packs::EnforceMode::kDryRun;
    repair.apply.actor = "agent";
    if (!repair.apply.dry_run) {
      repair.apply.store = store.get();
      repair.apply.audit = chain.get();
    }
    repair.progress = [&](const std::string& line) { Log(LogLevel::kInfo, line); };
    enforcers::RepairSummary summary = enforcers::RepairFailing(
        engine->host(), db, enforcers::ActionRegistry::Builtin(), config.packs, candidates, repair);
    std::vector<store::Mutation> writes;
    for (size_t k = 0; k < candidates.size(); ++k) {
      const packs::Verdict& v = candidates[k];
      const std::string key = std::string(kRepairPrefix) + v.check;
      // An applied repair whose check still fails is tried again next cycle: the host changed
      // under it, or the next attempt finds nothing to change and says so ("failed").
      if (v.status == packs::VerdictStatus::kFixed || !v.remediation ||
          v.remediation->outcome == "applied") {
        writes.push_back(store::Mutation::Delete(store::Family::kResults, key));
      } else {
        writes.push_back(store::Mutation::Put(
            store::Family::kResults, key,
            std::to_string(now) + " " + v.remediation->outcome + " " + prints[k]));
      }
      verdicts[picked[k]] = v;
    }
    if (Status s = store->Write(writes, {.sync = false}); !s.ok()) {
      Log(LogLevel::kError, "recording repairs: " + s.message());
    }
    return summary;
  }

  // --- tasks from the hub (Daemon::RunTask) ---

  Result<wire::TaskResult> Task(const wire::Task& task) {
    const std::string actor = "hub task " + task.id;
    enforcers::ApplyOptions apply;
    apply.dry_run = task.dry_run;
    apply.actor = actor;
    if (!task.dry_run) {
      apply.store = store.get();
      apply.audit = chain.get();
    }
    wire::TaskResult result = task.kind == wire::Task::Kind::kEnforce
                                  ? EnforceTask(task, apply)
                                  : UpgradeTask(task, apply);
    result.id = task.id;
    VIGIL_RETURN_IF_ERROR(QueueAuditHead());
    Log(result.outcome == "failed" ? LogLevel::kWarning : LogLevel::kInfo,
        "task " + task.id + " (" + std::string(wire::TaskKindName(task.kind)) +
            (task.check.empty() ? "" : " " + task.check) + (task.dry_run ? ", dry run" : "") +
            "): " + result.outcome);
    return result;
  }

  // A task's outcome that changed nothing, with the reason as the remediation's message.
  static wire::TaskResult Unchanged(std::string outcome, std::string message) {
    wire::TaskResult result;
    packs::Remediation r;
    r.outcome = outcome;
    r.message = std::move(message);
    result.outcome = std::move(outcome);
    result.remediation = RemediationJson(r);
    return result;
  }

  wire::TaskResult EnforceTask(const wire::Task& task, const enforcers::ApplyOptions& apply) {
    const packs::Pack* pack = nullptr;
    const packs::Check* check = nullptr;
    for (const packs::Pack& p : config.packs) {
      for (const packs::Check& c : p.checks) {
        if (c.id == task.check) pack = &p, check = &c;
      }
    }
    if (check == nullptr) {
      return Unchanged("refused", "check '" + task.check +
                                      "' is not in this node's config (version " +
                                      std::to_string(config.node.version) + ")");
    }
    const packs::EvaluateOptions evaluate = Evaluation();
    wire::TaskResult result;
    std::vector<packs::Verdict> verdicts;
    engine->Use([&](Database& db) {
      verdicts.push_back(packs::EvaluateCheck(db, *pack, *check, evaluate));
      const packs::Verdict& before = verdicts.front();
      result.verdict_before = packs::VerdictJson(before);
      if (before.status == packs::VerdictStatus::kPass ||
          before.status == packs::VerdictStatus::kNotApplicable) {
        result.outcome = "not_needed";
        return;
      }
      if (before.status == packs::VerdictStatus::kError) {
        result.outcome = "failed";
        return;
      }
      if (!check->enforce) {
        result.outcome = "refused";
        return;
      }
      enforcers::RepairOptions repair;
      repair.evaluate = evaluate;
      repair.apply = apply;
      repair.progress = [&](const std::string& line) { Log(LogLevel::kInfo, line); };
      (void)enforcers::RepairFailing(engine->host(), db, enforcers::ActionRegistry::Builtin(),
                                     config.packs, verdicts, repair);
    });
    packs::Verdict& v = verdicts.front();
    if (result.outcome.empty()) {
      result.outcome = v.remediation ? v.remediation->outcome : "failed";
      if (!task.dry_run) {
        result.verdict_after = packs::VerdictJson(v);
        // An applied change whose re-check still fails did not repair the check.
        if (result.outcome == "applied" && v.status != packs::VerdictStatus::kFixed) {
          result.outcome = "failed";
          v.remediation->message += std::string(v.remediation->message.empty() ? "" : "; ") +
                                    "applied, but the check still fails";
        }
      }
      if (v.remediation) result.remediation = RemediationJson(*v.remediation);
    } else {
      packs::Remediation r;
      r.outcome = result.outcome;
      r.message = result.outcome == "not_needed"
                      ? "check " + check->id + " is " +
                            std::string(packs::VerdictStatusName(v.status)) + ": nothing to do"
                  : result.outcome == "refused"
                      ? "check " + check->id + " is detect-only" +
                            (check->detect_only.empty() ? "" : ": " + check->detect_only)
                      : "check " + check->id + " could not be evaluated: " + v.error;
      result.remediation = RemediationJson(r);
    }
    // The hub's latest verdict moves as a cycle's would; a plan changes no verdict.
    if (task.dry_run) v.remediation.reset();
    CycleReport ignored;
    if (Status s = QueueVerdicts(verdicts, ignored); !s.ok()) {
      Log(LogLevel::kError, "task " + task.id + ": queueing the verdict: " + s.message());
    }
    failing_by_check[v.check] =
        v.status == packs::VerdictStatus::kFail || v.status == packs::VerdictStatus::kError;
    return result;
  }

  wire::TaskResult UpgradeTask(const wire::Task& task, const enforcers::ApplyOptions& apply) {
    const enforcers::ActionRegistry& actions = enforcers::ActionRegistry::Builtin();
    packs::Param packages;
    packages.is_list = true;
    if (auto it = task.args.find("packages"); it != task.args.end()) {
      packages.items = it->second.items;
    }
    for (const auto& [name, value] : task.args) {
      if (name != "packages") {
        return Unchanged("refused", "package_upgrade takes no argument '" + name + "'");
      }
    }
    if (packages.items.empty()) {
      // Every installed package: apt-get is asked only for those its lists offer newer.
      auto installed = engine->Use([&](Database& db) {
        QueryOptions query;
        query.timeout = options.statement_timeout;
        return db.Query("SELECT name FROM deb_packages WHERE status = 'install ok installed'",
                        query);
      });
      if (!installed.ok()) {
        return Unchanged("failed", "listing installed packages: " + installed.status().message());
      }
      for (const Row& row : installed->rows) packages.items.push_back(row.at(0).text());
      if (packages.items.empty()) return Unchanged("not_needed", "no package is installed");
    }
    packs::Check check;
    check.id = "package-upgrade";
    check.pack = "task " + task.id;
    check.enforce = packs::Enforcement{"package.upgrade", {{"packages", packages}}};
    packs::Verdict verdict;
    verdict.check = check.id;
    verdict.status = packs::VerdictStatus::kFail;
    verdict.rows.emplace_back();  // one violation: the packages as a whole
    verdict.rows_total = 1;
    verdict.enforcer = check.enforce->action;
    const enforcers::Action* action = actions.Find(check.enforce->action);
    if (action == nullptr) return Unchanged("failed", "this agent has no package.upgrade action");
    auto plan = enforcers::PlanRepair(engine->host(), *action, *check.enforce, verdict, {});
    if (!plan.ok()) return Unchanged("failed", "package.upgrade: " + plan.status().message());
    if (plan->empty()) {
      std::string message = "every package is up to date";
      for (const std::string& note : plan->notes) message += "; " + note;
      return Unchanged("not_needed", message);
    }
    const packs::Remediation r =
        enforcers::Enforce(engine->host(), actions, check, verdict, {}, apply);
    wire::TaskResult result;
    result.outcome = r.outcome;
    result.remediation = RemediationJson(r);
    return result;
  }

  // PROTOCOL.md's `remediation` object: what packs::VerdictJson writes for it.
  static std::string RemediationJson(const packs::Remediation& r) {
    packs::Verdict carrier;
    carrier.remediation = r;
    const std::string json = packs::VerdictJson(carrier);
    rapidjson::Document doc;
    doc.Parse(json.c_str(), json.size());
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    doc["remediation"].Accept(w);
    return buffer.GetString();
  }

  // Latest verdict status per check, for checks_failing.
  std::map<std::string, bool> failing_by_check;

  void UpdateStatus(const std::vector<packs::Verdict>& verdicts, size_t denied,
                    const CycleReport& report, const enforcers::RepairSummary& repaired) {
    for (const packs::Verdict& v : verdicts) {
      failing_by_check[v.check] =
          v.status == packs::VerdictStatus::kFail || v.status == packs::VerdictStatus::kError;
    }
    uint64_t failing = 0;
    for (const auto& [check, fails] : failing_by_check) failing += fails ? 1 : 0;
    status->Update([&](AgentCounters& c) {
      ++c.cycles;
      c.last_cycle_ms = report.duration_ms;
      c.last_cycle_end = Clock::now();
      c.queries_run += report.queries;
      c.query_errors += report.query_errors;
      c.checks_run += report.checks;
      c.checks_failing = failing;
      c.repairs += repaired.fixed;
      c.denied = denied;
    });
  }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() {
  if (impl_->hub) impl_->hub->Stop();
  if (impl_->extensions) impl_->extensions->Stop();
}

namespace {

// The enroll secret: the file's first line, without surrounding blanks.
Result<std::string> ReadEnrollSecret(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::InvalidArgument("--enroll-secret-file " + path + ": not a readable file");
  }
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return Status::FromErrno(errno, "--enroll-secret-file " + path);
  std::string text(4096, '\0');
  size_t n = std::fread(text.data(), 1, text.size(), file);
  std::fclose(file);
  text.resize(n);
  text = text.substr(0, text.find('\n'));
  const char* blanks = " \t\r";
  size_t first = text.find_first_not_of(blanks);
  if (first == std::string::npos) {
    return Status::InvalidArgument("--enroll-secret-file " + path + ": the file is empty");
  }
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

std::string OsName() {
  utsname name{};
  if (::uname(&name) != 0) return "Linux";
  return std::string(name.sysname) + " " + name.release;
}

}  // namespace

Status Daemon::Impl::OpenHub() {
  HubClientOptions hub;
  hub.client.url = options.hub_url;
  hub.client.tls.ca_file = options.hub_ca_file;
  hub.client.tls.pinned_sha256 = options.hub_fingerprint;
  if (!options.hub_ca_file.empty() && !options.hub_fingerprint.empty()) {
    return Status::InvalidArgument("give the hub's CA file or its fingerprint, not both");
  }
  VIGIL_RETURN_IF_ERROR(net::CheckOptions(hub.client));
  if (!options.hub_ca_file.empty() && ::access(options.hub_ca_file.c_str(), R_OK) != 0) {
    return Status::FromErrno(errno, "--ca-file " + options.hub_ca_file);
  }
  if (!options.enroll_secret_file.empty()) {
    VIGIL_ASSIGN_OR_RETURN(hub.enroll_secret, ReadEnrollSecret(options.enroll_secret_file));
  }
  hub.host_identifier = host_identifier;
  hub.cycle = options.cycle;
  char buffer[256] = {};
  hub.hostname = ::gethostname(buffer, sizeof(buffer) - 1) == 0 ? buffer : host_identifier;
  if (!engine->host().is_machine_root()) hub.hostname = host_identifier;
  hub.os = OsName();
  hub.vigil_version = VIGIL_VERSION;
  hub.backoff_min = options.hub_backoff_min;
  hub.backoff_max = options.hub_backoff_max;
  hub.statement_timeout = options.statement_timeout;
  hub.log = [this](LogLevel level, const std::string& line) { Log(level, line); };
  hub.on_config = [this](const std::string& json) { return TakeHubConfig(json); };
  hub_client_options = std::move(hub);
  return Status::Ok();
}

Result<std::unique_ptr<Daemon>> Daemon::Open(DaemonOptions options) {
  if (options.state_dir.empty()) return Status::InvalidArgument("no state directory given");
  if (options.cycle < std::chrono::milliseconds(100)) {
    return Status::InvalidArgument("the cycle must be at least 100ms");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  DaemonOptions& o = impl->options;
  if (o.results_log.empty()) o.results_log = o.state_dir + "/results.log";
  if (o.config_path && !o.hub_url.empty()) {
    return Status::InvalidArgument(
        "give --config FILE or --hub URL, not both: with a hub the node runs the config the hub "
        "publishes");
  }

  VIGIL_ASSIGN_OR_RETURN(impl->store, store::Store::Open(o.state_dir));
  VIGIL_ASSIGN_OR_RETURN(impl->outbox,
                         Outbox::Open(*impl->store, OutboxOptions{.max_bytes = o.outbox_max_bytes}));
  VIGIL_ASSIGN_OR_RETURN(impl->schedule, Schedule::Open(*impl->store, o.crash_denial));
  impl->chain = std::make_unique<audit::AuditChain>(*impl->store);
  impl->results = std::make_unique<ResultsFile>(
      ResultsFileOptions{.path = o.results_log, .max_bytes = o.results_log_max_bytes, .keep = 5});
  impl->status = std::make_unique<AgentStatus>(o.state_dir, impl->outbox.get());

  VIGIL_ASSIGN_OR_RETURN(auto host, Host::Open(o.root));
  if (o.host_identifier) {
    impl->host_identifier = *o.host_identifier;
  } else {
    auto name = host->ReadFile("/etc/hostname", 4096);
    if (name.ok()) impl->host_identifier = name->substr(0, name->find_first_of("\r\n \t"));
    if (impl->host_identifier.empty() && host->is_machine_root()) {
      char buffer[256] = {};
      if (::gethostname(buffer, sizeof(buffer) - 1) == 0) impl->host_identifier = buffer;
    }
    if (impl->host_identifier.empty()) impl->host_identifier = "localhost";
  }
  auto registry = std::make_unique<TableRegistry>();
  VIGIL_RETURN_IF_ERROR(tables::RegisterBuiltinTables(*registry));
  VIGIL_RETURN_IF_ERROR(registry->Add(MakeAgentTable(*impl->status)));
  VIGIL_ASSIGN_OR_RETURN(impl->engine, SharedEngine::Open(std::move(host), std::move(registry)));

  for (const Denial& d : impl->schedule->Denials(Clock::now())) {
    impl->Log(LogLevel::kWarning, d.name + " was running when the agent last died; skipped until " +
                                      results::CalendarTime(d.until));
  }
  {
    auto pinned = impl->store->Get(store::Family::kConfig, kHubPublicKey);
    if (!pinned.ok()) return pinned.status();
    const bool key_pinned = *pinned && !(*pinned)->empty();
    impl->status->Update([&](AgentCounters& c) { c.hub_key_pinned = key_pinned; });
  }
  VIGIL_RETURN_IF_ERROR(impl->LoadInitialConfig());
  if (!o.hub_url.empty()) {
    VIGIL_RETURN_IF_ERROR(impl->OpenHub());
  } else if (!o.enroll_secret_file.empty() || !o.hub_ca_file.empty() ||
             !o.hub_fingerprint.empty()) {
    return Status::InvalidArgument(
        "--enroll-secret-file, --ca-file and --hub-fingerprint need --hub URL");
  }

  if (!o.extensions_socket.empty()) {
    ExtensionServerOptions server;
    server.socket_path = o.extensions_socket;
    server.statement_timeout = o.statement_timeout;
    Impl* self = impl.get();
    server.log = [self](std::string_view line) { self->Log(LogLevel::kInfo, std::string(line)); };
    impl->extensions = std::make_unique<ExtensionServer>(*impl->engine, server);
    VIGIL_RETURN_IF_ERROR(impl->extensions->Start());
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Result<CycleReport> Daemon::RunCycle(bool everything) {
  std::unique_lock work(impl_->work);
  impl_->AdoptPending();  // a config the hub sent since the last cycle
  Result<CycleReport> report = impl_->Cycle(everything);
  work.unlock();
  if (!report.ok()) {
    impl_->Log(LogLevel::kError, "cycle failed: " + report.status().message());
  } else {
    const bool news = report->verdicts_queued > 0 || report->repaired > 0 || report->query_errors > 0;
    impl_->Log(news ? LogLevel::kInfo : LogLevel::kDebug,
               "cycle: " + std::to_string(report->checks) + " checks (" +
                   std::to_string(report->failing) + " failing, " +
                   std::to_string(report->repaired) + " repaired), " +
                   std::to_string(report->queries) + " queries, " +
                   std::to_string(report->log_lines) + " result lines, " +
                   std::to_string(report->verdicts_queued) + " verdicts queued, " +
                   std::to_string(static_cast<int64_t>(report->duration_ms)) + " ms");
  }
  return report;
}

void Daemon::Run() {
  Impl& d = *impl_;
  if (d.hub_client_options && !d.hub) {
    HubClientOptions hub = *d.hub_client_options;
    hub.on_task = [this](const wire::Task& task) { return RunTask(task); };
    d.hub = std::make_unique<HubClient>(std::move(hub), *d.store, *d.outbox, *d.engine, *d.status);
    d.hub->Start();
  }
  auto next = std::chrono::steady_clock::now();
  while (!d.stop) {
    if (d.reload.exchange(false)) (void)ReloadConfig();
    (void)RunCycle(false);
    next += d.options.cycle;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a cycle longer than the period: start the next at once
    std::unique_lock lock(d.wake_mutex);
    d.wake.wait_until(lock, next, [&] {
      return d.stop.load() || d.reload.load() || d.config_pending.load();
    });
    // A config from the hub is adopted by a cycle started at once; the next one follows a
    // whole period after it.
    if (d.config_pending) next = std::min(next, std::chrono::steady_clock::now());
  }
  if (d.hub) {
    d.hub->Stop();
    d.hub.reset();
  }
  d.Log(LogLevel::kInfo, "stopped");
}

void Daemon::Stop() {
  impl_->stop = true;
  std::lock_guard lock(impl_->wake_mutex);
  impl_->wake.notify_all();
}

void Daemon::Reload() {
  impl_->reload = true;
  std::lock_guard lock(impl_->wake_mutex);
  impl_->wake.notify_all();
}

AgentCounters Daemon::status() const { return impl_->status->counters(); }

Result<wire::TaskResult> Daemon::RunTask(const wire::Task& task) {
  std::lock_guard work(impl_->work);
  impl_->AdoptPending();  // the task may name a check of the config the hub sent last
  return impl_->Task(task);
}

Status Daemon::ReloadConfig() {
  std::lock_guard work(impl_->work);  // not while a task uses the config
  if (!impl_->options.config_path) {
    impl_->Log(LogLevel::kInfo, "reload: no config file to read (started without --config)");
    return Status::Ok();
  }
  Status s = impl_->LoadConfigFile();
  if (!s.ok()) {
    impl_->Log(LogLevel::kError, s.message() + "\nkeeping config " +
                                     std::to_string(impl_->config.node.version));
  }
  return s;
}

}  // namespace vigil::agent
