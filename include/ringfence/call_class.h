// Call classes: what may happen to a call when its module dies during it.
//
// A module declares them per export (RF_IDEMPOTENT, RF_STATE_SETTING and
// RF_STATE_SETTING_KEYED in module.h); a host may override them per call
// (SupervisedModule's CallOptions). A supervisor uses them to keep its
// promise that no call is silently lost and none runs twice unless that is
// safe:
//   kNeither       - fails with a `restarted` error if the module died during it
//   kIdempotent    - retried on the fresh instance, a bounded number of times
//   kStateSetting  - journaled when it succeeds and replayed, in order, into
//                    every fresh instance; retried like an idempotent call
#ifndef RINGFENCE_CALL_CLASS_H_
#define RINGFENCE_CALL_CLASS_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace ringfence {

enum class CallClass { kNeither, kIdempotent, kStateSetting };

// "neither", "idempotent", "state-setting".
std::string_view CallClassName(CallClass call_class);

struct ExportCallClass {
  CallClass call_class = CallClass::kNeither;
  // For kStateSetting: the parameter whose value keys the journal entry
  // (the last call per key wins); nullopt: the export itself is the key.
  std::optional<uint32_t> key_param;
};

}  // namespace ringfence

#endif  // RINGFENCE_CALL_CLASS_H_
