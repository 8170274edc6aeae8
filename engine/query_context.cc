#include "engine/query_context.h"

#include <sqlite3.h>

#include <algorithm>

namespace vigil {
namespace {

const std::vector<Constraint>& NoConstraints() {
  static const std::vector<Constraint> kNone;
  return kNone;
}

// SQLite's comparison across storage classes: NULL < numbers < text.
int CompareValues(const Value& a, const Value& b) {
  auto rank = [](const Value& v) {
    switch (v.type()) {
      case Value::Type::kNull: return 0;
      case Value::Type::kInteger:
      case Value::Type::kReal: return 1;
      case Value::Type::kText: return 2;
    }
    return 0;
  };
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 1) {
    if (a.is_integer() && b.is_integer()) {
      return a.integer() < b.integer() ? -1 : (a.integer() > b.integer() ? 1 : 0);
    }
    double x = a.is_integer() ? static_cast<double>(a.integer()) : a.real();
    double y = b.is_integer() ? static_cast<double>(b.integer()) : b.real();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (ra == 2) return a.text().compare(b.text()) < 0 ? -1 : (a.text() == b.text() ? 0 : 1);
  return 0;
}

bool SameClass(const Value& a, const Value& b) { return a.is_text() == b.is_text(); }

// Conservative: where SQLite would convert between text and numbers (column affinity), the
// value is kept and SQLite's own re-check decides.
bool Satisfies(const Constraint& c, const Value& v) {
  if (v.is_null()) return false;  // no comparison with NULL is true
  if (c.op != ConstraintOp::kEq && !c.values[0].is_null() && !SameClass(v, c.values[0]) &&
      c.op != ConstraintOp::kLike && c.op != ConstraintOp::kGlob) {
    return true;
  }
  switch (c.op) {
    case ConstraintOp::kEq:
      return std::any_of(c.values.begin(), c.values.end(), [&v](const Value& x) {
        return !x.is_null() && (!SameClass(v, x) || CompareValues(v, x) == 0);
      });
    case ConstraintOp::kLt: return CompareValues(v, c.values[0]) < 0;
    case ConstraintOp::kLe: return CompareValues(v, c.values[0]) <= 0;
    case ConstraintOp::kGt: return CompareValues(v, c.values[0]) > 0;
    case ConstraintOp::kGe: return CompareValues(v, c.values[0]) >= 0;
    case ConstraintOp::kLike: {
      if (!c.values[0].is_text()) return true;  // let SQLite decide
      std::string text = v.ToString();
      return sqlite3_strlike(c.values[0].text().c_str(), text.c_str(), 0) == 0;
    }
    case ConstraintOp::kGlob: {
      if (!c.values[0].is_text()) return true;
      std::string text = v.ToString();
      return sqlite3_strglob(c.values[0].text().c_str(), text.c_str()) == 0;
    }
  }
  return true;
}

std::string Quote(const Value& v) {
  if (v.is_null()) return "NULL";
  if (!v.is_text()) return v.ToString();
  std::string out = "'";
  for (char c : v.text()) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string_view ConstraintOpName(ConstraintOp op) {
  switch (op) {
    case ConstraintOp::kEq: return "=";
    case ConstraintOp::kLt: return "<";
    case ConstraintOp::kLe: return "<=";
    case ConstraintOp::kGt: return ">";
    case ConstraintOp::kGe: return ">=";
    case ConstraintOp::kLike: return "LIKE";
    case ConstraintOp::kGlob: return "GLOB";
  }
  return "?";
}

QueryContext::QueryContext(const Host& host, const Schema& schema)
    : host_(host), schema_(schema), per_column_(schema.columns.size()) {}

void QueryContext::AddConstraint(int column, Constraint constraint) {
  if (column < 0 || static_cast<size_t>(column) >= per_column_.size()) return;
  if (constraint.values.empty()) return;
  per_column_[column].push_back(std::move(constraint));
}

const std::vector<Constraint>& QueryContext::constraints(int column) const {
  if (column < 0 || static_cast<size_t>(column) >= per_column_.size()) return NoConstraints();
  return per_column_[column];
}

const std::vector<Constraint>& QueryContext::constraints(std::string_view column) const {
  return constraints(schema_.ColumnIndex(column));
}

bool QueryContext::HasConstraints() const {
  return std::any_of(per_column_.begin(), per_column_.end(),
                     [](const auto& c) { return !c.empty(); });
}

std::optional<std::vector<Value>> QueryContext::Equals(int column) const {
  std::optional<std::vector<Value>> out;
  for (const Constraint& c : constraints(column)) {
    if (c.op != ConstraintOp::kEq) continue;
    if (!out) {
      out = c.values;
      continue;
    }
    std::vector<Value> both;
    for (const Value& v : *out) {
      if (Satisfies(c, v)) both.push_back(v);
    }
    out = std::move(both);
  }
  return out;
}

std::optional<std::vector<std::string>> QueryContext::EqualsText(std::string_view column) const {
  auto values = Equals(schema_.ColumnIndex(column));
  if (!values) return std::nullopt;
  std::vector<std::string> out;
  for (const Value& v : *values) {
    if (!v.is_null()) out.push_back(v.ToString());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool QueryContext::Matches(int column, const Value& v) const {
  for (const Constraint& c : constraints(column)) {
    if (!Satisfies(c, v)) return false;
  }
  return true;
}

bool QueryContext::IsUsed(int column) const {
  if (column < 0) return false;
  if (column >= 63) return (used_mask_ >> 63) & 1;
  return (used_mask_ >> column) & 1;
}

bool QueryContext::IsUsed(std::string_view column) const {
  return IsUsed(schema_.ColumnIndex(column));
}

Status QueryContext::CheckDeadline() const {
  if (deadline_ && Clock::now() > *deadline_) {
    return Status::DeadlineExceeded("statement exceeded its time limit while reading " +
                                    schema_.name);
  }
  return Status::Ok();
}

void QueryContext::Warn(std::string message) const {
  if (warnings_ == nullptr) return;
  // A scan over thousands of unreadable files says so once per file up to a bound, then counts.
  constexpr size_t kMaxWarnings = 100;
  if (warnings_->size() > kMaxWarnings) return;
  if (warnings_->size() == kMaxWarnings) {
    warnings_->push_back("more warnings were left out");
    return;
  }
  std::string line = schema_.name + ": " + message;
  if (std::find(warnings_->begin(), warnings_->end(), line) == warnings_->end()) {
    warnings_->push_back(std::move(line));
  }
}

std::string QueryContext::Describe() const {
  std::string out;
  for (size_t i = 0; i < per_column_.size(); ++i) {
    for (const Constraint& c : per_column_[i]) {
      if (!out.empty()) out += " AND ";
      out += schema_.columns[i].name;
      if (c.op == ConstraintOp::kEq && c.values.size() > 1) {
        out += " IN (";
        for (size_t j = 0; j < c.values.size(); ++j) {
          if (j > 0) out += ", ";
          out += Quote(c.values[j]);
        }
        out += ")";
      } else {
        out += ' ';
        out += ConstraintOpName(c.op);
        out += ' ';
        out += Quote(c.values[0]);
      }
    }
  }
  return out;
}

}  // namespace vigil
