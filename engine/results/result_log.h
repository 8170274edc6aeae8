// Scheduled-query results in osquery's result log format (PROTOCOL.md, "Result log line"), so
// existing log pipelines read Vigil's unchanged: differential queries log the rows `added` and
// `removed` since the last run, snapshot queries log every row each time. The agent keeps each
// query's last rows in the store's `results` family (EncodeRows/DecodeRows) to compute the diff.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/value.h"

namespace vigil::results {

// One row as the log carries it: column -> value as text (NULL is ""), columns in name order.
using ResultRow = std::map<std::string, std::string>;

// Rows of a result, as text.
std::vector<ResultRow> ToResultRows(const std::vector<std::string>& columns,
                                    const std::vector<Row>& rows);

// What changed between two runs, as multisets: a row present twice before and once now is
// removed once.
struct ResultDiff {
  std::vector<ResultRow> added;
  std::vector<ResultRow> removed;
  bool empty() const { return added.empty() && removed.empty(); }
};
ResultDiff Diff(const std::vector<ResultRow>& previous, const std::vector<ResultRow>& current);

// The last rows of a query, as stored between runs (compact JSON, an array of objects).
std::string EncodeRows(const std::vector<ResultRow>& rows);
// Corruption when the stored value is not what EncodeRows writes.
Result<std::vector<ResultRow>> DecodeRows(std::string_view stored);

// The fields every line of one run shares.
struct LogContext {
  std::string name;             // "pack_iec62443-availability_listening_ports"
  std::string host_identifier;  // "hist-01"
  std::chrono::system_clock::time_point time;
  uint64_t epoch = 0;
  uint64_t counter = 0;  // runs of this query logged so far in this epoch
};

// osquery's name of a pack's query: "pack_" + pack + "_" + query.
std::string ScheduledName(std::string_view pack, std::string_view query);
// "Wed Nov 25 17:02:00 2026 UTC"
std::string CalendarTime(std::chrono::system_clock::time_point time);

// One JSON line per added row, then (unless `log_removed` is false, the query's `removed`
// setting) one per removed row. No trailing newlines.
std::vector<std::string> EventLines(const LogContext& context, const ResultDiff& diff,
                                    bool log_removed = true);
// The one line of a snapshot query: every row under "snapshot".
std::string SnapshotLine(const LogContext& context, const std::vector<ResultRow>& rows);

}  // namespace vigil::results
