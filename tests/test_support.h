// Helpers shared by the tests: where the built modules are, loading them.
#ifndef RINGFENCE_TESTS_TEST_SUPPORT_H_
#define RINGFENCE_TESTS_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/module_file.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RF_TEST_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define RF_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RF_TEST_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RF_TEST_ASAN 1
#endif

namespace ringfence::testing {

// Sets an environment variable for its lifetime (or until Restore), then
// puts back what was there, or nothing.
class ScopedEnvironmentVariable {
 public:
  ScopedEnvironmentVariable(const char* name, const std::string& value) : name_(name) {
    if (const char* before = std::getenv(name)) saved_ = before;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvironmentVariable() { Restore(); }
  void Restore() {
    if (restored_) return;
    restored_ = true;
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
  bool restored_ = false;
};

// ThreadSanitizer cannot follow a jump out of a signal handler: it goes on
// believing the thread is inside the handler and reports every later malloc
// as signal-unsafe. Under TSan the tests therefore leave out the traps that
// arrive as signals (out-of-bounds, stack exhaustion); the normal and ASan
// builds cover them.
#ifdef RF_TEST_TSAN
inline constexpr bool kSignalTrapsTestable = false;
#else
inline constexpr bool kSignalTrapsTestable = true;
#endif

// AddressSanitizer keeps freed memory in quarantine and TSan maps shadow
// memory, so RSS and address-space growth only mean "leak" without them.
#if defined(RF_TEST_TSAN) || defined(RF_TEST_ASAN)
inline constexpr bool kMemoryFiguresMeaningful = false;
#else
inline constexpr bool kMemoryFiguresMeaningful = true;
#endif

#define RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN()                                              \
  do {                                                                                 \
    if (!::ringfence::testing::kSignalTrapsTestable)                                   \
      GTEST_SKIP() << "traps delivered as signals are not testable under TSan";        \
  } while (0)

// Path of a built example module (calc, stl, compute, misbehave).
// The whole of the file at `path` (which must exist).
inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  RF_CHECK(file);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
}

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

inline ::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

// "ok", "trapped: <trap>" or "failed: <status>", for failure messages.
template <typename T>
std::string Describe(const Result<T>& result) {
  if (result.trapped()) return "trapped: " + result.trap().ToString();
  if (result.failed()) return "failed: " + result.status().ToString();
  return "ok";
}

// Polls `condition` until it holds (true) or `limit` has passed (false).
template <typename Condition>
bool Eventually(Condition condition,
                std::chrono::steady_clock::duration limit = std::chrono::seconds(10)) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

}  // namespace ringfence::testing

#endif  // RINGFENCE_TESTS_TEST_SUPPORT_H_
