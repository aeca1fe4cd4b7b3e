// Figures of the process backend: a round trip to a worker process against
// a plain pipe ping-pong between two processes, restarts with and without a
// pre-started worker, and the CPU-bound module natively in a worker.
#ifndef RINGFENCE_BENCH_PROCESS_FIGURES_H_
#define RINGFENCE_BENCH_PROCESS_FIGURES_H_

#include <vector>

#include "bench/figures.h"
#include "ringfence/status.h"

namespace ringfence::bench {

// Appends the figures. `native_compute_ns`: the compute workload run
// directly in this process, measured earlier in the same run.
Status MeasureProcessBackend(const FigureOptions& options, double native_compute_ns,
                             std::vector<Figure>* figures);

}  // namespace ringfence::bench

#endif  // RINGFENCE_BENCH_PROCESS_FIGURES_H_
