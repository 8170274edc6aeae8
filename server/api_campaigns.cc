// The people's API for live-query campaigns: starting one, listing them, their stored answers as
// JSON or CSV, and the stream of answers as they arrive.
#include <cmath>
#include <map>
#include <mutex>

#include "server/api.h"
#include "server/internal/api_common.h"

namespace vigil::server {
namespace internal {

void WriteCampaign(JsonWriter& w, const CampaignRecord& campaign, bool with_nodes) {
  w.StartObject();
  w.Key("id");
  WriteString(w, campaign.id);
  w.Key("sql");
  WriteString(w, campaign.sql);
  w.Key("target");
  WriteString(w, campaign.target);
  w.Key("created_by");
  WriteString(w, campaign.created_by);
  w.Key("created_at");
  WriteTimeMs(w, campaign.created_at);
  w.Key("deadline");
  WriteTimeMs(w, campaign.deadline);
  w.Key("wait_until");
  WriteTimeMs(w, campaign.wait_until);
  w.Key("timeout_ms");
  w.Uint64(campaign.timeout_ms);
  w.Key("finished");
  w.Bool(campaign.finished);
  if (with_nodes) {
    w.Key("expected_nodes");
    WriteStrings(w, campaign.expected);
  }
  w.EndObject();
}

// The totals' members, into an object the caller has started.
void WriteTotalsMembers(JsonWriter& w, const CampaignTotals& totals) {
  w.Key("expected");
  w.Uint64(totals.expected);
  w.Key("answered");
  w.Uint64(totals.answered);
  w.Key("failed");
  w.Uint64(totals.failed);
  w.Key("offline");
  w.Uint64(totals.offline);
}

void WriteTotals(JsonWriter& w, const CampaignTotals& totals) {
  w.StartObject();
  WriteTotalsMembers(w, totals);
  w.EndObject();
}

namespace {

// A duration as JSON: a NaN or infinity an agent sent would make the writer fail.
void WriteDuration(JsonWriter& w, double duration_ms) {
  w.Double(std::isfinite(duration_ms) ? duration_ms : 0.0);
}

// A node's stored rows: a JSON array of arrays. Corruption naming the node otherwise.
Status ParseRows(const AnswerRecord& answer, rapidjson::Document& rows) {
  if (answer.rows_json.empty()) {
    rows.SetArray();
    return Status::Ok();
  }
  rows.Parse(answer.rows_json.data(), answer.rows_json.size());
  if (rows.HasParseError() || !rows.IsArray()) {
    return Status::Corruption("the stored rows of node '" + answer.host_identifier +
                              "' in campaign " + answer.campaign_id + " are not a JSON array");
  }
  return Status::Ok();
}

// The frames of the campaign stream (PROTOCOL.md). Thread-safe: the Fleet calls On() from
// network threads; the mutex keeps the totals seen last and whether "done" went out.
class StreamFrames {
 public:
  explicit StreamFrames(std::shared_ptr<PeerChannel> channel) : channel_(std::move(channel)) {}

  // A totals frame follows an answer when the counts changed, and always comes right before
  // "done", so the last totals a client sees are the final ones.
  void On(const CampaignEvent& event) {
    std::lock_guard lock(mutex_);
    if (done_) return;
    if (event.kind == CampaignEvent::Kind::kAnswer) SendAnswer(event.answer);
    const bool done = event.kind == CampaignEvent::Kind::kDone;
    if (!last_totals_ || *last_totals_ != event.totals || (done && !totals_last_sent_)) {
      SendTotals(event.totals);
    }
    if (done) {
      done_ = true;
      channel_->Send(R"({"type":"done"})");
      channel_->CloseNormally("campaign finished");
    }
  }

  void Fail(const Status& status) {
    std::lock_guard lock(mutex_);
    done_ = true;
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("type");
    w.String("error");
    w.Key("message");
    WriteString(w, status.message());
    w.EndObject();
    channel_->Send(std::string(buffer.GetString(), buffer.GetSize()));
    channel_->Close("cannot watch the campaign");
  }

