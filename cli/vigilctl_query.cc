// vigilctl query: start a live query on the fleet and follow its stream (PROTOCOL.md, "People's
// API": POST /api/v1/queries, then GET /api/v1/queries/{id}/stream), and vigilctl results, the
// stored answers of one.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/output.h"
#include "cli/vigilctl_client.h"
#include "cli/vigilctl_commands.h"

namespace vigil::cli::ctl {
namespace {

Value JsonToValue(const rapidjson::Value& v) {
  if (v.IsNull()) return Value::Null();
  if (v.IsBool()) return Value(v.GetBool());
  if (v.IsInt64()) return Value(v.GetInt64());
  if (v.IsUint64()) return Value(static_cast<double>(v.GetUint64()));
  if (v.IsNumber()) return Value(v.GetDouble());
  if (v.IsString()) return Value(std::string(v.GetString(), v.GetStringLength()));
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return Value(std::string(buffer.GetString(), buffer.GetSize()));
}

std::vector<std::string> Strings(const rapidjson::Value& object, const char* name) {
  std::vector<std::string> out;
  if (!object.IsObject() || !object.HasMember(name) || !object[name].IsArray()) return out;
  for (const auto& item : object[name].GetArray()) {
    if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

struct Totals {
  uint64_t expected = 0;
  uint64_t answered = 0;
  uint64_t failed = 0;
  uint64_t offline = 0;
};

Totals TotalsFrom(const rapidjson::Value& object) {
  auto number = [&](const char* name) -> uint64_t {
    return object.HasMember(name) && object[name].IsUint64() ? object[name].GetUint64() : 0;
  };
  return {number("expected"), number("answered"), number("failed"), number("offline")};
}

// Prints each node's answer as it comes: a block per node on a terminal, else one table with a
// `node` column (list or CSV) whose header is printed again only when the columns change.
class AnswerPrinter {
 public:
  AnswerPrinter(OutputMode mode, std::ostream& out) : mode_(mode), out_(out) {}

  void Print(const std::string& node, const std::vector<std::string>& columns,
             const rapidjson::Value& rows, uint64_t rows_total, double duration_ms) {
    const size_t shown = rows.IsArray() ? rows.Size() : 0;
    if (mode_ == OutputMode::kPretty) {
      out_ << node << ": " << shown << (shown == 1 ? " row" : " rows");
      if (rows_total > shown) out_ << " of " << rows_total << " (cut at the row limit)";
      out_ << ", " << std::fixed << std::setprecision(1) << duration_ms << " ms\n";
      auto writer = MakeWriter(mode_, true, out_);
      writer->Begin(columns);
      if (rows.IsArray()) {
        for (const auto& row : rows.GetArray()) writer->AddRow(ToRow("", row));
      }
      writer->End();
      out_ << "\n";
    } else {
      if (!writer_ || columns != columns_) {
        if (writer_) writer_->End();
        columns_ = columns;
        std::vector<std::string> with_node{"node"};
        with_node.insert(with_node.end(), columns.begin(), columns.end());
        writer_ = MakeWriter(mode_, true, out_);
        writer_->Begin(with_node);
      }
      if (rows.IsArray()) {
        for (const auto& row : rows.GetArray()) writer_->AddRow(ToRow(node, row));
      }
    }
    out_.flush();
  }

  void End() {
    if (writer_) writer_->End();
    writer_.reset();
  }

 private:
  static Row ToRow(const std::string& node, const rapidjson::Value& row) {
    Row out;
    if (!node.empty()) out.emplace_back(node);
    if (row.IsArray()) {
      for (const auto& cell : row.GetArray()) out.push_back(JsonToValue(cell));
    }
    return out;
  }

  const OutputMode mode_;
  std::ostream& out_;
  std::unique_ptr<ResultWriter> writer_;
  std::vector<std::string> columns_;
};

// The running totals on one line of standard error, redrawn in place (terminals only).
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  void Show(const Totals& t) {
    if (!enabled_) return;
    std::cerr << "\r\033[K" << "answered " << t.answered << "/" << t.expected << ", failed "
              << t.failed << ", offline " << t.offline << std::flush;
    shown_ = true;
  }
  void Clear() {
    if (enabled_ && shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  const bool enabled_;
  bool shown_ = false;
};

std::string QueryBody(const std::string& sql, const std::string& target, uint64_t timeout_ms,
                      double wait_s, double deadline_s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("sql");
  w.String(sql.c_str(), static_cast<rapidjson::SizeType>(sql.size()));
  w.Key("target");
  w.String(target.c_str(), static_cast<rapidjson::SizeType>(target.size()));
  w.Key("timeout_ms");
  w.Uint64(timeout_ms);
  w.Key("wait_s");
  w.Double(wait_s);
  w.Key("deadline_s");
  w.Double(deadline_s);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<OutputMode> ModeFromFlags(const FlagSet& flags) {
  if (flags.IsSet("json") && flags.IsSet("csv")) return std::nullopt;
  if (flags.IsSet("json")) return OutputMode::kJson;
  if (flags.IsSet("csv")) return OutputMode::kCsv;
  return ::isatty(STDOUT_FILENO) ? OutputMode::kPretty : OutputMode::kList;
}

Result<std::chrono::milliseconds> DurationFlag(const FlagSet& flags, const char* name) {
  auto value = ParseDuration(*flags.Get(name));
  if (!value.ok()) {
    return Status::InvalidArgument(std::string("--") + name + ": " + value.status().message());
  }
  return value;
}

// Prints a stored campaign (GET /api/v1/queries/{id}?format=json) node by node.
int PrintStored(const rapidjson::Value& stored, OutputMode mode) {
  AnswerPrinter printer(mode, std::cout);
  Totals totals;
  if (stored.HasMember("totals")) totals = TotalsFrom(stored["totals"]);
  if (stored.HasMember("nodes") && stored["nodes"].IsArray()) {
    for (const auto& node : stored["nodes"].GetArray()) {
      const std::string name = MemberText(node, "node");
      if (MemberText(node, "status") == "ok") {
        static const rapidjson::Value kNoRows(rapidjson::kArrayType);
        const rapidjson::Value& rows = node.HasMember("rows") ? node["rows"] : kNoRows;
        auto duration = node.HasMember("duration_ms") && node["duration_ms"].IsNumber()
                            ? node["duration_ms"].GetDouble()
                            : 0.0;
        auto total = node.HasMember("rows_total") && node["rows_total"].IsUint64()
                         ? node["rows_total"].GetUint64()
                         : 0;
        printer.Print(name, Strings(node, "columns"), rows, total, duration);
      } else {
        std::cerr << name << ": error: " << MemberText(node, "error") << "\n";
      }
    }
  }
  printer.End();
  std::cerr << MemberText(stored["campaign"], "id") << ": " << totals.expected << " expected, "
            << totals.answered << " answered, " << totals.failed << " failed, "
            << totals.offline << " offline\n";
  return totals.answered == totals.expected ? kExitOk : kExitFailed;
}

}  // namespace

int RunQuery(const std::vector<std::string>& args) {
  FlagSet flags(
      "vigilctl query [OPTIONS] SQL",
      "Runs one read-only SQL statement on every node the target matches and prints each "
      "node's rows as they arrive, with running totals on a terminal and a summary at the end. "
      "Nodes offline when it starts are counted as offline; with --wait they get the query "
      "when they connect within that time. Exit 0 when every node answered, 1 when any failed "
      "or stayed offline.");
  flags.Value("target", "TARGET",
              "all, role:NAME, or host identifiers and globs separated by commas", "all");
  flags.Value("wait", "DURATION", "Give offline nodes this long to connect and answer");
  flags.Value("node-timeout", "DURATION", "Each node's time limit for the statement", "10s");
  flags.Value("deadline", "DURATION", "Stop taking answers after this long", "30s");
  flags.Bool("json", "Print one JSON document at the end (the stored campaign)");
  flags.Bool("csv", "Print rows as CSV with a `node` column");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  if (flags.positionals().size() != 1) {
    std::cerr << "vigilctl: query takes one SQL statement (quote it)\n";
    return kExitUsage;
  }
  const std::optional<OutputMode> mode = ModeFromFlags(flags);
  if (!mode) {
    std::cerr << "vigilctl: --json and --csv are two output formats; give one\n";
    return kExitUsage;
  }
  double wait_s = 0;
  if (flags.Get("wait")) {
    auto wait = DurationFlag(flags, "wait");
    if (!wait.ok()) return Fail(wait.status());
    wait_s = static_cast<double>(wait->count()) / 1000.0;
  }
  auto node_timeout = DurationFlag(flags, "node-timeout");
  if (!node_timeout.ok()) return Fail(node_timeout.status());
  auto deadline = DurationFlag(flags, "deadline");
  if (!deadline.ok()) return Fail(deadline.status());

  const auto started = std::chrono::steady_clock::now();
  auto created = hub->CallJson(
      "POST", "/api/v1/queries",
      QueryBody(flags.positionals()[0], *flags.Get("target"),
                static_cast<uint64_t>(node_timeout->count()), wait_s,
                std::max(static_cast<double>(deadline->count()) / 1000.0, wait_s)));
  if (!created.ok()) return Fail(created.status());
  const std::string id = MemberText(*created, "id");
  if (id.empty()) return Fail(Status::Internal("the hub's reply names no campaign id"));

  auto stream = agent::net::WebSocketClient::Connect(
      hub->options(), "/api/v1/queries/" + PathSegment(id) + "/stream", hub->AuthHeaders());
  if (!stream.ok()) return Fail(stream.status());

  const bool live = *mode != OutputMode::kJson;
  ProgressLine progress(live && ::isatty(STDERR_FILENO));
  AnswerPrinter printer(*mode, std::cout);
  Totals totals;
  totals.expected = created->HasMember("expected") && (*created)["expected"].IsUint64()
                        ? (*created)["expected"].GetUint64()
                        : 0;
  bool done = false;
  while (!done) {
    auto frame = (*stream)->Receive(std::chrono::milliseconds(500));
    if (!frame.ok()) {
      progress.Clear();
      printer.End();
      return Fail(Status::Unavailable("campaign " + id + ": the stream ended before it was "
                                      "done: " + frame.status().message()));
    }
    if (!*frame) continue;
    rapidjson::Document event;
    event.Parse((*frame)->data(), (*frame)->size());
    if (event.HasParseError() || !event.IsObject()) continue;
    const std::string type = MemberText(event, "type");
    if (type == "result" && live) {
      progress.Clear();
      static const rapidjson::Value kNoRows(rapidjson::kArrayType);
      const rapidjson::Value& rows = event.HasMember("rows") ? event["rows"] : kNoRows;
      printer.Print(MemberText(event, "node"), Strings(event, "columns"), rows,
                    event.HasMember("rows_total") && event["rows_total"].IsUint64()
                        ? event["rows_total"].GetUint64()
                        : 0,
                    event.HasMember("duration_ms") && event["duration_ms"].IsNumber()
                        ? event["duration_ms"].GetDouble()
                        : 0.0);
      progress.Show(totals);
    } else if (type == "error" && live) {
      progress.Clear();
      const std::string node = MemberText(event, "node");
      std::cerr << (node.empty() ? "campaign " + id : node) << ": error: "
                << MemberText(event, "message") << "\n";
      progress.Show(totals);
    } else if (type == "totals") {
      totals = TotalsFrom(event);
      progress.Show(totals);
    } else if (type == "done") {
      done = true;
    }
  }
  (*stream)->Close();
  progress.Clear();
  printer.End();

  if (*mode == OutputMode::kJson) {
    auto stored = hub->Call("GET", "/api/v1/queries/" + PathSegment(id) + "?format=json");
    if (!stored.ok()) return Fail(stored.status());
    std::cout << stored->body << "\n";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ostringstream summary;
  summary << id << ": " << totals.expected << " expected, " << totals.answered << " answered, "
          << totals.failed << " failed, " << totals.offline << " offline (" << std::fixed
          << std::setprecision(2) << seconds << " s)";
  std::cerr << summary.str() << "\n";
  return totals.answered == totals.expected ? kExitOk : kExitFailed;
}

int RunResults(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl results [OPTIONS] CAMPAIGN",
                "Prints the stored answers of a live query (its id comes from `vigilctl query` "
                "or `vigilctl campaigns`). Exit 1 when any node failed or did not answer.");
  flags.Bool("json", "The hub's JSON document");
  flags.Bool("csv", "CSV: a `node` column, then the statement's columns");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  if (flags.positionals().size() != 1) {
    std::cerr << "vigilctl: results takes one campaign id\n";
    return kExitUsage;
  }
  const std::optional<OutputMode> mode = ModeFromFlags(flags);
  if (!mode) {
    std::cerr << "vigilctl: --json and --csv are two output formats; give one\n";
    return kExitUsage;
  }
  const std::string target = "/api/v1/queries/" + PathSegment(flags.positionals()[0]);
  if (*mode == OutputMode::kCsv || *mode == OutputMode::kJson) {
    auto reply =
        hub->Call("GET", target + (*mode == OutputMode::kCsv ? "?format=csv" : "?format=json"));
    if (!reply.ok()) return Fail(reply.status());
    std::cout << reply->body;
    if (!reply->body.empty() && reply->body.back() != '\n') std::cout << "\n";
    return kExitOk;
  }
  auto stored = hub->CallJson("GET", target + "?format=json");
  if (!stored.ok()) return Fail(stored.status());
  if (!stored->IsObject() || !stored->HasMember("campaign")) {
    return Fail(Status::Internal("the hub's reply is not a stored campaign"));
  }
  return PrintStored(*stored, *mode);
}

}  // namespace vigil::cli::ctl
