/* lib_sandbox: what a native module may not do in its worker process, for
 * the process backend's sandbox tests (built natively only: these are
 * system calls, not wasm). Each do_* export tries one operation the
 * sandbox denies; the worker is killed at the system call. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ringfence/module.h>

RF_EXPORT(do_open) int32_t do_open(void) { return open("/etc/hostname", O_RDONLY); }
RF_EXPORT(do_socket) int32_t do_socket(void) { return socket(AF_INET, SOCK_STREAM, 0); }
RF_EXPORT(do_fork) int32_t do_fork(void) { return (int32_t)syscall(SYS_fork); }
RF_EXPORT(do_execve) int32_t do_execve(void) {
  char* const argv[] = {"/bin/true", 0};
  return execve("/bin/true", argv, 0);
}
RF_EXPORT(do_ptrace) int32_t do_ptrace(void) { return (int32_t)ptrace(PTRACE_TRACEME, 0, 0, 0); }

/* Allowed: the worker's own pid (tests kill it from outside). */
RF_EXPORT(pid) int32_t pid(void) { return (int32_t)getpid(); }

/* Output on stdout reaches the host's log. */
RF_EXPORT(print_line) int32_t print_line(int32_t value) {
  printf("sandboxed value %d\n", value);
  fflush(stdout);
  return value;
}

/* Acquires the lock provided as "shared" and spins holding it (the tests
 * kill the worker meanwhile). */
RF_EXPORT(hold_lock_and_spin) int32_t hold_lock_and_spin(void) {
  int32_t lock = rf_lock_open("shared", 6);
  if (lock < 0) return lock;
  int32_t acquired = rf_lock_acquire(lock);
  if (acquired < 0) return acquired;
  for (volatile uint64_t i = 0;; ++i) {
  }
}

/* Blocks in a host service (the tests kill the worker meanwhile). */
RF_EXPORT(sleep_ms) int32_t sleep_ms(int32_t ms) { return rf_sleep_ns((int64_t)ms * 1000000); }

RF_EXPORT(spin) int32_t spin(void) {
  for (volatile uint64_t i = 0;; ++i) {
  }
}
