// The C++ half of lib_native_only: a static initializer (a global with a
// constructor), which a native build must run only at start().
#include <cstdint>

namespace {

volatile int32_t g_initializer_runs = 0;

struct CountsItsConstruction {
  CountsItsConstruction() { g_initializer_runs = g_initializer_runs + 1; }
};

CountsItsConstruction g_counted;

}  // namespace

extern "C" int32_t native_only_cxx_initializer_runs(void) { return g_initializer_runs; }
