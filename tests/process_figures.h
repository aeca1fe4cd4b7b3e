// What the test process holds, read from /proc: for "nothing leaks" checks.
#ifndef RINGFENCE_TESTS_PROCESS_FIGURES_H_
#define RINGFENCE_TESTS_PROCESS_FIGURES_H_

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ringfence/status.h"

namespace ringfence::testing {

// Resident set size in bytes (second field of /proc/self/statm, in pages).
inline int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  RF_CHECK(statm);
  return resident_pages * sysconf(_SC_PAGESIZE);
}

// Address space in bytes (VmSize of /proc/self/status).
inline int64_t VirtualBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmSize:", 0) == 0) {
      std::istringstream fields(line.substr(7));
      int64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  RF_CHECK(false);
  return 0;
}

inline int OpenFileDescriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

}  // namespace ringfence::testing

#endif  // RINGFENCE_TESTS_PROCESS_FIGURES_H_
