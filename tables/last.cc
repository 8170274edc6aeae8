// last: the login history of /var/log/wtmp, the records `last` prints: sessions opened
// (USER_PROCESS) and closed (DEAD_PROCESS).
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
enum LastColumn : int {
  kUsername,
  kTty,
  kPid,
  kType,
  kTypeName,
  kTime,
  kHost,
  kAddr,
  kColumnCount
};

Schema LastSchema() {
  return Schema{
      "last",
      "Logins and logouts from /var/log/wtmp, in file order (oldest first): one row per "
      "record of a session starting (type 7, user-process) or ending (type 8, dead-process; "
      "username is then usually empty). Boot, shutdown and run-level records are not "
      "listed. Rotated files (wtmp.1) are not read. A missing file gives no rows; a "
      "truncated last record is ignored with a warning.",
      {
          {"username", ColumnType::kText, "Login name; empty in most logout records"},
          {"tty", ColumnType::kText, "Terminal without /dev/ (\"pts/0\", \"tty1\")"},
          {"pid", ColumnType::kInteger, "Process id of the login process (session leader)"},
          {"type", ColumnType::kInteger, "Record type as utmp.h numbers it: 7 login, 8 logout",
           kIndex},
          {"type_name", ColumnType::kText, "user-process (login) or dead-process (logout)"},
          {"time", ColumnType::kInteger, "When the record was written, UNIX seconds"},
          {"host", ColumnType::kText, "Remote host the login came from; empty for local logins"},
          {"addr", ColumnType::kText,
           "Remote IPv4 or IPv6 address of the login; NULL when the record has none"},
      }};
}

// wtmp grows by 384 bytes per login and logout until it is rotated.
constexpr size_t kMaxWtmpBytes = 256u << 20;
constexpr int kUserProcess = 7;
constexpr int kDeadProcess = 8;

class LastTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    auto add = [&](const internal::UtmpRecord& record) {
      if (record.type != kUserProcess && record.type != kDeadProcess) return;
      if (!ctx.Matches(kType, Value(record.type))) return;
      Row row(kColumnCount);
      row[kUsername] = record.user;
      row[kTty] = record.line;
      row[kPid] = record.pid;
      row[kType] = record.type;
      row[kTypeName] = record.type == kUserProcess ? "user-process" : "dead-process";
      row[kTime] = record.time;
      row[kHost] = record.host;
      if (record.addr) row[kAddr] = *record.addr;
      rows.push_back(std::move(row));
    };
    VIGIL_RETURN_IF_ERROR(internal::ReadUtmpFile(ctx, "/var/log/wtmp", kMaxWtmpBytes, add));
    return rows;
  }

 private:
  const Schema schema_ = LastSchema();
};

}  // namespace

std::unique_ptr<Table> MakeLastTable() { return std::make_unique<LastTable>(); }

}  // namespace vigil::tables
