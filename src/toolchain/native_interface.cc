#include "src/toolchain/native_interface.h"

#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include <fmt/format.h>

namespace ringfence::internal {
namespace {

constexpr std::string_view kImportSectionPrefix = "ringfence.import:";
constexpr std::string_view kCallClassSectionPrefix = "ringfence.call_class:";
// What a constructor without an explicit priority gets (llvm.global_ctors).
constexpr uint64_t kDefaultCtorPriority = 65535;

struct ContextDeleter {
  void operator()(LLVMContextRef context) const { LLVMContextDispose(context); }
};
struct ModuleDeleter {
  void operator()(LLVMModuleRef module) const { LLVMDisposeModule(module); }
};
using UniqueContext = std::unique_ptr<std::remove_pointer_t<LLVMContextRef>, ContextDeleter>;
using UniqueModule = std::unique_ptr<std::remove_pointer_t<LLVMModuleRef>, ModuleDeleter>;

std::string TakeMessage(char* message) {
  std::string text = message != nullptr ? message : "";
  if (message != nullptr) LLVMDisposeMessage(message);
  return text;
}

// The IR type, and what it is in C where the IR spelling hides it.
std::string TypeText(LLVMTypeRef type) {
  std::string text = TakeMessage(LLVMPrintTypeToString(type));
  switch (LLVMGetTypeKind(type)) {
    case LLVMPointerTypeKind: return text + " (a pointer)";
    case LLVMStructTypeKind: return text + " (a struct)";
    case LLVMIntegerTypeKind:
      return fmt::format("{} (a {}-bit integer)", text, LLVMGetIntTypeWidth(type));
    default: return text;
  }
}

std::string NameOf(LLVMValueRef value) {
  size_t length = 0;
  const char* name = LLVMGetValueName2(value, &length);
  return std::string(name, length);
}

std::string_view SectionOf(LLVMValueRef value) {
  const char* section = LLVMGetSection(value);
  return section != nullptr ? std::string_view(section) : std::string_view();
}

std::optional<ValueType> ValueTypeOf(LLVMTypeRef type) {
  switch (LLVMGetTypeKind(type)) {
    case LLVMIntegerTypeKind:
      if (LLVMGetIntTypeWidth(type) == 32) return ValueType::kI32;
      if (LLVMGetIntTypeWidth(type) == 64) return ValueType::kI64;
      return std::nullopt;
    case LLVMFloatTypeKind: return ValueType::kF32;
    case LLVMDoubleTypeKind: return ValueType::kF64;
    default: return std::nullopt;
  }
}

// `what` names the function in messages ("export add", "import backend.get").
StatusOr<Signature> SignatureOf(LLVMValueRef function, const std::string& what,
                                size_t max_params) {
  LLVMTypeRef type = LLVMGlobalGetValueType(function);
  auto refuse = [&](const std::string& why) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("{} (function {}): {}; a module's exports and imports take and "
                              "return only int32_t, int64_t, float or double (pass pointers as "
                              "int32_t offsets)",
                              what, NameOf(function), why));
  };
  if (LLVMIsFunctionVarArg(type)) return refuse("it takes variable arguments");
  Signature signature;
  unsigned count = LLVMCountParamTypes(type);
  if (count > max_params) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("{} (function {}) takes {} parameters; at most {} are supported",
                              what, NameOf(function), count, max_params));
  }
  std::vector<LLVMTypeRef> params(count);
  if (count > 0) LLVMGetParamTypes(type, params.data());
  for (unsigned i = 0; i < count; ++i) {
    std::optional<ValueType> value_type = ValueTypeOf(params[i]);
    if (!value_type) {
      return refuse(fmt::format("parameter {} has type {}", i + 1, TypeText(params[i])));
    }
    signature.params.push_back(*value_type);
  }
  LLVMTypeRef result = LLVMGetReturnType(type);
  if (LLVMGetTypeKind(result) != LLVMVoidTypeKind) {
    std::optional<ValueType> value_type = ValueTypeOf(result);
    if (!value_type) return refuse(fmt::format("its result has type {}", TypeText(result)));
    signature.result = *value_type;
  }
  return signature;
}

Status CheckConstructorPriorities(LLVMModuleRef module, const std::string& file) {
  LLVMValueRef ctors = LLVMGetNamedGlobal(module, "llvm.global_ctors");
  if (ctors == nullptr || LLVMIsDeclaration(ctors)) return Status::Ok();
  LLVMValueRef array = LLVMGetInitializer(ctors);
  if (array == nullptr || LLVMIsAConstantArray(array) == nullptr) return Status::Ok();
  for (int i = 0; i < LLVMGetNumOperands(array); ++i) {
    LLVMValueRef entry = LLVMGetOperand(array, i);
    if (LLVMGetNumOperands(entry) < 2) continue;
    LLVMValueRef priority = LLVMGetOperand(entry, 0);
    if (LLVMIsAConstantInt(priority) == nullptr) continue;
    if (LLVMConstIntGetZExtValue(priority) != kDefaultCtorPriority) {
      return Status(StatusCode::kBuildFailed,
                    fmt::format("{}: constructor {} has a priority; native module builds run "
                                "constructors in link order and do not support priorities",
                                file, NameOf(LLVMGetOperand(entry, 1))));
    }
  }
  return Status::Ok();
}

