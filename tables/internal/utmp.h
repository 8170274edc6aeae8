// Reading login records (utmp(5): /run/utmp, /var/log/wtmp) through the Host. The files are
// arrays of the C library's `struct utmp` in this machine's layout (384 bytes on x86_64);
// shared by the logged_in_users and last tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "engine/query_context.h"
#include "engine/status.h"

namespace vigil::tables::internal {

// One record, its fixed-size text fields cut at the first NUL.
struct UtmpRecord {
  int type = 0;  // ut_type: EMPTY (0) ... USER_PROCESS (7), DEAD_PROCESS (8), ...
  int64_t pid = 0;
  std::string line;  // terminal without "/dev/" ("pts/0", "tty1", "~")
  std::string id;    // inittab id / terminal suffix
  std::string user;
  std::string host;  // remote host name, or the kernel release in boot records
  int64_t time = 0;  // UNIX seconds (read unsigned, so dates past 2038 stay positive)
  int64_t session = 0;
  std::optional<std::string> addr;  // remote address as text; nullopt when all zero
};

// The size of one record in the files of this machine.
size_t UtmpRecordSize();

// Calls `on_record` for each whole record of the file, in file order. Returns false without a
// warning when the file does not exist. Warns (and still returns true) when it exists but
// cannot be read or is larger than `max_bytes` (the records read so far are kept), and when
// its size is not a whole number of records (the partial record is ignored). Errors: only
// DeadlineExceeded, checked as records are read.
Result<bool> ReadUtmpFile(const QueryContext& ctx, std::string_view path, size_t max_bytes,
                          const std::function<void(const UtmpRecord&)>& on_record);

}  // namespace vigil::tables::internal
