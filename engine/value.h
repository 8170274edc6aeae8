// A SQL value as Vigil's tables produce it: NULL, INTEGER (int64), REAL (double) or TEXT.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vigil {

class Value {
 public:
  enum class Type : uint8_t { kNull, kInteger, kReal, kText };

  Value() = default;  // NULL
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Value(I v) : v_(static_cast<int64_t>(v)) {}  // NOLINT(google-explicit-constructor)
  Value(bool v) : v_(static_cast<int64_t>(v ? 1 : 0)) {}  // NOLINT(google-explicit-constructor)
  Value(double v) : v_(v) {}                    // NOLINT(google-explicit-constructor)
  Value(std::string v) : v_(std::move(v)) {}    // NOLINT(google-explicit-constructor)
  Value(std::string_view v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)

  static Value Null() { return Value(); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_integer() const { return type() == Type::kInteger; }
  bool is_real() const { return type() == Type::kReal; }
  bool is_text() const { return type() == Type::kText; }

  // Accessors require the matching type.
  int64_t integer() const { return std::get<int64_t>(v_); }
  double real() const { return std::get<double>(v_); }
  const std::string& text() const { return std::get<std::string>(v_); }

  // The value as text the way SQLite would print it ("" for NULL, "3", "1.5", the text).
  std::string ToString() const;

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::monostate, int64_t, double, std::string> v_;
};

// One row of a table, values in the table's schema order.
using Row = std::vector<Value>;

}  // namespace vigil
