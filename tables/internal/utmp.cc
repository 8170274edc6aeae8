#include "tables/internal/utmp.h"

#include <arpa/inet.h>
#include <utmp.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/host.h"

namespace vigil::tables::internal {
namespace {

static_assert(sizeof(void*) != 8 || sizeof(struct utmp) == 384,
              "the 64-bit utmp record is 384 bytes");

template <size_t N>
std::string FixedText(const char (&field)[N]) {
  return std::string(field, ::strnlen(field, N));
}

std::optional<std::string> AddressText(const int32_t (&words)[4]) {
  if (words[0] == 0 && words[1] == 0 && words[2] == 0 && words[3] == 0) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  // An IPv4 address fills the first word only, in network byte order.
  const bool v4 = words[1] == 0 && words[2] == 0 && words[3] == 0;
  if (::inet_ntop(v4 ? AF_INET : AF_INET6, words, text, sizeof(text)) == nullptr) {
    return std::nullopt;
  }
  return std::string(text);
}

UtmpRecord Decode(const char* bytes) {
  struct utmp raw;
  std::memcpy(&raw, bytes, sizeof(raw));
  UtmpRecord record;
  record.type = raw.ut_type;
  record.pid = raw.ut_pid;
  record.line = FixedText(raw.ut_line);
  record.id = FixedText(raw.ut_id);
  record.user = FixedText(raw.ut_user);
  record.host = FixedText(raw.ut_host);
  record.time = static_cast<uint32_t>(raw.ut_tv.tv_sec);
  record.session = raw.ut_session;
  record.addr = AddressText(raw.ut_addr_v6);
  return record;
}

}  // namespace

size_t UtmpRecordSize() { return sizeof(struct utmp); }

Result<bool> ReadUtmpFile(const QueryContext& ctx, std::string_view path, size_t max_bytes,
                          const std::function<void(const UtmpRecord&)>& on_record) {
  const size_t size = UtmpRecordSize();
  std::string pending;  // the start of a record split across chunks
  size_t records = 0;
  size_t bytes = 0;
  Status deadline;
  Status read = ctx.host().ReadChunks(path, max_bytes, [&](std::string_view chunk) -> Status {
    bytes += chunk.size();
    if (!pending.empty()) {
      size_t take = std::min(size - pending.size(), chunk.size());
      pending.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (pending.size() < size) return Status::Ok();
      on_record(Decode(pending.data()));
      ++records;
      pending.clear();
    }
    for (; chunk.size() >= size; chunk.remove_prefix(size)) {
      if (++records % 4096 == 0) {
        deadline = ctx.CheckDeadline();
        if (!deadline.ok()) return deadline;
      }
      on_record(Decode(chunk.data()));
    }
    pending.assign(chunk);
    return Status::Ok();
  });
  if (!deadline.ok()) return deadline;
  if (!read.ok()) {
    if (read.code() == StatusCode::kNotFound && bytes == 0) return false;
    ctx.Warn(read.message() + "; " + std::to_string(records) + " records read");
    return true;
  }
  if (!pending.empty()) {
    ctx.Warn(std::string(path) + ": " + std::to_string(bytes) +
             " bytes is not a whole number "
             "of " +
             std::to_string(size) + "-byte records; the last " + std::to_string(pending.size()) +
             " bytes are ignored");
  }
  return true;
}

}  // namespace vigil::tables::internal
