// processes: one row per process of /proc, read from /proc/PID/{stat,status,cmdline,exe,cwd,
// root,io,cgroup}. Each file is read at most once per process and only when a column the
// statement uses needs it.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/procfs.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

using internal::ParseInt;
using internal::ParseUint;
using internal::ProcPath;

// Column positions, in the order of the column list below.
enum ProcessesColumn : int {
  kPid,
  kName,
  kPath,
  kCmdline,
  kState,
  kCwd,
  kRoot,
  kUid,
  kGid,
  kEuid,
  kEgid,
  kSuid,
  kSgid,
  kOnDisk,
  kWiredSize,
  kResidentSize,
  kTotalSize,
  kUserTime,
  kSystemTime,
  kDiskBytesRead,
  kDiskBytesWritten,
  kStartTime,
  kParent,
  kPgroup,
  kThreads,
  kNice,
  kCgroupPath,
  kColumnCount
};

Schema ProcessesSchema() {
  return Schema{
      "processes",
      "Running processes, one row per /proc/PID directory, ascending by pid. Read from "
      "/proc/PID/stat, status, cmdline, exe, cwd, root, io and cgroup; a file is read only when "
      "a column the statement uses comes from it, and processes that exit during the scan are "
      "left out. Values another user's process hides from an unprivileged reader are NULL.",
      {
          {"pid", ColumnType::kInteger, "Process id (a thread id in `pid = N` also works)", kIndex},
          {"name", ColumnType::kText, "Command name, at most 15 characters (stat's comm field)"},
          {"path", ColumnType::kText,
           "Executable (/proc/PID/exe) without the kernel's \" (deleted)\" suffix; empty for "
           "kernel threads, NULL when unreadable"},
          {"cmdline", ColumnType::kText,
           "Arguments from /proc/PID/cmdline joined by spaces; empty for kernel threads"},
          {"state", ColumnType::kText, "State letter: R, S, D, Z, T, t, I, X"},
          {"cwd", ColumnType::kText, "Current directory (/proc/PID/cwd); NULL when unreadable"},
          {"root", ColumnType::kText, "Root directory (/proc/PID/root); NULL when unreadable"},
          {"uid", ColumnType::kInteger, "Real user id (status Uid:)"},
          {"gid", ColumnType::kInteger, "Real group id (status Gid:)"},
          {"euid", ColumnType::kInteger, "Effective user id"},
          {"egid", ColumnType::kInteger, "Effective group id"},
          {"suid", ColumnType::kInteger, "Saved user id"},
          {"sgid", ColumnType::kInteger, "Saved group id"},
          {"on_disk", ColumnType::kInteger,
           "1 when the executable exists at path, 0 when it was deleted or replaced, -1 when "
           "unknown (kernel threads, exe unreadable)"},
          {"wired_size", ColumnType::kInteger, "Locked (unpageable) memory in bytes (VmLck)"},
          {"resident_size", ColumnType::kInteger,
           "Resident memory in bytes (VmRSS); 0 for "
           "processes without an address space"},
          {"total_size", ColumnType::kInteger, "Virtual memory size in bytes (VmSize)"},
          {"user_time", ColumnType::kInteger, "CPU time in user mode, milliseconds"},
          {"system_time", ColumnType::kInteger, "CPU time in kernel mode, milliseconds"},
          {"disk_bytes_read", ColumnType::kInteger,
           "Bytes fetched from storage (io read_bytes); NULL when unreadable"},
          {"disk_bytes_written", ColumnType::kInteger,
           "Bytes sent to storage (io write_bytes less cancelled_write_bytes); NULL when "
           "unreadable"},
          {"start_time", ColumnType::kInteger,
           "Start time, seconds since the Unix epoch (boot time from /proc/stat btime plus the "
           "start tick); NULL when the boot time is unknown"},
          {"parent", ColumnType::kInteger, "Parent process id"},
          {"pgroup", ColumnType::kInteger, "Process group id"},
          {"threads", ColumnType::kInteger, "Number of threads"},
          {"nice", ColumnType::kInteger, "Nice value, -20 (favoured) to 19"},
          {"cgroup_path", ColumnType::kText,
           "Control group of the unified (v2) hierarchy from /proc/PID/cgroup, or the systemd "
           "v1 hierarchy's on hosts without v2; NULL when neither is listed"},
      }};
}

constexpr size_t kMaxCmdlineBytes = 4u << 20;
constexpr size_t kMaxSmallFileBytes = 1u << 20;

// Fields of /proc/PID/stat after "pid (comm) ", counted from 0 (field 3 of proc(5) is 0).
enum StatField : int {
  kStatState = 0,
  kStatPpid = 1,
  kStatPgrp = 2,
  kStatUtime = 11,
  kStatStime = 12,
  kStatNice = 16,
  kStatThreads = 17,
  kStatStartTime = 19,
  kStatFieldCount = 20
};

std::optional<int64_t> Number(std::string_view text) { return ParseInt(text); }

