// Measuring helpers shared by the figure sets of `ringfence bench`.
#ifndef RINGFENCE_BENCH_MEASURE_H_
#define RINGFENCE_BENCH_MEASURE_H_

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ringfence/compartment.h"

namespace ringfence::bench {

using Clock = std::chrono::steady_clock;

inline double NanosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

// Keeps a value alive so the loop computing it is not optimised away.
template <typename T>
void Keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// Best (lowest) per-iteration time over `repeats` runs of `body(iterations)`.
template <typename Body>
double BestNanosPerIteration(int repeats, int64_t iterations, Body body) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    Clock::time_point start = Clock::now();
    body(iterations);
    best = std::min(best, NanosSince(start) / static_cast<double>(iterations));
  }
  return best;
}

inline double Percentile(std::vector<double> samples, double fraction) {
  std::sort(samples.begin(), samples.end());
  size_t index = std::min(samples.size() - 1, static_cast<size_t>(fraction * samples.size()));
  return samples[index];
}

inline StatusOr<std::unique_ptr<Compartment>> Open(const std::string& dir, const std::string& name,
                                             CompartmentOptions options = {}) {
  StatusOr<std::shared_ptr<const Module>> module = Module::Load(dir + "/" + name + ".rfm");
  if (!module.ok()) return module.status();
  return Compartment::Create(*module, options);
}

#define RF_ASSIGN_OR_RETURN(lhs, expression) \
  auto lhs##_or = (expression);              \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(lhs##_or).value()

}  // namespace ringfence::bench

#endif  // RINGFENCE_BENCH_MEASURE_H_
