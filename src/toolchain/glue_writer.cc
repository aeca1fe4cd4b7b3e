#include "src/toolchain/glue_writer.h"

#include <algorithm>
#include <map>
#include <regex>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "src/services/host_imports.h"
#include "src/toolchain/c_text.h"

namespace ringfence::internal {
namespace {

// A prototype from the wasm2c header: "RT SYMBOL(P0, P1, ...);".
struct Prototype {
  std::string return_type;
  std::string symbol;
  std::vector<std::string> params;
};

std::optional<Prototype> ParsePrototype(const std::string& line) {
  static const std::regex kShape(R"(^(.*[\s*])(Z_\w+)\((.*)\);\s*$)");
  std::smatch match;
  if (!std::regex_match(line, match, kShape)) return std::nullopt;
  Prototype prototype{match[1].str(), match[2].str(), {}};
  while (!prototype.return_type.empty() && prototype.return_type.back() == ' ') {
    prototype.return_type.pop_back();
  }
  std::stringstream params(match[3].str());
  for (std::string param; std::getline(params, param, ',');) {
    size_t first = param.find_first_not_of(' ');
    prototype.params.push_back(first == std::string::npos ? "" : param.substr(first));
  }
  return prototype;
}

// The prototypes following the "/* import: 'module' 'name' */" and
// "/* export: 'name' */" comments, by the names in those comments: the
// generated names TranslateWasm gave wasm2c, never the module's own.
struct HeaderShape {
  std::map<std::string, Prototype> imports;  // key: field name
  std::map<std::string, Prototype> exports;
  std::optional<Prototype> instantiate;
  std::string memory_field;  // "" if the instance has no memory
};

StatusOr<HeaderShape> ParseHeader(const std::string& header) {
  HeaderShape shape;
  std::stringstream lines(header);
  std::map<std::string, Prototype>* pending = nullptr;
  std::string pending_key;
  static const std::regex kImport(
      fmt::format(R"(^/\* import: '{}' '(\w+)' \*/$)", kWasm2cImportModule));
  static const std::regex kExport(R"(^/\* export: '(\w+)' \*/$)");
  static const std::regex kMemoryField(R"(^\s*wasm_rt_memory_t (\w+);\s*$)");
  std::string instantiate_symbol = fmt::format("Z_{}_instantiate", kWasm2cModuleName);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (pending != nullptr) {
      std::optional<Prototype> prototype = ParsePrototype(line);
      if (!prototype) {
        return Status(StatusCode::kBuildFailed,
                      fmt::format("unexpected wasm2c header line: {}", line));
      }
      pending->emplace(pending_key, std::move(*prototype));
      pending = nullptr;
    } else if (std::regex_match(line, match, kImport)) {
      pending = &shape.imports;
      pending_key = match[1].str();
    } else if (std::regex_match(line, match, kExport)) {
      pending = &shape.exports;
      pending_key = match[1].str();
    } else if (std::regex_match(line, match, kMemoryField)) {
      shape.memory_field = match[1].str();
    } else if (line.find(instantiate_symbol + "(") != std::string::npos) {
      shape.instantiate = ParsePrototype(line);
    }
  }
  if (!shape.instantiate) {
    return Status(StatusCode::kBuildFailed, "wasm2c header has no instantiate function");
  }
  return shape;
}



std::string TypeCodes(const std::vector<ValueType>& types) {
  std::string codes;
  for (ValueType type : types) codes += ValueTypeCode(type);
  return codes;
}

void WriteImport(std::ostream& out, uint32_t import_index, const ImportInfo& import,
                 const Prototype& prototype, const HostImport& binding) {
  out << "RF_FORWARDER " << prototype.return_type << " " << prototype.symbol << "(";
  for (size_t i = 0; i < prototype.params.size(); ++i) {
    out << (i > 0 ? ", " : "") << prototype.params[i] << " a" << i;
  }
  out << ") {\n";
  std::string args = "(rf_import_context*)a0";
  for (size_t i = 1; i < prototype.params.size(); ++i) args += fmt::format(", a{}", i);
  switch (binding.binding) {
    case ImportBinding::kHostCall:
      out << "  " << (import.signature.result ? "return " : "") << "rf_host->" << binding.host_field
          << "(" << args << ");\n";
      break;
    case ImportBinding::kProcExit:
      out << "  (void)a0;\n  rf_exit((int32_t)a1);\n";
      break;
    case ImportBinding::kConstant:
      for (size_t i = 0; i < prototype.params.size(); ++i) out << "  (void)a" << i << ";\n";
      out << "  return " << binding.constant << "u;\n";
      break;
    case ImportBinding::kLinked: {
      const Signature& signature = import.signature;
      out << "  uint64_t args[" << std::max<size_t>(signature.params.size(), 1) << "] = {0};\n";
      for (size_t i = 0; i < signature.params.size(); ++i) {
        out << "  args[" << i << "] = rf_" << SlotSuffix(signature.params[i]) << "_to_slot(a" << i + 1
            << ");\n";
      }
      out << "  uint64_t result = 0;\n"
          << "  rf_host->call_linked((rf_import_context*)a0, " << import_index << "u, args, &result);\n";
      if (signature.result) out << "  return rf_slot_to_" << SlotSuffix(*signature.result) << "(result);\n";
      else out << "  (void)result;\n";
      break;
    }
  }
  out << "}\n\n";
}

void WriteExportGates(std::ostream& out, uint32_t index, const ExportInfo& info,
                      const Prototype& prototype) {
  const Signature& signature = info.signature;
  std::string result_type = signature.result ? std::string(SlotSuffix(*signature.result)) : "void";
  // Typed gate: R gate(rf_thread*, void* instance, P...).
  out << "static " << result_type << " rf_gate_" << index << "(rf_thread* thread, void* instance";
  std::string call_args;
  for (size_t i = 0; i < signature.params.size(); ++i) {
    out << ", " << SlotSuffix(signature.params[i]) << " p" << i;
    call_args += fmt::format(", p{}", i);
  }
  out << ") {\n";
  if (signature.result) out << "  " << result_type << " result;\n";
  out << "  RF_GATE_BEGIN(thread, instance, return" << (signature.result ? " 0" : "") << ");\n";
  out << "  " << (signature.result ? "result = " : "") << prototype.symbol << "(("
      << fmt::format("Z_{}_instance_t", kWasm2cModuleName) << "*)instance" << call_args << ");\n";
  out << "  RF_GATE_END(thread);\n";
  if (signature.result) out << "  return result;\n";
  out << "}\n\n";
  // Slot gate: arguments and result as 64-bit slots.
  out << "static void rf_call_" << index
      << "(rf_thread* thread, void* instance, const uint64_t* args, uint64_t* results) {\n";
  std::string slot_args;
  for (size_t i = 0; i < signature.params.size(); ++i) {
    slot_args += fmt::format(", rf_slot_to_{}(args[{}])", SlotSuffix(signature.params[i]), i);
  }
  if (signature.result) {
    out << "  results[0] = rf_" << SlotSuffix(*signature.result) << "_to_slot(rf_gate_" << index
        << "(thread, instance" << slot_args << "));\n";
  } else {
    out << "  (void)results;\n  rf_gate_" << index << "(thread, instance" << slot_args << ");\n";
  }
  if (signature.params.empty()) out << "  (void)args;\n";
  out << "}\n\n";
}

std::vector<std::string> DefinedFunctionSymbols(const std::string& c_source) {
  static const std::regex kDeclaration(
      fmt::format(R"(^static [^(]*\b(w2c_\w+)\(Z_{}_instance_t\*.*\);$)", kWasm2cModuleName));
  std::vector<std::string> symbols;
  std::stringstream lines(c_source);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("static ")) continue;
    std::smatch match;
    if (std::regex_match(line, match, kDeclaration)) symbols.push_back(match[1].str());
  }
  return symbols;
}

}  // namespace

