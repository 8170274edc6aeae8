// The one error model of Vigil: a Status (a code and a message a person can act on) and
// Result<T> (a value or a Status). Library exceptions are caught in the adapter that calls the
// library and turned into a Status there; none crosses a library boundary.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vigil {

enum class StatusCode {
  kOk,
  kInvalidArgument,    // the caller's input is malformed: SQL, a pack, a flag, a message
  kNotFound,           // a named thing does not exist
  kAlreadyExists,      // a thing that must be unique exists already
  kPermissionDenied,   // the operation is not allowed (read-only SQL, a role)
  kFailedPrecondition, // the system is not in a state where this can run
  kResourceExhausted,  // a limit was reached: size, rows, memory
  kDeadlineExceeded,   // a time limit was reached
  kUnavailable,        // a peer or service cannot be reached; retrying may help
  kIoError,            // the operating system refused a read or write
  kCorruption,         // stored data is damaged
  kInternal,           // a bug in Vigil
  // Last, so that the codes before it keep their numbers (the extension socket sends them).
  kUnauthenticated,    // no valid credentials were given (an absent, unknown or revoked token)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(StatusCode::kNotFound, std::move(message));
  }
  static Status AlreadyExists(std::string message) {
    return Status(StatusCode::kAlreadyExists, std::move(message));
  }
  static Status PermissionDenied(std::string message) {
    return Status(StatusCode::kPermissionDenied, std::move(message));
  }
  static Status Unauthenticated(std::string message) {
    return Status(StatusCode::kUnauthenticated, std::move(message));
  }
  static Status FailedPrecondition(std::string message) {
    return Status(StatusCode::kFailedPrecondition, std::move(message));
  }
  static Status ResourceExhausted(std::string message) {
    return Status(StatusCode::kResourceExhausted, std::move(message));
  }
  static Status DeadlineExceeded(std::string message) {
    return Status(StatusCode::kDeadlineExceeded, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(StatusCode::kUnavailable, std::move(message));
  }
  static Status IoError(std::string message) {
    return Status(StatusCode::kIoError, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(StatusCode::kCorruption, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(StatusCode::kInternal, std::move(message));
  }
  // A failed system call, with strerror(err) appended ("open /etc/x: No such file or
  // directory"): NotFound for ENOENT/ENOTDIR, PermissionDenied for EACCES/EPERM, else IoError.
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same status with "context: " put in front of the message.
  Status WithContext(std::string_view context) const;
  // "invalid argument: message", for logs.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the error that prevented it. Construct from either; an ok Status is not a valid
// error and is turned into an Internal one.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : storage_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(storage_).ok()) {
      storage_ = Status::Internal("Result constructed from an ok Status");
    }
  }

  bool ok() const { return std::holds_alternative<T>(storage_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(storage_);
  }

  T& value() & {
    assert(ok());
    return std::get<T>(storage_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(storage_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(storage_));
  }
  T value_or(T fallback) const& { return ok() ? std::get<T>(storage_) : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> storage_;
};

namespace internal {
inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace vigil

#define VIGIL_CONCAT_INNER_(a, b) a##b
#define VIGIL_CONCAT_(a, b) VIGIL_CONCAT_INNER_(a, b)

// Returns the status of `expr` (a Status or a Result) from the current function if it failed.
#define VIGIL_RETURN_IF_ERROR(expr)                                          \
  do {                                                                       \
    auto&& vigil_checked_ = (expr); /* keeps a temporary Result alive */     \
    if (!::vigil::internal::GetStatus(vigil_checked_).ok()) {                \
      return ::vigil::internal::GetStatus(vigil_checked_);                   \
    }                                                                        \
  } while (false)

// `VIGIL_ASSIGN_OR_RETURN(auto x, Compute());` declares x from the value of a Result or returns
// its error.
#define VIGIL_ASSIGN_OR_RETURN(lhs, expr) \
  VIGIL_ASSIGN_OR_RETURN_IMPL_(VIGIL_CONCAT_(vigil_result_, __LINE__), lhs, expr)
#define VIGIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
