/* lib_big_memory: a module whose initial memory (a 32 MiB static array) is
 * larger than a small compartment memory limit, so instantiating it under
 * that limit must fail cleanly. */
#include <ringfence/module.h>

#define BIG_BYTES (32 << 20)
static char g_big[BIG_BYTES];

/* Writes and reads back one byte of the array (keeps it from being dropped). */
RF_EXPORT(touch) int32_t touch(int32_t index) {
  volatile char* big = g_big;
  int32_t at = index & (BIG_BYTES - 1);
  big[at] = (char)(at & 0x7f);
  return big[at];
}
