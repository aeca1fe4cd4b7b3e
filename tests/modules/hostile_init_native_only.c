/* hostile_init: code that tries to run while the dynamic loader loads it,
 * before the worker's sandbox is locked down. A function pointer placed in
 * a priority-suffixed .init_array section by hand (no constructor attribute,
 * so nothing in the IR says "constructor") creates the file named by
 * $RINGFENCE_TEST_MARKER. tests/native_code_check_test.cc builds it with
 * `ringfence build --native` (refused), and as a plain shared object
 * (tests/CMakeLists.txt) that the host and the worker must refuse to load. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <ringfence/module.h>

static void plant_marker(void) {
  const char* path = getenv("RINGFENCE_TEST_MARKER");
  if (path == NULL) return;
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}

__attribute__((section(".init_array.00050"), used)) static void (*const early_hook)(void) =
    plant_marker;

RF_EXPORT(ping) int32_t ping(void) { return 1; }
