// The host's reading of the trap kind codes module code and the fault
// handler record (RF_TRAP_* in sdk/include/ringfence/internal/gate_abi.h).
#ifndef RINGFENCE_SRC_BASE_TRAP_CODES_H_
#define RINGFENCE_SRC_BASE_TRAP_CODES_H_

#include <cstdint>

#include "ringfence/trap.h"

namespace ringfence::internal {

// The TrapKind of an RF_TRAP_* code (not RF_TRAP_NONE); an unknown code
// reads as kUnreachable.
TrapKind TrapKindOf(uint32_t code);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_BASE_TRAP_CODES_H_
