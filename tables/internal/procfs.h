// Walking /proc under a host root: which process directories to visit, and splitting the
// kernel's space-separated lines without allocating. Shared by the process and socket tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/query_context.h"

namespace vigil::tables::internal {

// The process ids a scan visits, ascending: those an `=` / IN constraint on `pid_column` names
// (whether or not they exist; a missing /proc/PID is for the caller to skip), else every
// numeric entry of /proc that the column's other constraints can match. A host without /proc
// has none; an unreadable /proc is a warning.
std::vector<int64_t> ProcessIds(const QueryContext& ctx, int pid_column);

// "/proc/123" + "/" + name, built in one string.
std::string ProcPath(int64_t pid, std::string_view name);

// Splits `line` at runs of spaces and tabs into at most out.size() fields (the last one holds
// no rest: fields past the limit are dropped). Returns how many were found.
size_t SplitInto(std::string_view line, std::span<std::string_view> out);

// "net:[4026531840]" -> 4026531840 for kind "net"; nullopt for anything else.
std::optional<uint64_t> NamespaceInode(std::string_view link, std::string_view kind);

// "socket:[12345]" -> 12345; nullopt for other descriptor targets.
std::optional<uint64_t> SocketInode(std::string_view link);

}  // namespace vigil::tables::internal
