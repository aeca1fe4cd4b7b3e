// Host services a module imports. Each runs on the thread that is inside the
// module's gate, receives the compartment's core as its context, and checks
// every window offset and length it is given before use: a bad one is the
// module's error (a WASI errno, or the call is ignored), never the host's.
#ifndef RINGFENCE_SRC_SERVICES_SERVICES_H_
#define RINGFENCE_SRC_SERVICES_SERVICES_H_

#include <cstdint>

#include "src/compartment/compartment_core.h"

namespace ringfence::internal {

// "ringfence" module.
// rf_log: the first kMaxModuleLogBytes of the message are logged, then a
// marker saying how much was cut; nothing longer is ever copied.
inline constexpr uint32_t kMaxModuleLogBytes = 16 * 1024;
void ServiceLog(rf_import_context* core, uint32_t level, uint32_t message, uint32_t length);
uint64_t ServiceClockNs(rf_import_context* core);

// "wasi_snapshot_preview1" module: the subset wasi-libc needs.
uint32_t WasiFdWrite(rf_import_context* core, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                     uint32_t nwritten);
uint32_t WasiFdFdstatGet(rf_import_context* core, uint32_t fd, uint32_t stat);
uint32_t WasiClockTimeGet(rf_import_context* core, uint32_t clock_id, uint64_t precision,
                          uint32_t time);
uint32_t WasiClockResGet(rf_import_context* core, uint32_t clock_id, uint32_t resolution);
uint32_t WasiRandomGet(rf_import_context* core, uint32_t buffer, uint32_t length);
// args_sizes_get / environ_sizes_get: a module has no arguments or environment.
uint32_t WasiSizesGetEmpty(rf_import_context* core, uint32_t count, uint32_t size);

// Kernel services (module.h). Results are RF_* codes as uint32 bits.
// kernel_services.cc: sleep, handles, linked calls.
uint32_t ServiceSleepNs(rf_import_context* core, uint64_t ns);
uint32_t ServiceHandleClose(rf_import_context* core, uint32_t handle);
uint32_t ServiceCallStatus(rf_import_context* core);
void ServiceCallLinked(rf_import_context* core, uint32_t import_index, const uint64_t* args,
                       uint64_t* result);
// RF_FAULT_POINT: RF_OK (also without an injector), RF_EFAULT, RF_EINVAL (a
// name over 256 bytes); an injected trap raises RF_TRAP_INJECTED right here,
// a hang waits for a kill or the deadline and unwinds, a slow sleeps (and
// unwinds if killed meanwhile).
uint32_t ServiceFaultPoint(rf_import_context* core, uint32_t name, uint32_t length);
// Opens a handle to the object the host provided under the name at window
// [name, name + length), if it is of `kind`: a handle, RF_EFAULT, RF_EINVAL
// (name longer than 256 bytes), RF_ENOTFOUND, RF_ETOOMANY.
int32_t OpenProvided(rf_import_context* core, uint32_t name, uint32_t length,
                     HandleObject::Kind kind);
// lock_services.cc.
uint32_t ServiceLockOpen(rf_import_context* core, uint32_t name, uint32_t length);
uint32_t ServiceLockAcquire(rf_import_context* core, uint32_t handle);
uint32_t ServiceLockRelease(rf_import_context* core, uint32_t handle);
uint32_t ServiceLockMarkConsistent(rf_import_context* core, uint32_t handle);
// region_services.cc.
uint32_t ServiceRegionOpen(rf_import_context* core, uint32_t name, uint32_t length);
uint32_t ServiceRegionOffset(rf_import_context* core, uint32_t handle);
uint32_t ServiceRegionSize(rf_import_context* core, uint32_t handle);

// Emits any partial output line the compartment left (on instance discard).
void FlushPendingOutput(rf_import_context* core);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SERVICES_SERVICES_H_