class InterfaceReader {
 public:
  Status Read(LLVMModuleRef module, const std::string& file) {
    RF_RETURN_IF_ERROR(CheckConstructorPriorities(module, file));
    for (LLVMValueRef function = LLVMGetFirstFunction(module); function != nullptr;
         function = LLVMGetNextFunction(function)) {
      std::string name = NameOf(function);
      if (name.starts_with("llvm.")) continue;  // intrinsics
      if (LLVMIsDeclaration(function)) {
        std::string_view section = SectionOf(function);
        if (section.starts_with(kImportSectionPrefix)) {
          RF_RETURN_IF_ERROR(AddImport(function, section.substr(kImportSectionPrefix.size())));
        }
        continue;
      }
      if (LLVMGetLinkage(function) != LLVMExternalLinkage ||
          LLVMGetVisibility(function) != LLVMDefaultVisibility) {
        continue;
      }
      if (!export_names_.insert(name).second) {
        return Status(StatusCode::kBuildFailed,
                      fmt::format("{}: export {} is defined twice", file, name));
      }
      StatusOr<Signature> signature = SignatureOf(function, "export " + name, kMaxNativeExportParams);
      if (!signature.ok()) return signature.status();
      exports_.push_back({{name, *signature}, name});
    }
    for (LLVMValueRef global = LLVMGetFirstGlobal(module); global != nullptr;
         global = LLVMGetNextGlobal(global)) {
      std::string_view section = SectionOf(global);
      if (!section.starts_with(kCallClassSectionPrefix)) continue;
      std::string_view rest = section.substr(kCallClassSectionPrefix.size());
      std::string marker(section);
      if (!marker_names_.insert(marker).second) continue;
      markers_.emplace_back(std::string(rest.substr(0, rest.find(':'))), marker);
    }
    return Status::Ok();
  }

  NativeInterface Finish() {
    NativeInterface interface;
    std::vector<bool> placed(markers_.size(), false);
    for (NativeExport& entry : exports_) {
      std::string export_name = entry.info.name;
      interface.exports.push_back(std::move(entry));
      for (size_t i = 0; i < markers_.size(); ++i) {
        if (!placed[i] && markers_[i].first == export_name) {
          interface.exports.push_back({{markers_[i].second, Signature{}}, ""});
          placed[i] = true;
        }
      }
    }
    for (size_t i = 0; i < markers_.size(); ++i) {
      if (!placed[i]) interface.exports.push_back({{markers_[i].second, Signature{}}, ""});
    }
    interface.imports = std::move(imports_);
    return interface;
  }

 private:
  Status AddImport(LLVMValueRef function, std::string_view module_and_name) {
    std::string symbol = NameOf(function);
    if (import_symbols_.contains(symbol)) return Status::Ok();  // declared in another source too
    size_t colon = module_and_name.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == module_and_name.size()) {
      return Status(StatusCode::kBuildFailed,
                    fmt::format("function {}: malformed import section '{}{}' (use RF_IMPORT)",
                                symbol, kImportSectionPrefix, module_and_name));
    }
    std::string module(module_and_name.substr(0, colon));
    std::string name(module_and_name.substr(colon + 1));
    StatusOr<Signature> signature =
        SignatureOf(function, fmt::format("import {}.{}", module, name), kMaxNativeImportParams);
    if (!signature.ok()) return signature.status();
    import_symbols_.insert(symbol);
    imports_.push_back({{module, name, *signature}, symbol});
    return Status::Ok();
  }

  std::vector<NativeExport> exports_;
  std::set<std::string> export_names_;
  std::vector<std::pair<std::string, std::string>> markers_;  // (export, marker name)
  std::set<std::string> marker_names_;
  std::vector<NativeImport> imports_;
  std::set<std::string> import_symbols_;
};

}  // namespace

StatusOr<NativeInterface> ReadNativeInterface(const std::vector<std::string>& ir_files) {
  UniqueContext context(LLVMContextCreate());
  InterfaceReader reader;
  for (const std::string& file : ir_files) {
    LLVMMemoryBufferRef buffer = nullptr;
    char* message = nullptr;
    if (LLVMCreateMemoryBufferWithContentsOfFile(file.c_str(), &buffer, &message) != 0) {
      return Status(StatusCode::kBuildFailed,
                    fmt::format("cannot read {}: {}", file, TakeMessage(message)));
    }
    LLVMModuleRef raw_module = nullptr;
    // Takes the buffer, whatever the outcome.
    if (LLVMParseIRInContext(context.get(), buffer, &raw_module, &message) != 0) {
      return Status(StatusCode::kBuildFailed,
                    fmt::format("{}: not LLVM IR: {}", file, TakeMessage(message)));
    }
    UniqueModule module(raw_module);
    RF_RETURN_IF_ERROR(reader.Read(module.get(), file));
  }
  return reader.Finish();
}

}  // namespace ringfence::internal
