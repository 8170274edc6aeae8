// Vigil's extension socket: the interface between the node daemon (`vigil daemon`) and
// clients (`vigil sql|shell --connect SOCKET`, programs in any Thrift language) and extension
// processes that serve tables.
//
// Wire: a UNIX socket, framed transport (4-byte big-endian length, then the message), binary
// protocol (strict). Connections are short: a client connects, makes its calls and closes; the
// daemon closes a connection idle for longer than its receive timeout (30 s) and one that sends
// something it cannot decode.
//
// Registering a table from another process:
//   1. the extension listens on its own UNIX socket, serving `Extension` (ping and call);
//   2. it calls `Daemon.registerExtension` with that socket's path and its tables' schemas;
//      the daemon pings the extension's socket before it accepts, and answers with a uuid;
//   3. the tables are then served in SQL like built-in ones: each scan is one `Extension.call`,
//      with a time limit (2 s by default);
//   4. the daemon pings every registered extension every few seconds. An extension that does
//      not answer a ping or a call in time, or answers with a transport error, is unregistered
//      and its tables disappear; it may register again.

namespace cpp vigil.agent.extension.wire
namespace py vigil_extension

// code 0 is success; anything else is a failure described by message: 1 invalid argument,
// 2 not found, 3 already exists, 4 permission denied, 5 failed precondition, 6 resource
// exhausted, 7 deadline exceeded, 8 unavailable, 9 I/O error, 10 corruption, 11 internal,
// 12 unauthenticated.
// An extension may answer any non-zero code; the daemon treats unknown ones as internal.
struct ExtensionStatus {
  1: i32 code,
  2: string message,
}

// Rows as text, one map per row from column name to value (a NULL value has no key).
struct ExtensionResponse {
  1: ExtensionStatus status,
  2: list<map<string, string>> response,
}

// One typed cell: at most one field is set; none set is NULL.
struct Cell {
  1: optional i64 integer_value,
  2: optional double real_value,
  3: optional string text_value,
}

// The result of Daemon.execute: columns in statement order and typed rows.
struct QueryResult {
  1: ExtensionStatus status,
  2: list<string> columns,
  3: list<list<Cell>> rows,
  // Every row the statement produced; more than rows.size() when max_rows capped the result.
  4: i64 rows_total,
  // Problems tables met that cost rows but not the statement.
  5: list<string> warnings,
}

struct ExecuteOptions {
  // 0: no cap.
  1: i64 max_rows = 0,
  // 0: the daemon's own time limit; larger values are capped at it.
  2: i64 timeout_ms = 0,
}

// Column types an extension may declare. TEXT maps to the engine's TEXT, INTEGER and BIGINT
// to INTEGER (64-bit), DOUBLE to REAL.
enum ColumnType {
  TEXT = 1,
  INTEGER = 2,
  BIGINT = 3,
  DOUBLE = 4,
}

struct ColumnDefinition {
  1: string name,
  2: ColumnType type = ColumnType.TEXT,
  3: string description,
}

// A table an extension serves. Names are lowercase identifiers ([a-z_][a-z0-9_]*), unique
// across the daemon (a name a built-in table or another extension uses is refused); every
// table and column needs a description.
struct TableSchema {
  1: string name,
  2: string description,
  3: list<ColumnDefinition> columns,
}

struct ExtensionInfo {
  1: string name,
  2: string version,
  // Absolute path of the UNIX socket on which the extension serves `Extension`.
  3: string socket_path,
}

struct RegistrationResponse {
  1: ExtensionStatus status,
  // Identifies the registration (deregisterExtension, extensions()); 0 on failure.
  2: i64 uuid,
}

struct RegisteredExtension {
  1: ExtensionInfo info,
  2: list<string> tables,
}

// Served by the daemon on its socket.
service Daemon {
  ExtensionStatus ping(),
  // One read-only statement; rows as text maps (osquery's shape). Column order is lost: use
  // execute() when it matters.
  ExtensionResponse query(1: string sql),
  // The result columns of a statement, prepared but not run: one map per column, in order,
  // from the column's name to its type. The engine knows the names only when preparing, so the
  // type is "" (unknown).
  ExtensionResponse getQueryColumns(1: string sql),
  // One read-only statement with columns in order and typed values.
  QueryResult execute(1: string sql, 2: ExecuteOptions options),
  RegistrationResponse registerExtension(1: ExtensionInfo info, 2: list<TableSchema> tables),
  ExtensionStatus deregisterExtension(1: i64 uuid),
  map<i64, RegisteredExtension> extensions(),
}

// Served by an extension on the socket it registered.
service Extension {
  ExtensionStatus ping(),
  // registry is "table"; item is the table's name. request holds the scan's context:
  //   "action": "generate"
  //   "constraints": JSON, {"column": [{"op": "=", "values": [...]}, ...], ...}: per column,
  //                  constraints that all hold; op is one of = < <= > >= LIKE GLOB; "=" lists
  //                  every accepted value (an IN list), the others exactly one. An extension
  //                  may use them to do less work; the daemon re-checks every constraint.
  //   "columns": the used columns, comma separated
  // The response rows are maps from column name to value as text; a missing key is NULL, an
  // unknown key is an error.
  ExtensionResponse call(1: string registry, 2: string item, 3: map<string, string> request),
}
