/* lib_sandbox: what a native module may not do in its worker process, for
 * the process backend's sandbox tests (built natively only: these are
 * system calls, not wasm). Each do_* export tries one operation the
 * sandbox denies; the worker is killed at the system call. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

/* What the worker itself may do while it loads the module, and the
 * lockdown takes back before any module code runs. */
RF_EXPORT(do_mmap_exec) int32_t do_mmap_exec(void) {
  return mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED;
}
RF_EXPORT(do_mprotect_exec) int32_t do_mprotect_exec(void) {
  static char page[4096] __attribute__((aligned(4096)));
  return mprotect(page, sizeof page, PROT_READ | PROT_EXEC);
}
RF_EXPORT(do_prctl) int32_t do_prctl(void) { return prctl(PR_SET_NAME, "escaped"); }
RF_EXPORT(do_setrlimit) int32_t do_setrlimit(void) {
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  return setrlimit(RLIMIT_NOFILE, &unlimited);
}
RF_EXPORT(do_dup2) int32_t do_dup2(void) { return dup2(1, 9); }
RF_EXPORT(do_fcntl) int32_t do_fcntl(void) { return fcntl(1, F_DUPFD, 9); }
RF_EXPORT(do_recvmsg) int32_t do_recvmsg(void) {
  struct msghdr message = {0};
  return (int32_t)recvmsg(0, &message, MSG_DONTWAIT);
}
RF_EXPORT(do_sigaction_segv) int32_t do_sigaction_segv(void) {
  struct sigaction action = {0};
  action.sa_handler = SIG_IGN;
  return sigaction(SIGSEGV, &action, 0);
}

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

/* Threads and CPU: what a worker may not use without bound. */
static void* sleep_forever(void* unused) {
  (void)unused;
  for (;;) sleep(1000);
  return 0;
}

static void* spin_forever(void* unused) {
  (void)unused;
  for (volatile uint64_t i = 0;; ++i) {
  }
  return 0;
}

/* Tries to start `count` threads that never end (small stacks: the bound
 * must be the thread count, not memory); returns how many it got. */
RF_EXPORT(spawn_threads) int32_t spawn_threads(int32_t count) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 64 * 1024);
  int32_t started = 0;
  for (; started < count; ++started) {
    pthread_t thread;
    if (pthread_create(&thread, &attributes, sleep_forever, 0) != 0) break;
  }
  pthread_attr_destroy(&attributes);
  return started;
}

/* Returns at once, leaving a thread behind that spins. */
RF_EXPORT(spin_in_background) int32_t spin_in_background(void) {
  pthread_t thread;
  return pthread_create(&thread, 0, spin_forever, 0);
}

/* Starts `count` spinning threads, then spins too (never returns). */
RF_EXPORT(spin_with_threads) int32_t spin_with_threads(int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    pthread_t thread;
    pthread_create(&thread, 0, spin_forever, 0);
  }
  return spin();
}

/* Sends itself SIGSYS: the crash record then names a "denied" system call
 * (whatever the siginfo's syscall field holds) that nothing denied. */
RF_EXPORT(fake_denial) int32_t fake_denial(void) { return raise(SIGSYS); }
