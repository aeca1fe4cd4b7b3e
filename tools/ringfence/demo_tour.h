// `ringfence demo --tour`: one kind of fault after another, each contained.
#ifndef RINGFENCE_TOOLS_RINGFENCE_DEMO_TOUR_H_
#define RINGFENCE_TOOLS_RINGFENCE_DEMO_TOUR_H_

#include <string>

namespace ringfence::cli {

struct TourOptions {
  std::string module_dir;
  bool quiet_modules = false;
};

int RunTour(const TourOptions& options);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_DEMO_TOUR_H_
