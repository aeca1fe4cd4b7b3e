/* The one frame-pointer walk behind every ringfence backtrace: a trap in
 * module code (the host's fault handler, the wasm module runtime) and a crash
 * in a worker process (its fatal-signal handler). C, signal-handler safe. */
#ifndef RINGFENCE_FRAME_WALK_H_
#define RINGFENCE_FRAME_WALK_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Follows the frame-pointer chain from `fp`, the frame of a function built
 * with frame pointers ([fp] = the caller's frame pointer, [fp + 1 word] = the
 * return address; x86-64 and aarch64 alike), storing call sites (return
 * address - 1), innermost first, into out[0..room). `low` is the lowest
 * address the chain may start at (the interrupted stack pointer) and `limit`
 * the end of the frames to record: for module code the innermost gate's
 * rf_frame, which lives in the gate's own frame, so a frame pointer at or
 * above it belongs to the gate or to its callers, which are not recorded;
 * for a whole thread the top of its stack. Stops at a frame pointer that is
 * misaligned, does not increase or leaves [low, limit), and at a return
 * address outside [code_begin, code_end). Reads only words on the chain
 * below `limit`: when [low, limit) is the thread's live stack,
 * async-signal-safe; no allocation. Returns the number of addresses stored. */
static inline uint32_t rf_walk_frames(uintptr_t fp, uintptr_t low, uintptr_t limit,
                                      uintptr_t code_begin, uintptr_t code_end,
                                      uintptr_t* out, uint32_t room) {
  uint32_t depth = 0;
  if (fp < low) return 0;
  while (depth < room) {
    if ((fp & (sizeof(uintptr_t) - 1)) != 0 || fp >= limit ||
        limit - fp < 2 * sizeof(uintptr_t)) {
      break;
    }
    const uintptr_t* frame = (const uintptr_t*)fp;
    uintptr_t next = frame[0];
    uintptr_t ret = frame[1];
    if (ret <= code_begin || ret > code_end) break;
    /* The caller's frame is at or above `limit` (the gate's), or none: stop. */
    if (next <= fp || next >= limit) break;
    out[depth++] = ret - 1;
    fp = next;
  }
  return depth;
}

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_FRAME_WALK_H_ */
