// Module descriptors (the JSON inside a module file) from anywhere:
// ModuleDescriptor::FromJson and the call-class declarations read from its
// exports (internal::ParseCallClasses) answer any text with a descriptor
// or a kNotAModule Status, never a crash or an exception; and a descriptor
// that parsed is written and parsed again to the same thing.
#include <cstdint>
#include <string>
#include <string_view>

#include "ringfence/module_file.h"
#include "src/module/call_classes.h"

namespace ringfence::internal {
namespace {

const std::string kOrigin = "fuzzed.rfm";

bool IsInteger(ValueType type) { return type == ValueType::kI32 || type == ValueType::kI64; }

void CheckCallClasses(const ModuleDescriptor& descriptor) {
  StatusOr<std::vector<ExportCallClass>> classes = ParseCallClasses(descriptor, kOrigin);
  if (!classes.ok()) {
    RF_CHECK(classes.status().code() == StatusCode::kNotAModule);
    RF_CHECK(classes.status().message().find(kOrigin) != std::string::npos);
    return;
  }
  RF_CHECK(classes->size() == descriptor.exports.size());
  size_t declared = 0;
  for (size_t i = 0; i < classes->size(); ++i) {
    const ExportCallClass& entry = (*classes)[i];
    if (entry.call_class != CallClass::kNeither) ++declared;
    if (entry.key_param) {
      const std::vector<ValueType>& params = descriptor.exports[i].signature.params;
      RF_CHECK(entry.call_class == CallClass::kStateSetting);
      RF_CHECK(*entry.key_param < params.size() && IsInteger(params[*entry.key_param]));
    }
  }
  // Every declaration is a marker export, and each names one export.
  size_t markers = 0;
  for (const ExportInfo& info : descriptor.exports) {
    if (info.IsCallClassMarker()) ++markers;
  }
  RF_CHECK(declared == markers);
}

}  // namespace
}  // namespace ringfence::internal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringfence;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  StatusOr<ModuleDescriptor> descriptor = ModuleDescriptor::FromJson(text);
  if (!descriptor.ok()) {
    RF_CHECK(descriptor.status().code() == StatusCode::kNotAModule);
    return 0;
  }
  RF_CHECK(!descriptor->name.empty());
  RF_CHECK(descriptor->isolation == Isolation::kProcess || descriptor->native_functions.empty());
  internal::CheckCallClasses(*descriptor);
  std::string json = descriptor->ToJson();
  StatusOr<ModuleDescriptor> again = ModuleDescriptor::FromJson(json);
  RF_CHECK(again.ok() && again->ToJson() == json);
  RF_CHECK(ModuleDescriptor::FromJson(descriptor->ToJson(2)).ok());
  return 0;
}
