// What a statement asks of one table scan: the constraints SQLite pushed down, the columns the
// statement uses, the host to read, and the statement's deadline. A collector may use any of
// it to do less work; SQLite re-checks every constraint on the rows it gets, so a collector that
// ignores a constraint is slower, never wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/schema.h"
#include "engine/status.h"
#include "engine/value.h"

namespace vigil {

class Host;

enum class ConstraintOp : uint8_t { kEq, kLt, kLe, kGt, kGe, kLike, kGlob };

std::string_view ConstraintOpName(ConstraintOp op);  // "=", "<", ..., "LIKE", "GLOB"

// One pushed-down constraint. `kEq` carries every value of an `IN (...)` list at once (one
// value for a plain `=`); the others carry exactly one value.
struct Constraint {
  ConstraintOp op = ConstraintOp::kEq;
  std::vector<Value> values;
};

class QueryContext {
 public:
  using Clock = std::chrono::steady_clock;

  // `host` and `schema` must outlive the context.
  QueryContext(const Host& host, const Schema& schema);

  const Host& host() const { return host_; }
  const Schema& schema() const { return schema_; }

  void AddConstraint(int column, Constraint constraint);
  const std::vector<Constraint>& constraints(int column) const;
  const std::vector<Constraint>& constraints(std::string_view column) const;
  bool HasConstraints() const;

  // The values the column must equal, from `=` and `IN` (intersected when there are several),
  // or nullopt when no equality constrains it. Values keep their SQL type.
  std::optional<std::vector<Value>> Equals(int column) const;
  // Equals() with every value as text (integers printed, NULLs dropped), sorted and unique.
  std::optional<std::vector<std::string>> EqualsText(std::string_view column) const;
  // Whether `v` could satisfy every constraint on the column, as SQLite would judge it
  // (numeric/text comparison by type, LIKE case-insensitive for ASCII, GLOB case-sensitive).
  bool Matches(int column, const Value& v) const;

  // Used columns: SQLite's colUsed mask. Bit 63 stands for column 63 and every later one.
  void SetUsedColumns(uint64_t mask) { used_mask_ = mask; }
  uint64_t used_columns() const { return used_mask_; }
  bool IsUsed(int column) const;
  bool IsUsed(std::string_view column) const;

  void SetDeadline(Clock::time_point deadline) { deadline_ = deadline; }
  std::optional<Clock::time_point> deadline() const { return deadline_; }
  // DeadlineExceeded once the statement's time is up; long collectors call this as they go.
  Status CheckDeadline() const;

  // "path = '/etc' AND uid IN (0, 1)": the constraints, for plans and test assertions.
  std::string Describe() const;

  // Reports a problem that cost rows but not the whole scan: a file that is missing when it
  // should not be, unreadable, too large or malformed ("/etc/passwd:7: malformed line, 3
  // fields"). The statement still succeeds; the caller shows the warnings beside the rows.
  void Warn(std::string message) const;
  // Where Warn() sends its messages (the bridge sets it; without a sink they are dropped).
  void SetWarningSink(std::vector<std::string>* sink) { warnings_ = sink; }

 private:
  const Host& host_;
  const Schema& schema_;
  std::vector<std::vector<Constraint>> per_column_;
  uint64_t used_mask_ = ~uint64_t{0};
  std::optional<Clock::time_point> deadline_;
  std::vector<std::string>* warnings_ = nullptr;
};

}  // namespace vigil
