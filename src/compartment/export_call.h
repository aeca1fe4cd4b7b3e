// Export lookup and runtime-typed calls by name: one home for what a
// compartment and a supervised module both do before a slot call.
#ifndef RINGFENCE_SRC_COMPARTMENT_EXPORT_CALL_H_
#define RINGFENCE_SRC_COMPARTMENT_EXPORT_CALL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "ringfence/module_file.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "ringfence/value.h"

namespace ringfence::internal {

// The index of `module`'s export `name` if its signature is `expected`.
// Errors: kNotFound (the message lists the exports), kSignatureMismatch.
StatusOr<uint32_t> CheckExport(const Module& module, std::string_view name,
                               const Signature& expected);

// Calls `module`'s export `name` with runtime-typed arguments: checks their
// number and types against its signature, packs them into 64-bit slots,
// calls `call_slots(export_index, slots)` (CallSlots' contract) and unpacks
// the result (none for a void export). Errors: kNotFound (CheckExport's),
// kInvalidArgument (wrong number or types of arguments; the message names
// the export as `owner_name`.`name`), and whatever the call returns.
Result<std::optional<Value>> CallDynamic(
    const Module& module, std::string_view owner_name, std::string_view name,
    std::span<const Value> args,
    const std::function<Result<uint64_t>(uint32_t, const uint64_t*)>& call_slots);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_COMPARTMENT_EXPORT_CALL_H_
