#include "tables/internal/procfs.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/host.h"
#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

std::optional<int64_t> PidOf(const Value& v) {
  if (v.is_integer()) return v.integer();
  if (v.is_real() && std::floor(v.real()) == v.real()) return static_cast<int64_t>(v.real());
  if (v.is_text()) return ParseInt(Trim(v.text()));
  return std::nullopt;
}

std::optional<uint64_t> BracketedNumber(std::string_view link, std::string_view prefix) {
  if (link.size() < prefix.size() + 2 || !link.starts_with(prefix) || link.back() != ']') {
    return std::nullopt;
  }
  std::string_view digits = link.substr(prefix.size(), link.size() - prefix.size() - 1);
  return ParseUint(digits);
}

}  // namespace

std::vector<int64_t> ProcessIds(const QueryContext& ctx, int pid_column) {
  std::vector<int64_t> pids;
  if (std::optional<std::vector<Value>> wanted = ctx.Equals(pid_column)) {
    for (const Value& v : *wanted) {
      std::optional<int64_t> pid = PidOf(v);
      if (pid && *pid > 0) pids.push_back(*pid);
    }
  } else {
    Result<std::vector<DirEntry>> entries = ctx.host().ListDirectory("/proc");
    if (!entries.ok()) {
      if (entries.status().code() != StatusCode::kNotFound) ctx.Warn(entries.status().message());
      return pids;
    }
    pids.reserve(entries->size());
    for (const DirEntry& entry : *entries) {
      if (entry.name.empty() || entry.name[0] < '1' || entry.name[0] > '9') continue;
      std::optional<int64_t> pid = ParseInt(entry.name);
      if (pid && ctx.Matches(pid_column, Value(*pid))) pids.push_back(*pid);
    }
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

std::string ProcPath(int64_t pid, std::string_view name) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), pid);
  std::string path;
  path.reserve(7 + static_cast<size_t>(end - digits) + name.size());
  path.append("/proc/").append(digits, end).append("/").append(name);
  return path;
}

size_t SplitInto(std::string_view line, std::span<std::string_view> out) {
  size_t count = 0;
  size_t i = 0;
  while (i < line.size() && count < out.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out[count++] = line.substr(start, i - start);
  }
  return count;
}

std::optional<uint64_t> NamespaceInode(std::string_view link, std::string_view kind) {
  if (!link.starts_with(kind)) return std::nullopt;
  link.remove_prefix(kind.size());
  return BracketedNumber(link, ":[");
}

std::optional<uint64_t> SocketInode(std::string_view link) {
  return BracketedNumber(link, "socket:[");
}

}  // namespace vigil::tables::internal
