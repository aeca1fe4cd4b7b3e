#include "src/process/worker/worker_options.h"

#include <cerrno>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

// ADDRESS + SIZE must stay below 4 GiB: module code turns the 32-bit offset
// rf_region_offset returns into a pointer, so the region must sit at that
// same address.
constexpr uint64_t kRegionAddressLimit = uint64_t{1} << 32;

// "FD:ADDRESS:SIZE", numbers in C syntax (0x... allowed).
std::string ParseRegion(const std::string& text, RegionOption* region) {
  size_t first = text.find(':');
  size_t second = first == std::string::npos ? first : text.find(':', first + 1);
  if (second == std::string::npos) return "expected FD:ADDRESS:SIZE";
  auto number = [](const std::string& part, uint64_t* value) {
    if (part.empty()) return false;
    char* end = nullptr;
    errno = 0;
    *value = std::strtoull(part.c_str(), &end, 0);
    return errno == 0 && *end == '\0' && part[0] != '-';
  };
  uint64_t fd = 0;
  if (!number(text.substr(0, first), &fd) || fd > 1'000'000 ||
      !number(text.substr(first + 1, second - first - 1), &region->address) ||
      !number(text.substr(second + 1), &region->size)) {
    return "expected FD:ADDRESS:SIZE (non-negative numbers)";
  }
  region->fd = static_cast<int>(fd);
  if (region->size == 0 || region->address % 4096 != 0 || region->size % 4096 != 0) {
    return "ADDRESS and SIZE must be page-aligned and SIZE non-zero";
  }
  if (region->address == 0 || region->address >= kRegionAddressLimit ||
      region->size > kRegionAddressLimit - region->address) {
    return "the region must lie inside (0, 4 GiB)";
  }
  return "";
}

}  // namespace

WorkerOptions ParseWorkerOptions(int argc, char** argv) {
  WorkerOptions options;
  std::vector<std::string> regions;
  CLI::App app{"ringfence-worker: runs one natively built module in a sandboxed process for a "
               "ringfence host. Started by the host only."};
  app.add_option("--parent-pid", options.parent_pid, "the host's pid")->required();
  auto* await = app.add_option("--await-assignment", options.await_fd,
                               "socket on which the host sends the rest of this command line "
                               "(with its descriptors) when it needs the worker")
                    ->check(CLI::NonNegativeNumber);
  auto* module = app.add_option("--module", options.module,
                                "the module's name (checked against its code)");
  auto* channel = app.add_option("--channel-fd", options.channel_fd,
                                 "inherited memfd of the channel")
                      ->check(CLI::NonNegativeNumber);
  auto* code = app.add_option("--code-fd", options.code_fd,
                              "inherited memfd of the module's shared object")
                   ->check(CLI::NonNegativeNumber);
  app.add_option("--region", regions, "FD:ADDRESS:SIZE, a shared region to map at ADDRESS");
  app.add_option("--memory-limit", options.memory_limit, "bytes the module may map");
  app.add_option("--cpu-seconds", options.cpu_seconds, "CPU time limit");
  for (CLI::Option* option : {module, channel, code}) await->excludes(option);
  try {
    app.parse(argc, argv);
    if (options.await_fd < 0) {
      for (CLI::Option* option : {module, channel, code}) {
        if (option->count() == 0) throw CLI::RequiredError(option->get_name());
      }
    }
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    std::exit(code == 0 ? 0 : internal::kWorkerExitSetupFailed);
  }
  for (const std::string& text : regions) {
    RegionOption region;
    std::string error = ParseRegion(text, &region);
    if (!error.empty()) {
      fmt::print(stderr, "ringfence-worker: --region {}: {}\n", text, error);
      std::exit(internal::kWorkerExitSetupFailed);
    }
    options.regions.push_back(region);
  }
  return options;
}

}  // namespace ringfence::worker
