/* hostile_ifunc: code that tries to run while the dynamic loader loads it,
 * as an IFUNC resolver (the loader calls it to bind `chosen`), before the
 * worker's sandbox is locked down. It creates the file named by
 * $RINGFENCE_TEST_MARKER. Built and loaded like hostile_init_native_only.c. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <ringfence/module.h>

static int32_t answer(void) { return 1; }

static void* choose(void) {
  const char* path = getenv("RINGFENCE_TEST_MARKER");
  if (path != NULL) {
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
  }
  return (void*)answer;
}

int32_t chosen(void) __attribute__((ifunc("choose")));

RF_EXPORT(ping) int32_t ping(void) { return chosen(); }
