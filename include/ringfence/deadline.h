// DeadlineScope: a deadline for the calls one thread makes.
//
//   {
//     DeadlineScope deadline(std::chrono::milliseconds(100));
//     Result<int32_t> r = parse(input);  // a Trap of kind timeout if late
//   }
//
// While a scope lives, every call the constructing thread makes into a
// compartment must finish by its deadline: a module still running then is
// preempted and the call returns a Trap of kind timeout; a call that would
// have to wait for another thread to leave the compartment returns
// kDeadlineExceeded instead. Scopes nest (the earlier deadline wins) and
// combine with CompartmentOptions::call_timeout the same way. Calls made under
// a scope take the full call path (about 100 ns more than the fast path).
//
// Thread-compatible: a scope belongs to the thread that made it and must be
// destroyed on it, in reverse order of construction.
#ifndef RINGFENCE_DEADLINE_H_
#define RINGFENCE_DEADLINE_H_

#include <chrono>
#include <cstdint>

namespace ringfence {

class DeadlineScope {
 public:
  // Deadline = now + timeout (a negative timeout is taken as zero).
  explicit DeadlineScope(std::chrono::nanoseconds timeout);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

 private:
  uint64_t previous_deadline_ns_;
};

}  // namespace ringfence

#endif  // RINGFENCE_DEADLINE_H_
