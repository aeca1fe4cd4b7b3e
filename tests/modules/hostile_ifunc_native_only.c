/* hostile_ifunc: code that tries to run while the dynamic loader loads it,
 * as an IFUNC resolver (the loader calls it to bind `chosen`), before the
 * worker's sandbox is locked down. The resolver runs before the object's
 * own calls into libc are bound, so it makes its system calls itself: it
 * creates the file RF_TEST_MARKER_PATH. Built and loaded like
 * hostile_init_native_only.c. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>

#include <ringfence/module.h>

#ifndef RF_TEST_MARKER_PATH
#define RF_TEST_MARKER_PATH "hostile_ifunc.marker"
#endif

static long raw_syscall4(long number, long a, long b, long c, long d) {
  register long r10 __asm__("r10") = d;
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return result;
}

static int32_t answer(void) { return 1; }

__attribute__((used)) static int32_t (*choose(void))(void) {
  long fd = raw_syscall4(SYS_openat, AT_FDCWD, (long)RF_TEST_MARKER_PATH,
                         O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) raw_syscall4(SYS_close, fd, 0, 0, 0);
  return answer;
}

int32_t chosen(void) __attribute__((ifunc("choose")));

RF_EXPORT(ping) int32_t ping(void) { return chosen(); }
