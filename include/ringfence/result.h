// Result<T>: the outcome of a call into module code.
//
// Exactly one of three outcomes:
//   ok()      - the call returned; value() holds what it returned
//   trapped() - the module trapped; trap() says how. The compartment was
//               discarded and comes back fresh on the next call.
//   failed()  - the call did not run or could not complete; status() says why
//               (bad argument, restart failed, ...).
// No exception ever crosses a gate.
#ifndef RINGFENCE_RESULT_H_
#define RINGFENCE_RESULT_H_

#include <utility>
#include <variant>

#include "ringfence/status.h"
#include "ringfence/trap.h"

namespace ringfence {

template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Trap trap) : state_(std::move(trap)) {}
  Result(Status status) : state_(std::move(status)) {
    RF_CHECK(!std::get<Status>(state_).ok());
  }

  bool ok() const { return state_.index() == 0; }
  bool trapped() const { return state_.index() == 1; }
  bool failed() const { return state_.index() == 2; }

  const T& value() const { RF_CHECK(ok()); return std::get<0>(state_); }
  const Trap& trap() const { RF_CHECK(trapped()); return std::get<1>(state_); }
  const Status& status() const { RF_CHECK(failed()); return std::get<2>(state_); }

 private:
  std::variant<T, Trap, Status> state_;
};

// A call with no result: ok() means it returned.
struct Void {};
template <>
class Result<void> : public Result<Void> {
 public:
  using Result<Void>::Result;
  Result() : Result<Void>(Void{}) {}
};

}  // namespace ringfence

#endif  // RINGFENCE_RESULT_H_
