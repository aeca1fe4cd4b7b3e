#include "src/toolchain/wasm_translation.h"

#include <map>
#include <utility>

#include <fmt/format.h>

#include "src/base/sha256.h"
#include "src/services/host_imports.h"
#include "src/toolchain/wasm_features.h"
#include "src/toolchain/wasm_limits.h"
#include "wabt/apply-names.h"
#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader-nop.h"
#include "wabt/binary-reader.h"
#include "wabt/c-writer.h"
#include "wabt/cast.h"
#include "wabt/error-formatter.h"
#include "wabt/feature.h"
#include "wabt/generate-names.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"

namespace ringfence::internal {
namespace {

std::optional<ValueType> ValueTypeOf(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32: return ValueType::kI32;
    case wabt::Type::I64: return ValueType::kI64;
    case wabt::Type::F32: return ValueType::kF32;
    case wabt::Type::F64: return ValueType::kF64;
    default: return std::nullopt;
  }
}

// The ringfence signature of a wasm function type, or nullopt with `why`.
std::optional<Signature> SignatureOf(const wabt::FuncSignature& sig, std::string* why) {
  Signature signature;
  for (wabt::Type type : sig.param_types) {
    std::optional<ValueType> value_type = ValueTypeOf(type);
    if (!value_type) {
      *why = fmt::format("parameter of type {}", type.GetName());
      return std::nullopt;
    }
    signature.params.push_back(*value_type);
  }
  if (sig.result_types.size() > 1) {
    *why = "more than one result";
    return std::nullopt;
  }
  if (!sig.result_types.empty()) {
    signature.result = ValueTypeOf(sig.result_types[0]);
    if (!signature.result) {
      *why = fmt::format("result of type {}", sig.result_types[0].GetName());
      return std::nullopt;
    }
  }
  return signature;
}

Status Fail(const std::string& origin, std::string_view what) {
  return Status(StatusCode::kBuildFailed, fmt::format("{}: {}", origin, what));
}

// The function names of the name section, by function index. A malformed
// name section only loses names, as it would in any engine.
std::map<wabt::Index, std::string> ReadFunctionNames(std::span<const uint8_t> wasm,
                                                     const wabt::Features& features) {
  class NameReader : public wabt::BinaryReaderNop {
   public:
    explicit NameReader(std::map<wabt::Index, std::string>* names) : names_(names) {}
    wabt::Result OnFunctionName(wabt::Index index, std::string_view name) override {
      (*names_)[index] = std::string(name);
      return wabt::Result::Ok;
    }

   private:
    std::map<wabt::Index, std::string>* names_;
  };
  std::map<wabt::Index, std::string> names;
  NameReader reader(&names);
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/true,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  options.skip_function_bodies = true;
  (void)wabt::ReadBinary(wasm.data(), wasm.size(), &reader, options);
  return names;
}

}  // namespace

