// Status and StatusOr: errors as values.
//
// Every fallible ringfence operation returns a Status (or a StatusOr<T>, or a
// Result<T> for calls into module code). A Status is ok or carries a code and
// a message that says what was wrong and, where it can, what to do.
// Thread-safety: values; copy freely.
#ifndef RINGFENCE_STATUS_H_
#define RINGFENCE_STATUS_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ringfence {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // bad argument from the caller (value, name, range)
  kNotFound,           // no such export, file or entry
  kSignatureMismatch,  // export exists with a different signature
  kNotAModule,         // file is not a ringfence module, or is truncated/corrupt
  kAbiMismatch,        // module built for another ABI version
  kMissingImport,      // module needs a host service this host lacks
  kLoadFailed,         // the module's native code could not be loaded
  kBuildFailed,        // compiling or translating a module failed
  kIoError,            // reading or writing a file failed
  kResourceExhausted,  // address space, memory or another limit
  kInstantiateFailed,  // a fresh instance trapped or could not be made
  kDeadlineExceeded,   // the call's deadline passed before it could run or finish
  kUnavailable,        // the compartment cannot serve now (e.g. being unwound)
  kFailedPrecondition, // the object is not in a state that allows this
                       // (e.g. a lock made unrecoverable, released by a non-owner)
  kRestarted,          // the module died during the call and was restarted;
                       // the call was not retried (not declared safe to repeat)
  kInternal,           // a ringfence bug
};

// Stable lower-case name of a code, e.g. "not-a-module".
std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ok" or "<code-name>: <message>".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Aborts with a message when a ringfence invariant is broken (a bug, never a
// module's misbehaviour or bad input).
#define RF_CHECK(condition)                                                 \
  do {                                                                      \
    if (!(condition)) [[unlikely]] {                                        \
      std::fprintf(stderr, "ringfence: check failed at %s:%d: %s\n",        \
                   __FILE__, __LINE__, #condition);                         \
      std::abort();                                                         \
    }                                                                       \
  } while (0)

// Returns the Status of `expression` from the enclosing function if not ok.
#define RF_RETURN_IF_ERROR(expression)          \
  do {                                          \
    ::ringfence::Status rf_status_ = (expression); \
    if (!rf_status_.ok()) return rf_status_;    \
  } while (0)

// A value or an error Status.
template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : state_(std::move(value)) {}
  StatusOr(Status status) : state_(std::move(status)) {
    RF_CHECK(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(state_); }

  T& value() & { RF_CHECK(ok()); return std::get<T>(state_); }
  const T& value() const& { RF_CHECK(ok()); return std::get<T>(state_); }
  T&& value() && { RF_CHECK(ok()); return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace ringfence

#endif  // RINGFENCE_STATUS_H_