// The value of "Uid:\t0\t0\t0\t0" (real, effective, saved, filesystem) into three columns.
void SetIds(std::string_view values, Row& row, int real, int effective, int saved) {
  std::array<std::string_view, 3> ids;
  if (internal::SplitInto(values, ids) < ids.size()) return;
  const int columns[] = {real, effective, saved};
  for (size_t i = 0; i < ids.size(); ++i) {
    if (std::optional<uint64_t> id = ParseUint(ids[i])) row[columns[i]] = static_cast<int64_t>(*id);
  }
}

// "VmRSS:\t    1234 kB" -> bytes.
std::optional<int64_t> KilobytesToBytes(std::string_view value) {
  value = internal::Trim(value);
  if (value.ends_with(" kB")) value.remove_suffix(3);
  std::optional<int64_t> kb = Number(internal::Trim(value));
  return kb ? std::optional<int64_t>(*kb * 1024) : std::nullopt;
}

// Calls visit(key, value) for each "Key: value" line.
template <typename Visit>
void ForEachKeyLine(std::string_view text, Visit&& visit) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) visit(line.substr(0, colon), line.substr(colon + 1));
  }
}

class ProcessesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    Plan plan(ctx);
    std::optional<int64_t> boot_time;
    if (plan.start_time) boot_time = BootTime(ctx);
    std::vector<Row> rows;
    for (int64_t pid : internal::ProcessIds(ctx, kPid)) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      Row row(kColumnCount);
      if (ReadProcess(ctx, plan, pid, boot_time, row)) rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  // Which files the statement needs.
  struct Plan {
    explicit Plan(const QueryContext& ctx)
        : status(Any(ctx, {kUid, kGid, kEuid, kEgid, kSuid, kSgid, kWiredSize, kResidentSize,
                           kTotalSize})),
          cmdline(ctx.IsUsed(kCmdline)),
          exe(Any(ctx, {kPath, kOnDisk})),
          cwd(ctx.IsUsed(kCwd)),
          root(ctx.IsUsed(kRoot)),
          io(Any(ctx, {kDiskBytesRead, kDiskBytesWritten})),
          cgroup(ctx.IsUsed(kCgroupPath)),
          start_time(ctx.IsUsed(kStartTime)) {}
    static bool Any(const QueryContext& ctx, std::initializer_list<int> columns) {
      return std::any_of(columns.begin(), columns.end(), [&](int c) { return ctx.IsUsed(c); });
    }
    const bool status, cmdline, exe, cwd, root, io, cgroup, start_time;
  };

  static std::optional<int64_t> BootTime(const QueryContext& ctx) {
    std::optional<std::string> stat = internal::ReadOptionalFile(ctx, "/proc/stat");
    if (!stat) return std::nullopt;
    std::optional<int64_t> btime;
    for (const internal::NumberedLine& line : internal::SplitLines(*stat)) {
      if (line.text.starts_with("btime ")) btime = Number(internal::Trim(line.text.substr(6)));
    }
    if (!btime) ctx.Warn("/proc/stat: no btime line");
    return btime;
  }

  // Fills `row`; false when the process is gone (or never existed).
  static bool ReadProcess(const QueryContext& ctx, const Plan& plan, int64_t pid,
                          std::optional<int64_t> boot_time, Row& row) {
    const Host& host = ctx.host();
    Result<std::string> stat = host.ReadFile(ProcPath(pid, "stat"), kMaxSmallFileBytes);
    if (!stat.ok()) return false;
    if (!ParseStat(ctx, pid, *stat, boot_time, row)) return false;

    if (plan.status) {
      Result<std::string> status = host.ReadFile(ProcPath(pid, "status"), kMaxSmallFileBytes);
      if (!status.ok()) {
        if (status.status().code() == StatusCode::kNotFound) return false;
        ctx.Warn(status.status().message());
      } else {
        ParseStatus(*status, row);
      }
    }
    if (plan.cmdline) {
      Result<std::string> cmdline = host.ReadFile(ProcPath(pid, "cmdline"), kMaxCmdlineBytes);
      if (!cmdline.ok()) {
        if (cmdline.status().code() == StatusCode::kNotFound) return false;
        ctx.Warn(cmdline.status().message());
      } else {
        std::string& args = *cmdline;
        while (!args.empty() && (args.back() == '\0' || args.back() == ' ')) args.pop_back();
        std::replace(args.begin(), args.end(), '\0', ' ');
        row[kCmdline] = std::move(args);
      }
    }
    if (plan.exe) ReadExecutable(host, pid, row);
    if (plan.cwd) {
      if (Result<std::string> cwd = host.ReadLink(ProcPath(pid, "cwd")); cwd.ok()) {
        row[kCwd] = std::move(*cwd);
      }
    }
    if (plan.root) {
      if (Result<std::string> root = host.ReadLink(ProcPath(pid, "root")); root.ok()) {
        row[kRoot] = std::move(*root);
      }
    }
    if (plan.io) {
      Result<std::string> io = host.ReadFile(ProcPath(pid, "io"), kMaxSmallFileBytes);
      if (io.ok()) {
        std::optional<int64_t> read, written, cancelled;
        ForEachKeyLine(*io, [&](std::string_view key, std::string_view value) {
          if (key == "read_bytes") read = Number(internal::Trim(value));
          if (key == "write_bytes") written = Number(internal::Trim(value));
          if (key == "cancelled_write_bytes") cancelled = Number(internal::Trim(value));
        });
        if (read) row[kDiskBytesRead] = *read;
        if (written)
          row[kDiskBytesWritten] = std::max<int64_t>(0, *written - cancelled.value_or(0));
      } else if (io.status().code() == StatusCode::kNotFound) {
        return false;
      }
    }
    if (plan.cgroup) {
      Result<std::string> cgroup = host.ReadFile(ProcPath(pid, "cgroup"), kMaxSmallFileBytes);
      if (!cgroup.ok()) {
        if (cgroup.status().code() == StatusCode::kNotFound) return false;
      } else {
        row[kCgroupPath] = CgroupPath(*cgroup);
      }
    }
    return true;
  }

  // Ids and memory sizes; a process without an address space (a kernel thread) has no Vm lines.
  static void ParseStatus(std::string_view status, Row& row) {
    row[kWiredSize] = 0;
    row[kResidentSize] = 0;
    row[kTotalSize] = 0;
    ForEachKeyLine(status, [&row](std::string_view key, std::string_view value) {
      if (key == "Uid") {
        SetIds(value, row, kUid, kEuid, kSuid);
      } else if (key == "Gid") {
        SetIds(value, row, kGid, kEgid, kSgid);
      } else if (key == "VmLck" || key == "VmRSS" || key == "VmSize") {
        std::optional<int64_t> bytes = KilobytesToBytes(value);
        if (!bytes) return;
        row[key == "VmLck" ? kWiredSize : key == "VmRSS" ? kResidentSize : kTotalSize] = *bytes;
      }
    });
  }

  // "412 (sshd) S 1 412 412 0 -1 ..." into the stat-derived columns; false when malformed.
  static bool ParseStat(const QueryContext& ctx, int64_t pid, std::string_view stat,
                        std::optional<int64_t> boot_time, Row& row) {
    static const int64_t ticks = std::max<long>(1, ::sysconf(_SC_CLK_TCK));
    size_t open = stat.find('(');
    size_t close = stat.rfind(')');  // the name may itself hold ')'
    std::array<std::string_view, kStatFieldCount> f;
    if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
        internal::SplitInto(stat.substr(close + 1), f) < f.size()) {
      ctx.Warn(ProcPath(pid, "stat") + ": malformed");
      return false;
    }
    row[kPid] = pid;
    row[kName] = stat.substr(open + 1, close - open - 1);
    row[kState] = f[kStatState];
    auto set = [&row](int column, std::string_view text) {
      if (std::optional<int64_t> n = Number(text)) row[column] = *n;
    };
    set(kParent, f[kStatPpid]);
    set(kPgroup, f[kStatPgrp]);
    set(kNice, f[kStatNice]);
    set(kThreads, f[kStatThreads]);
    if (std::optional<int64_t> utime = Number(f[kStatUtime]))
      row[kUserTime] = *utime * 1000 / ticks;
    if (std::optional<int64_t> stime = Number(f[kStatStime])) {
      row[kSystemTime] = *stime * 1000 / ticks;
    }
    std::optional<int64_t> start = Number(f[kStatStartTime]);
    if (boot_time && start) row[kStartTime] = *boot_time + *start / ticks;
    return true;
  }

  static void ReadExecutable(const Host& host, int64_t pid, Row& row) {
    Result<std::string> exe = host.ReadLink(ProcPath(pid, "exe"));
    if (!exe.ok()) {
      // A kernel thread has no executable; another user's process may hide it.
      if (exe.status().code() == StatusCode::kNotFound) row[kPath] = "";
      row[kOnDisk] = -1;
      return;
    }
    std::string path = std::move(*exe);
    constexpr std::string_view kDeleted = " (deleted)";
    bool deleted = path.ends_with(kDeleted);
    if (deleted) path.resize(path.size() - kDeleted.size());
    row[kOnDisk] = deleted ? 0 : (host.Exists(path) ? 1 : 0);
    row[kPath] = std::move(path);
  }

  // "0::/system.slice/ssh.service" (v2) or "N:name=systemd:/..." (v1).
  static Value CgroupPath(std::string_view text) {
    std::optional<std::string_view> v1;
    for (const internal::NumberedLine& line : internal::SplitLines(text)) {
      if (line.text.starts_with("0::")) return Value(line.text.substr(3));
      size_t first = line.text.find(':');
      if (first == std::string_view::npos) continue;
      std::string_view rest = line.text.substr(first + 1);
      if (rest.starts_with("name=systemd:")) v1 = rest.substr(13);
    }
    return v1 ? Value(*v1) : Value();
  }

  const Schema schema_ = ProcessesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeProcessesTable() { return std::make_unique<ProcessesTable>(); }

}  // namespace vigil::tables
