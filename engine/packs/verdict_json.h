// Reading the verdict record (PROTOCOL.md, "Verdict") back: the inverse of VerdictJson()
// (engine/packs/report.h). The hub parses the `verdict` items agents send with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/packs/verdict.h"
#include "engine/status.h"

namespace vigil::packs {

// Parses one verdict object. Members it does not know (the `kind` of a `results` item, a later
// version's fields) are ignored; a missing `check` or `status`, an unknown status, or a member
// of the wrong type is InvalidArgument naming the member. `rows` objects become `columns` (in
// the order of the first row's members) and rows.
Result<Verdict> ParseVerdictJson(std::string_view json);

// "pass", "fail", "error", "not_applicable", "fixed" -> the status; nullopt for anything else.
std::optional<VerdictStatus> ParseVerdictStatus(std::string_view name);

// "2026-11-25T17:02:00Z" (or with fractional seconds, or an offset "+01:00") -> unix seconds;
// nullopt when it is not an RFC 3339 date-time.
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace vigil::packs
