// `ringfence demo`: the supervised driver stack under a fault storm.
#ifndef RINGFENCE_TOOLS_RINGFENCE_DEMO_STORM_H_
#define RINGFENCE_TOOLS_RINGFENCE_DEMO_STORM_H_

#include <cstdint>
#include <string>

#include "ringfence/module_file.h"

namespace ringfence::cli {

struct StormOptions {
  std::string module_dir;    // holds blockdev.rfm and minifs.rfm ("" = find it)
  // kWasm: blockdev.rfm and minifs.rfm in this process; kProcess:
  // blockdev_native.rfm and minifs_native.rfm, each in a sandboxed worker.
  Isolation isolation = Isolation::kWasm;
  uint64_t seed = 1;
  double duration_s = 10;
  int clients = 2;
  std::string storm;         // a FaultPlan spec; "" = the default storm
  bool json = false;         // the summary as one JSON object on stdout
  std::string metrics_path;  // Prometheus text written here at the end
  std::string report_path;   // crash reports appended here as JSON lines
  bool verbose = false;      // one stderr line per crash
  bool quiet_modules = false;
};

// Exit code: 0 when nothing was lost or duplicated and the disk is
// consistent, kExitFailure otherwise, kExitUsage for bad options/modules.
int RunStorm(const StormOptions& options);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_DEMO_STORM_H_
