// Module files from anywhere: what Module::Load does with a file's bytes
// before it maps any code (internal::CheckModuleFile: container, descriptor,
// ABI version, imports, call classes, native function offsets) answers any
// bytes with a Status naming the file, never a crash; and the container
// unpacks exactly what packing wrote.
//
// Each input is checked twice: as it is (which the checksum almost always
// refuses) and with its checksum made right, so that mutations reach the
// descriptor and everything after it.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringfence/internal/module_abi.h"
#include "src/base/sha256.h"
#include "src/module/module_file_check.h"
#include "src/module/module_file_format.h"
#include "src/services/host_imports.h"

namespace ringfence::internal {
namespace {

const std::string kOrigin = "fuzzed.rfm";

bool Within(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void CheckContainer(std::span<const uint8_t> bytes, const ModuleFileParts& parts) {
  std::span<const uint8_t> descriptor(reinterpret_cast<const uint8_t*>(parts.descriptor_json.data()),
                                      parts.descriptor_json.size());
  RF_CHECK(Within(descriptor, bytes) && Within(parts.code, bytes));
  RF_CHECK(kModuleHeaderBytes + descriptor.size() + parts.code.size() == bytes.size());
  // Packing the parts again gives the same file (the reserved header word
  // is not checked on reading; packing writes 0).
  std::vector<uint8_t> again = PackModuleFile(parts.descriptor_json, parts.code);
  RF_CHECK(again.size() == bytes.size());
  RF_CHECK(std::equal(again.begin(), again.begin() + 12, bytes.begin()));
  RF_CHECK(std::equal(again.begin() + 16, again.end(), bytes.begin() + 16));
  StatusOr<ModuleFileParts> reread = UnpackModuleFile(again, kOrigin);
  RF_CHECK(reread.ok() && reread->descriptor_json == parts.descriptor_json &&
           std::equal(reread->code.begin(), reread->code.end(), parts.code.begin(),
                      parts.code.end()));
}

void CheckModule(std::span<const uint8_t> bytes) {
  StatusOr<ModuleFileParts> parts = UnpackModuleFile(bytes, kOrigin);
  StatusOr<CheckedModuleFile> checked = CheckModuleFile(bytes, kOrigin);
  if (!parts.ok()) {
    StatusCode code = parts.status().code();
    RF_CHECK(code == StatusCode::kNotAModule || code == StatusCode::kAbiMismatch);
    RF_CHECK(!checked.ok() && checked.status().code() == code);
  } else {
    CheckContainer(bytes, *parts);
  }
  if (!checked.ok()) {
    StatusCode code = checked.status().code();
    RF_CHECK(code == StatusCode::kNotAModule || code == StatusCode::kAbiMismatch ||
             code == StatusCode::kMissingImport);
    RF_CHECK(checked.status().message().find(kOrigin) != std::string::npos);
    return;
  }
  RF_CHECK(parts.ok());
  const ModuleDescriptor& descriptor = checked->descriptor;
  RF_CHECK(checked->code.data() == parts->code.data() &&
           checked->code.size() == parts->code.size());
  RF_CHECK(descriptor.abi_version == RF_MODULE_ABI_VERSION && !descriptor.name.empty());
  RF_CHECK(checked->call_classes.size() == descriptor.exports.size());
  for (size_t i = 0; i < descriptor.exports.size(); ++i) {
    const ExportCallClass& entry = checked->call_classes[i];
    if (entry.key_param) {
      RF_CHECK(entry.call_class == CallClass::kStateSetting);
      RF_CHECK(*entry.key_param < descriptor.exports[i].signature.params.size());
    }
  }
  for (const ImportInfo& import : descriptor.imports) {
    RF_CHECK(LookupHostImport(import.module, import.name, import.signature).has_value());
  }
  for (const NativeFunction& function : descriptor.native_functions) {
    RF_CHECK(function.offset < checked->code.size());
  }
  // What the loader keeps describes itself the same way again.
  StatusOr<ModuleDescriptor> reparsed = ModuleDescriptor::FromJson(descriptor.ToJson());
  RF_CHECK(reparsed.ok() && reparsed->ToJson() == descriptor.ToJson());
}

}  // namespace
}  // namespace ringfence::internal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringfence::internal;
  std::span<const uint8_t> bytes(data, size);
  CheckModule(bytes);
  if (size >= kModuleHeaderBytes) {
    std::vector<uint8_t> sealed(bytes.begin(), bytes.end());
    Sha256Digest digest = Sha256(std::span(sealed).subspan(kModuleHeaderBytes));
    std::copy(digest.begin(), digest.end(), sealed.begin() + 32);
    CheckModule(sealed);
  }
  return 0;
}
