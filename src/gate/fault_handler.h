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

namespace ringfence::internal {

// Installs the SIGSEGV/SIGBUS handlers once per process. Thread-safe.
void InstallFaultHandlers();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_GATE_FAULT_HANDLER_H_