StatusOr<WasmTranslation> TranslateWasm(std::span<const uint8_t> wasm, const std::string& origin) {
  RF_RETURN_IF_ERROR(CheckWasmLimits(wasm, origin));
  wabt::Errors errors;
  wabt::Module module;
  wabt::Features features = TranslatableFeatures();
  // No debug names: the only module text in the IR is then the import and
  // export names, which are replaced below.
  wabt::ReadBinaryOptions read_options(features, nullptr, /*read_debug_names=*/false,
                                       /*stop_on_first_error=*/true, /*fail_on_custom_section_error=*/false);
  bool read_ok = wabt::Succeeded(
      wabt::ReadBinaryIr(origin.c_str(), wasm.data(), wasm.size(), read_options, &errors, &module));
  if (read_ok) {
    wabt::ValidateOptions validate_options(features);
    read_ok = wabt::Succeeded(wabt::ValidateModule(&module, &errors, validate_options));
  }
  if (!read_ok) {
    return Fail(origin, fmt::format("not a valid wasm module:\n{}",
                                    wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary)));
  }

  WasmTranslation result;
  result.content_hash = Sha256Text(wasm);

  std::vector<std::string> missing;
  for (const wabt::Import* import : module.imports) {
    std::string name = import->module_name + "." + import->field_name;
    if (import->kind() != wabt::ExternalKind::Func) {
      missing.push_back(fmt::format("{} (a {}: only functions can be imported)", name,
                                    wabt::GetKindName(import->kind())));
      continue;
    }
    const auto* func_import = wabt::cast<wabt::FuncImport>(import);
    std::string why;
    std::optional<Signature> signature = SignatureOf(func_import->func.decl.sig, &why);
    if (!signature) {
      missing.push_back(fmt::format("{} ({})", name, why));
      continue;
    }
    if (!LookupHostImport(import->module_name, import->field_name, *signature)) {
      missing.push_back(fmt::format("{} {}", name, signature->ToString()));
      continue;
    }
    result.imports.push_back({import->module_name, import->field_name, *signature});
    result.import_c_names.push_back(fmt::format("f{}", result.import_c_names.size()));
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& item : missing) list += "\n  " + item;
    return Fail(origin, fmt::format("imports that the host does not provide:{}\n({})", list,
                                    DescribeHostImports()));
  }

  if (module.memories.size() > 1) return Fail(origin, "more than one memory is not supported");
  if (!module.memories.empty()) {
    const wabt::Limits& limits = module.memories[0]->page_limits;
    if (limits.is_64) return Fail(origin, "64-bit memory is not supported (wasm32 only)");
    if (limits.is_shared) return Fail(origin, "shared memory is not supported");
    result.memory = MemoryInfo{static_cast<uint32_t>(limits.initial),
                               limits.has_max ? static_cast<uint32_t>(limits.max) : 65536u};
  }

  std::map<wabt::Index, std::string> names = ReadFunctionNames(wasm, features);
  auto function_name = [&](size_t index) {
    auto name = names.find(static_cast<wabt::Index>(index));
    return name == names.end() || name->second.empty() ? fmt::format("func[{}]", index)
                                                        : name->second;
  };
  for (size_t i = module.num_func_imports; i < module.funcs.size(); ++i) {
    result.function_names.push_back(function_name(i));
  }

  // Exports of every kind are renamed: wasm2c declares them all.
  module.export_bindings.clear();
  for (size_t i = 0; i < module.exports.size(); ++i) {
    wabt::Export* exported = module.exports[i];
    std::string c_name = fmt::format("e{}", i);
    std::string name = std::exchange(exported->name, c_name);
    module.export_bindings.emplace(c_name, wabt::Binding(static_cast<wabt::Index>(i)));
    if (exported->kind != wabt::ExternalKind::Func) continue;
    if (name == "_initialize") {
      result.initialize_c_name = c_name;
      continue;
    }
    const wabt::Func* func = module.GetFunc(exported->var);
    std::string why;
    std::optional<Signature> signature = SignatureOf(func->decl.sig, &why);
    if (!signature) {
      result.skipped_exports.push_back(fmt::format("{} ({})", name, why));
      continue;
    }
    result.exports.push_back({name, *signature});
    result.export_c_names.push_back(c_name);
    result.export_functions.push_back(function_name(module.GetFuncIndex(exported->var)));
  }

  for (size_t i = 0; i < module.imports.size(); ++i) {
    module.imports[i]->module_name = kWasm2cImportModule;
    module.imports[i]->field_name = result.import_c_names[i];
  }
  // wasm2c wants every item named: generated names only, since no name
  // from the module is left in the IR.
  if (wabt::Failed(wabt::GenerateNames(&module)) || wabt::Failed(wabt::ApplyNames(&module))) {
    return Fail(origin, "cannot name the module's items for translation to C");
  }
  wabt::MemoryStream c_stream, h_stream;
  wabt::WriteCOptions write_options;
  write_options.module_name = kWasm2cModuleName;
  if (wabt::Failed(wabt::WriteC(&c_stream, &h_stream, "module.h", &module, write_options))) {
    return Fail(origin, "wasm2c could not translate the module to C");
  }
  const auto& c_bytes = c_stream.output_buffer().data;
  const auto& h_bytes = h_stream.output_buffer().data;
  result.c_source.assign(c_bytes.begin(), c_bytes.end());
  result.c_header.assign(h_bytes.begin(), h_bytes.end());
  return result;
}

}  // namespace ringfence::internal
