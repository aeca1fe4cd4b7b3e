// CompartmentPool: one module run as N compartments, for parallel throughput.
//
// A compartment runs one thread at a time; a pool spreads calls from many
// threads over several. Each call goes to a compartment the calling thread
// already holds the claim on (the cheap path), else to an idle one, else to
// the thread's home compartment, where it waits its turn (up to the call's
// deadline). A trap restarts only the compartment that trapped. Compartments
// do not share memory: whatever state a call leaves behind stays in the
// compartment that served it, so pools suit stateless or per-call work.
//
// Thread-safe: Call may be used from any number of threads.
#ifndef RINGFENCE_COMPARTMENT_POOL_H_
#define RINGFENCE_COMPARTMENT_POOL_H_

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "ringfence/compartment.h"

namespace ringfence {

class CompartmentPool {
 public:
  // Makes `size` compartments (1..1024). Errors: kInvalidArgument, and those
  // of Compartment::Create.
  static StatusOr<std::unique_ptr<CompartmentPool>> Create(std::shared_ptr<const Module> module,
                                                           size_t size,
                                                           CompartmentOptions options = {});

  // Calls `name` on the compartment Pick() chooses. Outcomes as
  // Compartment::Call.
  template <typename Sig, typename... Args>
  Result<typename internal::SignatureOf<Sig>::Return> Call(std::string_view name, Args... args) {
    return Pick().Call<Sig>(name, args...);
  }

  // The compartment the calling thread should use now.
  Compartment& Pick();

  size_t size() const { return compartments_.size(); }
  Compartment& at(size_t index) { return *compartments_.at(index); }

 private:
  explicit CompartmentPool(std::vector<std::unique_ptr<Compartment>> compartments)
      : compartments_(std::move(compartments)) {}

  std::vector<std::unique_ptr<Compartment>> compartments_;
};

}  // namespace ringfence

#endif  // RINGFENCE_COMPARTMENT_POOL_H_