 private:
  void SendTotals(const CampaignTotals& totals) {
    last_totals_ = totals;
    totals_last_sent_ = true;
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("type");
    w.String("totals");
    WriteTotalsMembers(w, totals);
    w.EndObject();
    channel_->Send(std::string(buffer.GetString(), buffer.GetSize()));
  }

  void SendAnswer(const AnswerRecord& answer) {
    totals_last_sent_ = false;
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    rapidjson::Document rows;
    Status parsed =
        answer.status == AnswerRecord::Status::kOk ? ParseRows(answer, rows) : Status::Ok();
    w.Key("type");
    if (answer.status == AnswerRecord::Status::kOk && parsed.ok()) {
      w.String("result");
      w.Key("node");
      WriteString(w, answer.host_identifier);
      w.Key("columns");
      WriteStrings(w, answer.columns);
      w.Key("rows");
      rows.Accept(w);
      w.Key("rows_total");
      w.Uint64(answer.rows_total);
      w.Key("duration_ms");
      WriteDuration(w, answer.duration_ms);
    } else {
      w.String("error");
      w.Key("node");
      WriteString(w, answer.host_identifier);
      w.Key("message");
      WriteString(w, parsed.ok() ? answer.error : parsed.message());
    }
    w.EndObject();
    channel_->Send(std::string(buffer.GetString(), buffer.GetSize()));
  }

  const std::shared_ptr<PeerChannel> channel_;
  std::mutex mutex_;
  // Guarded by mutex_:
  std::optional<CampaignTotals> last_totals_;  // the last totals sent
  bool totals_last_sent_ = false;              // the last frame sent was totals
  bool done_ = false;
};

// One person's stream of one campaign: watching from when the WebSocket opens until it closes.
class CampaignStream : public PeerSession {
 public:
  CampaignStream(Fleet& fleet, const std::string& campaign_id, std::shared_ptr<PeerChannel> channel)
      : frames_(std::make_shared<StreamFrames>(std::move(channel))) {
    auto watch = fleet.WatchCampaign(
        campaign_id, [frames = frames_](const CampaignEvent& event) { frames->On(event); });
    if (!watch.ok()) {
      frames_->Fail(watch.status());
      return;
    }
    watch_ = std::move(*watch);
  }

  void OnMessage(std::string_view) override {}  // the stream only sends
  void OnClose() override { watch_.reset(); }

