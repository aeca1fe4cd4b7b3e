// CompartmentImpl::Link: wiring a module's imports to other modules' exports.
#include <algorithm>

#include <fmt/format.h>

#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/compartment/export_call.h"
#include "src/services/host_imports.h"

namespace ringfence::internal {

namespace {

Result<uint64_t> CallCompartment(void* compartment, uint32_t export_index, const uint64_t* args) {
  return static_cast<CompartmentImpl*>(compartment)->CallSlots(export_index, args);
}

LinkTarget Direct(CompartmentImpl& target) { return {&target, &target, CallCompartment}; }

}  // namespace

Status CompartmentImpl::Link(std::string_view import_module, std::string_view import_name,
                             CompartmentImpl& target, std::string_view export_name) {
  return LinkTo(import_module, import_name, Direct(target), export_name);
}

Status CompartmentImpl::LinkModule(std::string_view import_module, CompartmentImpl& target) {
  return LinkModuleTo(import_module, Direct(target));
}

Status CompartmentImpl::LinkTo(std::string_view import_module, std::string_view import_name,
                               const LinkTarget& target, std::string_view export_name) {
  const std::vector<ImportInfo>& imports = module_->descriptor().imports;
  auto import = std::find_if(imports.begin(), imports.end(), [&](const ImportInfo& info) {
    return info.module == import_module && info.name == import_name;
  });
  if (import == imports.end() ||
      internal::LookupHostImport(import->module, import->name, import->signature)->binding !=
          internal::ImportBinding::kLinked) {
    return Status(StatusCode::kNotFound,
                  fmt::format("module {} has no linkable import {}.{}", module_->name(),
                              import_module, import_name));
  }
  StatusOr<uint32_t> export_index =
      CheckExport(*target.compartment->module(), export_name, import->signature);
  if (!export_index.ok()) {
    return Status(export_index.status().code(),
                  fmt::format("cannot link {}'s import {}.{} {}: {}", module_->name(), import_module,
                              import_name, import->signature.ToString(),
                              export_index.status().message()));
  }
  if (depth_.load() != 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot link module {} while a thread is inside it", module_->name()));
  }
  size_t slot = static_cast<size_t>(import - imports.begin());
  internal::LinkedImport link{target.object, target.call, *export_index};
  // The spare maker may be running the spare's start-up, which may call links.
  std::lock_guard spare_lock(spare_mutex_);
  if (spare_core_ != nullptr) spare_core_->links[slot] = link;
  core_->links[slot] = link;
  SpareSetUpChanged();
  return Status::Ok();
}

Status CompartmentImpl::LinkModuleTo(std::string_view import_module,
                                     const LinkTarget& target) {
  bool any = false;
  for (const ImportInfo& import : module_->descriptor().imports) {
    if (import.module != import_module) continue;
    RF_RETURN_IF_ERROR(LinkTo(import.module, import.name, target, import.name));
    any = true;
  }
  if (!any) {
    return Status(StatusCode::kNotFound, fmt::format("module {} imports nothing from {}",
                                                     module_->name(), import_module));
  }
  return Status::Ok();
}

}  // namespace ringfence::internal
