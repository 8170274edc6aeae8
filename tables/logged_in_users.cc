// logged_in_users: the login records of /run/utmp, the file login, sshd and systemd keep of
// who is on the system now.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/utmp.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum LoggedInUsersColumn : int { kType, kUser, kTty, kHost, kTime, kPid, kAddr, kColumnCount };

Schema LoggedInUsersSchema() {
  return Schema{
      "logged_in_users",
      "Every record of the utmp file (/run/utmp, else /var/run/utmp), in file order: current "
      "logins (type 'user') and the other session slots the system keeps (getty 'login' "
      "processes, ended sessions 'dead', boot and run-level records). A missing file gives "
      "no rows; a truncated last record is ignored with a warning.",
      {
          {"type", ColumnType::kText,
           "Record type: empty, runlevel, boot_time, new_time, old_time, init, login, user, "
           "dead, accounting, or unknown"},
          {"user", ColumnType::kText, "Login name (\"reboot\"/\"runlevel\" in system records)"},
          {"tty", ColumnType::kText, "Terminal without /dev/ (\"pts/0\", \"tty1\")"},
          {"host", ColumnType::kText,
           "Remote host the login came from; empty for local logins; the kernel release in "
           "boot records"},
          {"time", ColumnType::kInteger, "When the record was written, UNIX seconds"},
          {"pid", ColumnType::kInteger, "Process id of the login process (session leader)"},
          {"addr", ColumnType::kText,
           "Remote IPv4 or IPv6 address of the login; NULL when the record has none"},
      }};
}

constexpr size_t kMaxUtmpBytes = 16u << 20;

std::string_view TypeName(int type) {
  static constexpr std::string_view kNames[] = {"empty",    "runlevel",  "boot_time", "new_time",
                                                "old_time", "init",      "login",     "user",
                                                "dead",     "accounting"};
  if (type < 0 || type >= static_cast<int>(std::size(kNames))) return "unknown";
  return kNames[type];
}

class LoggedInUsersTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    auto add = [&](const internal::UtmpRecord& record) {
      std::string_view type = TypeName(record.type);
      if (!ctx.Matches(kType, Value(type)) || !ctx.Matches(kUser, Value(record.user))) return;
      Row row(kColumnCount);
      row[kType] = type;
      row[kUser] = record.user;
      row[kTty] = record.line;
      row[kHost] = record.host;
      row[kTime] = record.time;
      row[kPid] = record.pid;
      if (record.addr) row[kAddr] = *record.addr;
      rows.push_back(std::move(row));
    };
    VIGIL_ASSIGN_OR_RETURN(bool found,
                           internal::ReadUtmpFile(ctx, "/run/utmp", kMaxUtmpBytes, add));
    if (!found) {
      VIGIL_RETURN_IF_ERROR(internal::ReadUtmpFile(ctx, "/var/run/utmp", kMaxUtmpBytes, add));
    }
    return rows;
  }

 private:
  const Schema schema_ = LoggedInUsersSchema();
};

}  // namespace

std::unique_ptr<Table> MakeLoggedInUsersTable() { return std::make_unique<LoggedInUsersTable>(); }

}  // namespace vigil::tables