 private:
  const std::shared_ptr<StreamFrames> frames_;
  std::unique_ptr<CampaignWatch> watch_;
};

// One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF.
void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// A cell as CSV text: strings as they are, null empty, anything else as its JSON.
std::string CellText(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsNull()) return "";
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  value.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// `node,<columns>` and one line per row of every node that answered with rows. Nodes whose
// columns differ (another vigil version) get their cells under the same names; a column only
// some nodes have is added at the end and left empty for the others.
Result<std::string> ResultsCsv(const std::vector<AnswerRecord>& answers) {
  std::vector<std::string> header;
  std::map<std::string, size_t, std::less<>> index;
  for (const AnswerRecord& answer : answers) {
    if (answer.status != AnswerRecord::Status::kOk) continue;
    for (const std::string& column : answer.columns) {
      if (index.emplace(column, header.size()).second) header.push_back(column);
    }
  }
  std::string out = "node";
  for (const std::string& column : header) {
    out.push_back(',');
    AppendCsvField(out, column);
  }
  out.append("\r\n");
  std::vector<std::string> cells;
  for (const AnswerRecord& answer : answers) {
    if (answer.status != AnswerRecord::Status::kOk) continue;
    rapidjson::Document rows;
    VIGIL_RETURN_IF_ERROR(ParseRows(answer, rows));
    for (const rapidjson::Value& row : rows.GetArray()) {
      cells.assign(header.size(), "");
      if (row.IsArray()) {
        for (rapidjson::SizeType i = 0; i < row.Size() && i < answer.columns.size(); ++i) {
          cells[index.find(answer.columns[i])->second] = CellText(row[i]);
        }
      }
      AppendCsvField(out, answer.host_identifier);
      for (const std::string& cell : cells) {
        out.push_back(',');
        AppendCsvField(out, cell);
      }
      out.append("\r\n");
    }
  }
  return out;
}

}  // namespace

PeerSessionFactory CampaignStreamFactory(Fleet& fleet, std::string campaign_id) {
  return [&fleet, id = std::move(campaign_id)](std::shared_ptr<PeerChannel> channel) {
    return std::make_unique<CampaignStream>(fleet, id, std::move(channel));
  };
}

}  // namespace internal

using internal::JsonResponse;
using internal::JsonWriter;
using internal::Shown;
using internal::StatusResponse;
using internal::WriteString;

HttpResponse Api::StartQuery(const TokenRecord& caller, const HttpRequest& request) {
  constexpr std::string_view kWhat = "POST /api/v1/queries";
  rapidjson::Document doc;
  if (Status s = internal::ParseBody(request, kWhat, doc); !s.ok()) return StatusResponse(s);
  if (Status s = internal::CheckFields(doc, {"sql", "target", "timeout_ms", "wait_s", "deadline_s"},
                                       kWhat);
      !s.ok()) {
    return StatusResponse(s);
  }
  auto bad = [&](std::string_view field, const std::string& what) {
    return ErrorResponse(400, "malformed",
                         std::string(kWhat) + ": field '" + std::string(field) + "' " + what);
  };
  CampaignSpec spec;
  spec.created_by = caller.id;
  if (!doc.HasMember("sql") || !doc["sql"].IsString() || doc["sql"].GetStringLength() == 0) {
    return bad("sql", "must be a non-empty string (the statement every node runs)");
  }
  spec.sql.assign(doc["sql"].GetString(), doc["sql"].GetStringLength());
  if (spec.sql.size() > limits_.max_sql_bytes) {
    return bad("sql", "is longer than " + std::to_string(limits_.max_sql_bytes) + " bytes");
  }
  if (doc.HasMember("target")) {
    const rapidjson::Value& target = doc["target"];
    if (!target.IsString() || target.GetStringLength() == 0) {
      return bad("target", "must be a non-empty string: all, role:NAME, or host globs");
    }
    spec.target.assign(target.GetString(), target.GetStringLength());
    if (spec.target.size() > limits_.max_target_bytes) {
      return bad("target", "is longer than " + std::to_string(limits_.max_target_bytes) + " bytes");
    }
  }
  if (doc.HasMember("timeout_ms")) {
    const rapidjson::Value& timeout = doc["timeout_ms"];
    if (!timeout.IsUint64() || timeout.GetUint64() == 0 ||
        timeout.GetUint64() > limits_.max_timeout_ms) {
      return bad("timeout_ms", "must be a whole number of milliseconds from 1 to " +
                                   std::to_string(limits_.max_timeout_ms));
    }
    spec.timeout_ms = timeout.GetUint64();
  }
  // Seconds, fractions allowed; stored as milliseconds.
  auto seconds = [&](const char* field, double min_exclusive, uint64_t max,
                     uint64_t& out_ms) -> std::optional<HttpResponse> {
    if (!doc.HasMember(field)) return std::nullopt;
    const rapidjson::Value& value = doc[field];
    if (!value.IsNumber() || !(value.GetDouble() > min_exclusive) ||
        value.GetDouble() > static_cast<double>(max)) {
      return bad(field, std::string("must be a number of seconds ") +
                            (min_exclusive < 0 ? "from 0" : "above 0") + " to " +
                            std::to_string(max));
    }
    out_ms = static_cast<uint64_t>(std::llround(value.GetDouble() * 1000));
    return std::nullopt;
  };
  if (auto error = seconds("wait_s", -1, limits_.max_wait_s, spec.wait_ms)) return *error;
  if (auto error = seconds("deadline_s", 0, limits_.max_deadline_s, spec.deadline_ms)) {
    return *error;
  }

  Result<CampaignRecord> campaign = fleet_.StartCampaign(spec);
  if (!campaign.ok()) return StatusResponse(campaign.status());
  rapidjson::StringBuffer detail;
  {
    JsonWriter w(detail);
    w.StartObject();
    w.Key("sql");
    WriteString(w, spec.sql);
    w.Key("target");
    WriteString(w, spec.target);
    w.Key("expected");
    w.Uint64(campaign->expected.size());
    w.EndObject();
  }
  if (Status s = Audit(caller, "query.start", campaign->id, detail.GetString()); !s.ok()) {
    return StatusResponse(s);
  }
  const uint64_t expected = campaign->expected.size();
  uint64_t offline = 0;
  if (Result<CampaignTotals> totals = fleet_.Totals(campaign->id); totals.ok()) {
    offline = std::min(totals->offline, expected);
  } else {
    return StatusResponse(totals.status());
  }
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("id");
  WriteString(w, campaign->id);
  w.Key("expected");
  w.Uint64(expected);
  w.Key("online");
  w.Uint64(expected - offline);
  w.Key("offline");
  w.Uint64(offline);
  w.EndObject();
  return JsonResponse(201, buffer);
}

HttpResponse Api::ListQueries(std::string_view query) {
  auto params = internal::ParseQuery(query, {"limit"});
  if (!params.ok()) return StatusResponse(params.status());
  uint64_t limit = limits_.default_campaigns_listed;
  for (const auto& [name, value] : *params) {
    auto number = internal::ParseNumber(value, "limit", 1, limits_.max_campaigns_listed);
    if (!number.ok()) return StatusResponse(number.status());
    limit = *number;
  }
  Result<std::vector<CampaignRecord>> campaigns = store_.ListCampaigns(limit);
  if (!campaigns.ok()) return StatusResponse(campaigns.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const CampaignRecord& campaign : *campaigns) {
    Result<CampaignTotals> totals = fleet_.Totals(campaign.id);
    if (!totals.ok()) return StatusResponse(totals.status());
    w.StartObject();
    w.Key("campaign");
    internal::WriteCampaign(w, campaign, /*with_nodes=*/false);
    w.Key("totals");
    internal::WriteTotals(w, *totals);
    w.EndObject();
  }
  w.EndArray();
  return JsonResponse(200, buffer);
}

HttpResponse Api::QueryResults(const std::string& id, std::string_view query) {
  auto params = internal::ParseQuery(query, {"format"});
  if (!params.ok()) return StatusResponse(params.status());
  bool csv = false;
  for (const auto& [name, value] : *params) {
    if (value != "json" && value != "csv") {
      return ErrorResponse(400, "malformed",
                           "format must be json or csv, not '" + Shown(value) + "'");
    }
    csv = value == "csv";
  }
  Result<std::optional<CampaignRecord>> campaign = store_.GetCampaign(id);
  if (!campaign.ok()) return StatusResponse(campaign.status());
  if (!*campaign) return ErrorResponse(404, "not_found", "no campaign '" + Shown(id) + "'");
  Result<std::vector<AnswerRecord>> answers = store_.Answers(id);
  if (!answers.ok()) return StatusResponse(answers.status());

  if (csv) {
    Result<std::string> text = internal::ResultsCsv(*answers);
    if (!text.ok()) return StatusResponse(text.status());
    HttpResponse response;
    response.content_type = "text/csv; charset=utf-8";
    response.body = std::move(*text);
    return response;
  }
  Result<CampaignTotals> totals = fleet_.Totals(id);
  if (!totals.ok()) return StatusResponse(totals.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("campaign");
  internal::WriteCampaign(w, **campaign, /*with_nodes=*/true);
  w.Key("totals");
  internal::WriteTotals(w, *totals);
  w.Key("nodes");
  w.StartArray();
  for (const AnswerRecord& answer : *answers) {
    const bool ok = answer.status == AnswerRecord::Status::kOk;
    rapidjson::Document rows;
    if (ok) {
      if (Status s = internal::ParseRows(answer, rows); !s.ok()) return StatusResponse(s);
    }
    w.StartObject();
    w.Key("node");
    WriteString(w, answer.host_identifier);
    w.Key("status");
    w.String(ok ? "ok" : "error");
    w.Key("columns");
    internal::WriteStrings(w, answer.columns);
    w.Key("rows");
    if (ok) {
      rows.Accept(w);
    } else {
      w.StartArray();
      w.EndArray();
    }
    w.Key("rows_total");
    w.Uint64(answer.rows_total);
    w.Key("error");
    if (ok) {
      w.Null();
    } else {
      WriteString(w, answer.error);
    }
    w.Key("duration_ms");
    internal::WriteDuration(w, answer.duration_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonResponse(200, buffer);
}

}  // namespace vigil::server
