// The headline performance figures, measured in one run so their ratios are
// meaningful on a noisy machine. Used by `ringfence bench`.
#ifndef RINGFENCE_BENCH_FIGURES_H_
#define RINGFENCE_BENCH_FIGURES_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::bench {

struct FigureOptions {
  std::string module_dir;  // holds calc.rfm, compute.rfm, misbehave.rfm
  bool quick = false;      // fewer iterations: a smoke run, not for quoting
  // Called before each measurement with its name (progress).
  std::function<void(const std::string&)> progress;
};

struct Figure {
  std::string name;   // e.g. "gate_ratio"
  double value;
  std::string unit;   // "ns", "us", "ratio"
  std::string target; // e.g. "<= 2.0", "" if none
  bool met = true;    // false if a target exists and was missed
};

// Measures everything; kNotFound if a module is missing.
StatusOr<std::vector<Figure>> MeasureFigures(const FigureOptions& options);

// One-line description of this machine (CPU model, cores, kernel).
std::string DescribeMachine();

}  // namespace ringfence::bench

#endif  // RINGFENCE_BENCH_FIGURES_H_
