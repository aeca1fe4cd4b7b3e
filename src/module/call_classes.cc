#include "src/module/call_classes.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include <fmt/format.h>

namespace ringfence {

std::string_view CallClassName(CallClass call_class) {
  switch (call_class) {
    case CallClass::kNeither: return "neither";
    case CallClass::kIdempotent: return "idempotent";
    case CallClass::kStateSetting: return "state-setting";
  }
  return "neither";
}

namespace internal {
namespace {

bool IsInteger(ValueType type) { return type == ValueType::kI32 || type == ValueType::kI64; }

}  // namespace

StatusOr<std::vector<ExportCallClass>> ParseCallClasses(const ModuleDescriptor& descriptor,
                                                        std::string_view origin) {
  const std::vector<ExportInfo>& exports = descriptor.exports;
  std::vector<ExportCallClass> classes(exports.size());
  std::vector<bool> declared(exports.size(), false);
  // The exports by name (then index, so a repeated name finds its first
  // export, as Module::FindExport does): a binary search per marker keeps
  // a crafted descriptor of n exports at O(n log n), where a scan per
  // marker made it O(n^2), and no choice of names makes it slower.
  std::vector<std::pair<std::string_view, size_t>> by_name;
  by_name.reserve(exports.size());
  for (size_t i = 0; i < exports.size(); ++i) by_name.emplace_back(exports[i].name, i);
  std::sort(by_name.begin(), by_name.end());
  for (const ExportInfo& marker : exports) {
    if (!marker.IsCallClassMarker()) continue;
    std::string_view name = marker.name;
    auto bad = [&](std::string_view why) {
      return Status(StatusCode::kNotAModule,
                    fmt::format("{}: bad call-class declaration '{}': {}", origin, name, why));
    };
    std::string_view rest = name.substr(kCallClassMarkerPrefix.size());
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return bad("expected <export>:<class>");
    std::string_view export_name = rest.substr(0, colon);
    std::string_view text = rest.substr(colon + 1);
    auto found = std::lower_bound(by_name.begin(), by_name.end(), std::pair(export_name, size_t{0}));
    if (found == by_name.end() || found->first != export_name) {
      return bad("the module has no such export");
    }
    size_t index = found->second;
    if (declared[index]) return bad("the export already has a call class");
    declared[index] = true;
    ExportCallClass& entry = classes[index];
    if (text == "idempotent") {
      entry.call_class = CallClass::kIdempotent;
    } else if (text == "state") {
      entry.call_class = CallClass::kStateSetting;
    } else if (text.starts_with("state:key=")) {
      std::string_view digits = text.substr(10);
      uint32_t param = 0;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), param);
      const std::vector<ValueType>& params = exports[index].signature.params;
      if (error != std::errc() || end != digits.data() + digits.size() || param >= params.size() ||
          !IsInteger(params[param])) {
        return bad("the key must name an integer parameter of the export");
      }
      entry.call_class = CallClass::kStateSetting;
      entry.key_param = param;
    } else {
      return bad("unknown class (expected idempotent, state or state:key=<param>)");
    }
  }
  return classes;
}

}  // namespace internal

bool ExportInfo::IsCallClassMarker() const {
  return name.starts_with(internal::kCallClassMarkerPrefix);
}

StatusOr<std::vector<ExportCallClass>> ModuleDescriptor::CallClasses(
    std::string_view origin) const {
  return internal::ParseCallClasses(*this, origin);
}

}  // namespace ringfence
