// Turns faults in module code into traps; leaves every other fault alone.
//
// Invariant: a signal is claimed only when the faulting thread is inside a
// gate, the faulting instruction is in the code of the module that gate
// entered, and the address is in that compartment's window or the thread's
// stack guard zone. Everything else goes to the handler that was installed
// before ringfence's, or to the default action: a host bug still crashes the
// process, with its core dump.
#ifndef RINGFENCE_SRC_GATE_FAULT_HANDLER_H_
#define RINGFENCE_SRC_GATE_FAULT_HANDLER_H_

//
// Preemption: the watchdog and Compartment::Kill send kPreemptSignal to the
// thread inside a compartment they are killing. It is honoured only while
// that thread executes the code of the module its innermost gate entered,
// and that compartment has a kill pending: the thread unwinds to that gate.
// Anywhere else (host code, another module) it is ignored; the sender
// retries, and blocking host services notice the kill themselves.

#include <signal.h>

namespace ringfence::internal {

// SIGURG: ignored by default, so a late one that finds the thread elsewhere
// harms nothing.
inline constexpr int kPreemptSignal = SIGURG;

// Installs the SIGSEGV/SIGBUS and preemption handlers once per process.
// Thread-safe.
void InstallFaultHandlers();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_GATE_FAULT_HANDLER_H_
