#include "src/compartment/export_call.h"

#include <string>
#include <vector>

#include <fmt/format.h>

namespace ringfence::internal {

StatusOr<uint32_t> CheckExport(const Module& module, std::string_view name,
                               const Signature& expected) {
  std::optional<uint32_t> index = module.FindExport(name);
  if (!index) {
    std::string names;
    for (const ExportInfo& info : module.descriptor().exports) {
      names += names.empty() ? "" : ", ";
      names += info.name;
    }
    return Status(StatusCode::kNotFound, fmt::format("module {} has no export '{}' (exports: {})",
                                                     module.name(), name, names));
  }
  const Signature& actual = module.descriptor().exports[*index].signature;
  if (actual != expected) {
    return Status(StatusCode::kSignatureMismatch,
                  fmt::format("export {}.{} has signature {}, not {}", module.name(), name,
                              actual.ToString(), expected.ToString()));
  }
  return *index;
}

Result<std::optional<Value>> CallDynamic(
    const Module& module, std::string_view owner_name, std::string_view name,
    std::span<const Value> args,
    const std::function<Result<uint64_t>(uint32_t, const uint64_t*)>& call_slots) {
  std::optional<uint32_t> index = module.FindExport(name);
  if (!index) return CheckExport(module, name, {}).status();
  const Signature& signature = module.descriptor().exports[*index].signature;
  bool types_match = args.size() == signature.params.size();
  for (size_t i = 0; types_match && i < args.size(); ++i) {
    types_match = args[i].type == signature.params[i];
  }
  if (!types_match) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("export {}.{} takes {}", owner_name, name, signature.ToString()));
  }
  std::vector<uint64_t> slots(args.size() + 1);
  for (size_t i = 0; i < args.size(); ++i) slots[i] = args[i].bits;
  Result<uint64_t> result = call_slots(*index, slots.data());
  if (result.trapped()) return result.trap();
  if (result.failed()) return result.status();
  if (!signature.result) return std::optional<Value>();
  return std::optional<Value>(Value{*signature.result, result.value()});
}

}  // namespace ringfence::internal
