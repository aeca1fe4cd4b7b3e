// ModuleDescriptor <-> JSON. Parsing never throws: every field is checked for
// presence and type, and a bad descriptor is a kNotAModule Status.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ringfence/module_file.h"

namespace ringfence {
namespace {

using nlohmann::json;

json SignatureToJson(const Signature& signature) {
  json params = json::array();
  for (ValueType type : signature.params) params.push_back(ValueTypeName(type));
  json results = json::array();
  if (signature.result) results.push_back(ValueTypeName(*signature.result));
  return json{{"params", params}, {"results", results}};
}

Status Bad(std::string_view what) {
  return Status(StatusCode::kNotAModule, fmt::format("bad module descriptor: {}", what));
}

Status ReadString(const json& object, const char* key, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return Bad(fmt::format("'{}' must be a string", key));
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadU32(const json& object, const char* key, uint32_t* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX) {
    return Bad(fmt::format("'{}' must be an unsigned 32-bit number", key));
  }
  *out = static_cast<uint32_t>(it->get<uint64_t>());
  return Status::Ok();
}

Status ReadSignature(const json& object, Signature* out) {
  auto params = object.find("params");
  auto results = object.find("results");
  if (params == object.end() || !params->is_array() || results == object.end() ||
      !results->is_array() || results->size() > 1) {
    return Bad("a signature needs a 'params' array and a 'results' array of at most one type");
  }
  for (const json* list : {&*params, &*results}) {
    for (const json& item : *list) {
      std::optional<ValueType> type =
          item.is_string() ? ParseValueType(item.get<std::string>()) : std::nullopt;
      if (!type) return Bad(fmt::format("unknown value type {}", item.dump()));
      if (list == &*params) {
        out->params.push_back(*type);
      } else {
        out->result = *type;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view IsolationName(Isolation isolation) {
  return isolation == Isolation::kProcess ? "process" : "wasm";
}

std::string ModuleDescriptor::ToJson(int indent) const {
  json exports_json = json::array();
  for (const ExportInfo& info : exports) {
    json item = SignatureToJson(info.signature);
    item["name"] = info.name;
    exports_json.push_back(item);
  }
  json imports_json = json::array();
  for (const ImportInfo& info : imports) {
    json item = SignatureToJson(info.signature);
    item["module"] = info.module;
    item["name"] = info.name;
    imports_json.push_back(item);
  }
  json document = {
      {"format", "ringfence-module"},
      {"name", name},
      {"abi_version", abi_version},
      {"content_hash", content_hash},
      {"exports", exports_json},
      {"imports", imports_json},
      {"function_count", function_count},
      {"built_by", built_by},
  };
  if (!source_hash.empty()) document["source_hash"] = source_hash;
  document["isolation"] = IsolationName(isolation);
  if (isolation == Isolation::kProcess) {
    json functions = json::array();
    for (const NativeFunction& function : native_functions) {
      functions.push_back(json{{"offset", function.offset}, {"name", function.name}});
    }
    document["native_functions"] = functions;
  }
  document["memory"] = memory ? json{{"initial_pages", memory->initial_pages},
                                     {"max_pages", memory->max_pages}}
                              : json(nullptr);
  return document.dump(indent);
}

StatusOr<ModuleDescriptor> ModuleDescriptor::FromJson(std::string_view text) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) return Bad("not a JSON object");
  ModuleDescriptor descriptor;
  std::string format;
  RF_RETURN_IF_ERROR(ReadString(document, "format", &format));
  if (format != "ringfence-module") return Bad("'format' is not \"ringfence-module\"");
  RF_RETURN_IF_ERROR(ReadString(document, "name", &descriptor.name));
  if (descriptor.name.empty()) return Bad("'name' is empty");
  RF_RETURN_IF_ERROR(ReadU32(document, "abi_version", &descriptor.abi_version));
  RF_RETURN_IF_ERROR(ReadString(document, "content_hash", &descriptor.content_hash));
  if (document.contains("source_hash")) {
    RF_RETURN_IF_ERROR(ReadString(document, "source_hash", &descriptor.source_hash));
  }
  RF_RETURN_IF_ERROR(ReadU32(document, "function_count", &descriptor.function_count));
  RF_RETURN_IF_ERROR(ReadString(document, "built_by", &descriptor.built_by));
  for (const char* key : {"exports", "imports"}) {
    auto list = document.find(key);
    if (list == document.end() || !list->is_array()) {
      return Bad(fmt::format("'{}' must be an array", key));
    }
    for (const json& item : *list) {
      if (!item.is_object()) return Bad(fmt::format("'{}' entries must be objects", key));
      Signature signature;
      RF_RETURN_IF_ERROR(ReadSignature(item, &signature));
      std::string name;
      RF_RETURN_IF_ERROR(ReadString(item, "name", &name));
      if (std::string_view(key) == "exports") {
        descriptor.exports.push_back({std::move(name), std::move(signature)});
      } else {
        std::string module;
        RF_RETURN_IF_ERROR(ReadString(item, "module", &module));
        descriptor.imports.push_back({std::move(module), std::move(name), std::move(signature)});
      }
    }
  }
  std::string isolation;
  RF_RETURN_IF_ERROR(ReadString(document, "isolation", &isolation));
  if (isolation == "process") {
    descriptor.isolation = Isolation::kProcess;
  } else if (isolation != "wasm") {
    return Bad("'isolation' must be \"wasm\" or \"process\"");
  }
  if (descriptor.isolation == Isolation::kProcess) {
    auto functions = document.find("native_functions");
    if (functions == document.end() || !functions->is_array()) {
      return Bad("a process module needs a 'native_functions' array");
    }
    for (const json& item : *functions) {
      auto offset = item.is_object() ? item.find("offset") : item.end();
      if (offset == item.end() || !offset->is_number_unsigned()) {
        return Bad("'native_functions' entries need an unsigned 'offset'");
      }
      NativeFunction function;
      function.offset = offset->get<uint64_t>();
      RF_RETURN_IF_ERROR(ReadString(item, "name", &function.name));
      descriptor.native_functions.push_back(std::move(function));
    }
  }
  auto memory = document.find("memory");
  if (memory == document.end()) return Bad("'memory' is missing");
  if (!memory->is_null()) {
    if (!memory->is_object()) return Bad("'memory' must be an object or null");
    MemoryInfo info;
    RF_RETURN_IF_ERROR(ReadU32(*memory, "initial_pages", &info.initial_pages));
    RF_RETURN_IF_ERROR(ReadU32(*memory, "max_pages", &info.max_pages));
    descriptor.memory = info;
  }
  return descriptor;
}

}  // namespace ringfence
