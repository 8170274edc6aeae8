#include "engine/results/result_log.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

namespace vigil::results {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Text(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteRow(Writer& w, const ResultRow& row) {
  w.StartObject();
  for (const auto& [column, value] : row) {
    Text(w, column);
    Text(w, value);
  }
  w.EndObject();
}

// The fields before "action", in osquery's order.
void WriteHead(Writer& w, const LogContext& c) {
  w.Key("name");
  Text(w, c.name);
  w.Key("hostIdentifier");
  Text(w, c.host_identifier);
  w.Key("calendarTime");
  Text(w, CalendarTime(c.time));
  w.Key("unixTime");
  w.Int64(std::chrono::duration_cast<std::chrono::seconds>(c.time.time_since_epoch()).count());
  w.Key("epoch");
  w.Uint64(c.epoch);
  w.Key("counter");
  w.Uint64(c.counter);
  w.Key("numerics");
  w.Bool(false);
}

std::string EventLine(const LogContext& c, const char* action, const ResultRow& row) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  WriteHead(w, c);
  w.Key("action");
  w.String(action);
  w.Key("columns");
  WriteRow(w, row);
  w.EndObject();
  return buffer.GetString();
}

}  // namespace

std::vector<ResultRow> ToResultRows(const std::vector<std::string>& columns,
                                    const std::vector<Row>& rows) {
  std::vector<ResultRow> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    ResultRow r;
    for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
      r[columns[i]] = row[i].is_null() ? std::string() : row[i].ToString();
    }
    out.push_back(std::move(r));
  }
  return out;
}

ResultDiff Diff(const std::vector<ResultRow>& previous, const std::vector<ResultRow>& current) {
  // Count each distinct row on both sides; the surplus is what was added or removed, kept in
  // the order the rows came.
  std::map<ResultRow, long> balance;
  for (const ResultRow& r : current) ++balance[r];
  for (const ResultRow& r : previous) --balance[r];
  ResultDiff diff;
  std::map<ResultRow, long> left = balance;
  for (const ResultRow& r : current) {
    long& n = left[r];
    if (n > 0) {
      diff.added.push_back(r);
      --n;
    }
  }
  for (const ResultRow& r : previous) {
    long& n = left[r];
    if (n < 0) {
      diff.removed.push_back(r);
      ++n;
    }
  }
  return diff;
}

std::string EncodeRows(const std::vector<ResultRow>& rows) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const ResultRow& r : rows) WriteRow(w, r);
  w.EndArray();
  return buffer.GetString();
}

Result<std::vector<ResultRow>> DecodeRows(std::string_view stored) {
  rapidjson::Document doc;
  doc.Parse(stored.data(), stored.size());
  auto bad = [](const std::string& why) {
    return Status::Corruption("stored query result is unreadable: " + why);
  };
  if (doc.HasParseError()) return bad("not JSON");
  if (!doc.IsArray()) return bad("not an array of rows");
  std::vector<ResultRow> rows;
  for (const auto& item : doc.GetArray()) {
    if (!item.IsObject()) return bad("a row is not an object");
    ResultRow row;
    for (const auto& m : item.GetObject()) {
      if (!m.value.IsString()) return bad("a value is not text");
      row.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                  std::string(m.value.GetString(), m.value.GetStringLength()));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ScheduledName(std::string_view pack, std::string_view query) {
  return "pack_" + std::string(pack) + "_" + std::string(query);
}

std::string CalendarTime(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y UTC", &utc);
  return buf;
}

std::vector<std::string> EventLines(const LogContext& context, const ResultDiff& diff,
                                    bool log_removed) {
  std::vector<std::string> lines;
  for (const ResultRow& r : diff.added) lines.push_back(EventLine(context, "added", r));
  if (log_removed) {
    for (const ResultRow& r : diff.removed) lines.push_back(EventLine(context, "removed", r));
  }
  return lines;
}

std::string SnapshotLine(const LogContext& context, const std::vector<ResultRow>& rows) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  WriteHead(w, context);
  w.Key("action");
  w.String("snapshot");
  w.Key("snapshot");
  w.StartArray();
  for (const ResultRow& r : rows) WriteRow(w, r);
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

}  // namespace vigil::results
