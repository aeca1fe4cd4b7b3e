// Result<T>: the outcome of a call into module code.
//
// Exactly one of three outcomes:
//   ok()      - the call returned; value() holds what it returned
//   trapped() - the module trapped; trap() says how. The compartment was
//               discarded and comes back fresh on the next call.
//   failed()  - the call did not run or could not complete; status() says why
//               (bad argument, restart failed, ...).
// No exception ever crosses a gate.
//
// The success path is a value and a null pointer: the trap or status lives
// out of line, so returning a Result from the hot call path costs two stores.
#ifndef RINGFENCE_RESULT_H_
#define RINGFENCE_RESULT_H_

#include <memory>
#include <utility>
#include <variant>

#include "ringfence/status.h"
#include "ringfence/trap.h"

namespace ringfence {

// A call with no result: ok() means it returned.
struct Void {};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Trap trap) : failure_(std::make_unique<Failure>(std::move(trap))) {}
  Result(Status status) : failure_(std::make_unique<Failure>(std::move(status))) {
    RF_CHECK(!this->status().ok());
  }

  bool ok() const { return failure_ == nullptr; }
  bool trapped() const { return failure_ != nullptr && failure_->index() == 0; }
  bool failed() const { return failure_ != nullptr && failure_->index() == 1; }

  const T& value() const { RF_CHECK(ok()); return value_; }
  const Trap& trap() const { RF_CHECK(trapped()); return std::get<0>(*failure_); }
  const Status& status() const { RF_CHECK(failed()); return std::get<1>(*failure_); }

 private:
  using Failure = std::variant<Trap, Status>;
  T value_{};
  std::unique_ptr<Failure> failure_;
};

template <>
class Result<void> : public Result<Void> {
 public:
  using Result<Void>::Result;
  Result() : Result<Void>(Void{}) {}
};

}  // namespace ringfence

#endif  // RINGFENCE_RESULT_H_
