// One check on one node at one time (PROTOCOL.md, "Verdict"): the same record whether
// `vigil check` prints it, the agent queues it or the hub stores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/value.h"

namespace vigil::packs {

enum class VerdictStatus { kPass, kFail, kError, kNotApplicable, kFixed };

std::string_view VerdictStatusName(VerdictStatus status);  // "pass", "not_applicable", ...

// One change an enforcer made or would make.
struct Change {
  enum class Kind { kFile, kCommand };
  Kind kind = Kind::kFile;
  std::string path;               // kFile
  std::string diff;               // kFile: unified diff
  std::vector<std::string> argv;  // kCommand
  std::optional<int> exit_code;   // kCommand: unset when it was listed, not run
};

struct Remediation {
  std::string outcome;  // applied, planned, refused, failed, rolled_back
  std::vector<Change> changes;
  std::string message;
  std::optional<uint64_t> audit_seq;
};

struct Verdict {
  std::string check;
  std::string pack;
  std::vector<std::string> sr;
  int sl = 1;
  VerdictStatus status = VerdictStatus::kPass;
  std::vector<std::string> columns;  // of rows
  std::vector<Row> rows;             // capped; rows_total is the true count
  size_t rows_total = 0;
  std::string error;  // when status is kError (and why not applicable, when that)
  double duration_ms = 0;
  std::string time;      // RFC 3339 UTC
  std::string enforcer;  // the action name, "" when detect-only
  std::optional<Remediation> remediation;
};

// "2026-11-25T17:02:00Z" for now.
std::string NowRfc3339();

}  // namespace vigil::packs