StatusOr<GlueSources> WriteGlue(const WasmTranslation& translation, const std::string& module_name) {
  StatusOr<HeaderShape> shape = ParseHeader(translation.c_header);
  if (!shape.ok()) return shape.status();
  auto missing = [](std::string_view what) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("the wasm2c header does not declare {}", what));
  };
  const std::string instance_type = fmt::format("Z_{}_instance_t", kWasm2cModuleName);
  std::vector<const Prototype*> export_prototypes;
  for (const std::string& c_name : translation.export_c_names) {
    auto prototype = shape->exports.find(c_name);
    if (prototype == shape->exports.end()) return missing("export " + c_name);
    export_prototypes.push_back(&prototype->second);
  }
  std::vector<const Prototype*> import_prototypes;
  for (const std::string& c_name : translation.import_c_names) {
    auto prototype = shape->imports.find(c_name);
    if (prototype == shape->imports.end()) return missing("import " + c_name);
    import_prototypes.push_back(&prototype->second);
  }
  const Prototype* initialize = nullptr;
  if (!translation.initialize_c_name.empty()) {
    auto prototype = shape->exports.find(translation.initialize_c_name);
    if (prototype == shape->exports.end()) return missing("export _initialize");
    initialize = &prototype->second;
  }

  // Unit 1: the module's code, its runtime and its imports.
  std::ostringstream unit;
  // No name in comments: "*/" in one would end the comment.
  unit << "/* Generated by ringfence build. Do not edit. */\n"
       << "#include \"module_shim.c\"\n#include \"module.c\"\n\n";
  unit << "/* Imports. */\n";
  for (uint32_t i = 0; i < translation.imports.size(); ++i) {
    const ImportInfo& import = translation.imports[i];
    std::optional<HostImport> binding = LookupHostImport(import.module, import.name, import.signature);
    RF_CHECK(binding.has_value());  // TranslateWasm refused unknown imports
    WriteImport(unit, i, import, *import_prototypes[i], *binding);
  }
  // Naming trap sites needs one symbol per defined function; without an
  // exact match, traps are reported without a function name. Export
  // wrappers inline the function they export, so they carry its name too.
  std::vector<std::pair<std::string, std::string>> functions;  // (C symbol, name)
  std::vector<std::string> symbols = DefinedFunctionSymbols(translation.c_source);
  if (symbols.size() == translation.function_names.size()) {
    for (size_t i = 0; i < symbols.size(); ++i) {
      functions.emplace_back(symbols[i], translation.function_names[i]);
    }
    for (size_t i = 0; i < translation.exports.size(); ++i) {
      functions.emplace_back(export_prototypes[i]->symbol, translation.export_functions[i]);
    }
    for (size_t i = 0; i < translation.imports.size(); ++i) {
      const ImportInfo& import = translation.imports[i];
      functions.emplace_back(import_prototypes[i]->symbol, import.module + "." + import.name);
    }
  }
  unit << "const rf_function_name rf_functions[] = {\n";
  for (const auto& [symbol, name] : functions) {
    unit << "  {(const void*)&" << symbol << ", " << CString(name) << "},\n";
  }
  if (functions.empty()) unit << "  {0, 0},\n";
  unit << "};\n\n";
  unit << "extern const rf_module_abi rf_abi;\n\n"
       << "__attribute__((visibility(\"default\"))) const rf_module_abi* ringfence_module_v4"
       << "(const rf_host_api* host) {\n"
       << "  if (rf_bind(host) == NULL) return NULL;\n"
       << "  Z_" << kWasm2cModuleName << "_init_module();\n"
       << "  return &rf_abi;\n}\n";

  // Unit 2: the gates, which must not see into the module's code.
  std::ostringstream gates;
  gates << "/* Generated by ringfence build. Do not edit. */\n"
        << "#include \"module_gate.h\"\n#include \"module.h\"\n\n";
  for (uint32_t i = 0; i < translation.exports.size(); ++i) {
    WriteExportGates(gates, i, translation.exports[i], *export_prototypes[i]);
  }
  gates << "static const rf_export rf_exports[] = {\n";
  for (uint32_t i = 0; i < translation.exports.size(); ++i) {
    const ExportInfo& info = translation.exports[i];
    std::vector<ValueType> results;
    if (info.signature.result) results.push_back(*info.signature.result);
    gates << "  {" << CString(info.name) << ", \"" << TypeCodes(info.signature.params) << "\", \""
          << TypeCodes(results) << "\", (void (*)(void))" << export_prototypes[i]->symbol
          << ", (void (*)(void))rf_gate_" << i << ", rf_call_" << i << "},\n";
  }
  if (translation.exports.empty()) gates << "  {0, 0, 0, 0, 0, 0},\n";
  gates << "};\n\n";
  gates << "static void rf_instantiate(rf_thread* thread, void* instance, rf_import_context* imports) {\n"
        << "  RF_GATE_BEGIN(thread, instance, return);\n"
        << "  Z_" << kWasm2cModuleName << "_instantiate((" << instance_type << "*)instance";
  for (size_t i = 1; i < shape->instantiate->params.size(); ++i) gates << ", (void*)imports";
  gates << ");\n";
  if (shape->instantiate->params.size() == 1) gates << "  (void)imports;\n";
  if (initialize != nullptr) gates << "  " << initialize->symbol << "((" << instance_type << "*)instance);\n";
  gates << "  RF_GATE_END(thread);\n}\n\n";
  gates << "static void rf_free_instance(void* instance) {\n  Z_" << kWasm2cModuleName << "_free(("
        << instance_type << "*)instance);\n}\n\n";
  gates << "static wasm_rt_memory_t* rf_memory(void* instance) {\n";
  if (shape->memory_field.empty()) {
    gates << "  (void)instance;\n  return NULL;\n";
  } else {
    gates << "  return &((" << instance_type << "*)instance)->" << shape->memory_field << ";\n";
  }
  gates << "}\n\n";
  gates << "extern const rf_function_name rf_functions[];\n\n"
        << "const rf_module_abi rf_abi = {\n"
        << "  RF_MODULE_ABI_VERSION, " << CString(module_name) << ", sizeof(" << instance_type
        << "),\n  rf_instantiate, rf_free_instance, rf_memory,\n  " << translation.exports.size()
        << ", rf_exports, " << functions.size() << ", rf_functions, rf_unwind,\n};\n";
  return GlueSources{unit.str(), gates.str()};
}

}  // namespace ringfence::internal
