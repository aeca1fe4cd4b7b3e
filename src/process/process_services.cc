#include "src/process/process_services.h"

#include <fmt/format.h>

#include "src/services/services.h"

namespace ringfence::internal {

bool ServeRequest(rf_import_context* core, const Message& request, uint64_t* result) {
  std::string* violation = &core->worker_detail;
  const uint64_t* slots = request.slots;
  uint32_t payload = request.b;  // bytes at payload offset 0
  if (payload > kPayloadBytes) {
    *violation = fmt::format("service request announces {} payload bytes; the area has {}",
                             payload, kPayloadBytes);
    return false;
  }
  auto u32 = [](uint64_t slot) { return static_cast<uint32_t>(slot); };
  switch (request.a) {
    case kServiceLog: ServiceLog(core, u32(slots[0]), 0, payload); *result = 0; return true;
    case kServiceClockNs: *result = ServiceClockNs(core); return true;
    case kServiceSleepNs: *result = ServiceSleepNs(core, slots[0]); return true;
    case kServiceHandleClose: *result = ServiceHandleClose(core, u32(slots[0])); return true;
    case kServiceLockOpen: *result = ServiceLockOpen(core, 0, payload); return true;
    case kServiceLockAcquire: *result = ServiceLockAcquire(core, u32(slots[0])); return true;
    case kServiceLockRelease: *result = ServiceLockRelease(core, u32(slots[0])); return true;
    case kServiceLockMarkConsistent:
      *result = ServiceLockMarkConsistent(core, u32(slots[0]));
      return true;
    case kServiceRegionOpen: *result = ServiceRegionOpen(core, 0, payload); return true;
    case kServiceRegionOffset: *result = ServiceRegionOffset(core, u32(slots[0])); return true;
    case kServiceRegionSize: *result = ServiceRegionSize(core, u32(slots[0])); return true;
    case kServiceCallStatus: *result = ServiceCallStatus(core); return true;
    case kServiceCallLinked: {
      uint64_t index = slots[0];
      if (index >= core->links.size()) {
        *violation = fmt::format("linked call to import {}; the module has {}", index,
                                 core->links.size());
        return false;
      }
      uint64_t value = 0;
      ServiceCallLinked(core, static_cast<uint32_t>(index), slots + 1, &value);
      *result = value;
      return true;
    }
    case kServiceFaultPoint: *result = ServiceFaultPoint(core, 0, payload); return true;
  }
  *violation = fmt::format("unknown service {}", request.a);
  return false;
}

}  // namespace ringfence::internal
