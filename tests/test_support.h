// Helpers shared by the tests: where the built modules are, loading them.
#ifndef RINGFENCE_TESTS_TEST_SUPPORT_H_
#define RINGFENCE_TESTS_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ringfence/compartment.h"
#include "ringfence/module_file.h"

namespace ringfence::testing {

// Path of a built example module (calc, stl, compute, misbehave).
inline std::string ExampleModulePath(const std::string& name) {
  return std::string(RF_MODULE_DIR) + "/" + name + ".rfm";
}

// Path of a module built from tests/modules/<name>.c or <name>.wat.
inline std::string TestModulePath(const std::string& name) {
  return std::string(RF_TEST_MODULE_DIR) + "/" + name + ".rfm";
}

inline std::shared_ptr<const Module> LoadOrDie(const std::string& path) {
  StatusOr<std::shared_ptr<const Module>> module = Module::Load(path);
  if (!module.ok()) ADD_FAILURE() << module.status().ToString();
  RF_CHECK(module.ok());
  return *module;
}

inline std::unique_ptr<Compartment> CreateOrDie(std::shared_ptr<const Module> module,
                                                CompartmentOptions options = {}) {
  StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(std::move(module), options);
  if (!compartment.ok()) ADD_FAILURE() << compartment.status().ToString();
  RF_CHECK(compartment.ok());
  return std::move(compartment).value();
}

}  // namespace ringfence::testing

#endif  // RINGFENCE_TESTS_TEST_SUPPORT_H_
