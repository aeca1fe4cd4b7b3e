/* kernel: the SDK's kernel services in small pieces - host locks, handles,
 * and a call to another module through an import the host links. Used by
 * `ringfence bench` for the services' figures.
 *
 * The host provides a lock named "bench" (Compartment::Provide) and links
 * the import module "target" to a module exporting add (i32, i32) -> i32,
 * such as calc (Compartment::LinkModule). */
#include <ringfence/module.h>

RF_IMPORT(target, add) int32_t target_add(int32_t a, int32_t b);

/* target.add(a, b): host -> kernel -> host -> target. -1 if that call
 * failed (rf_call_status says why). */
RF_EXPORT(forward_add) int32_t forward_add(int32_t a, int32_t b) {
  int32_t sum = target_add(a, b);
  return rf_call_status() == RF_CALL_OK ? sum : -1;
}

static int32_t bench_lock;

/* Acquires and releases the lock "bench" `rounds` times; returns how many
 * rounds succeeded (an owner-died acquire is repaired and counts). */
RF_EXPORT(lock_rounds) int32_t lock_rounds(int32_t rounds) {
  if (bench_lock <= 0) bench_lock = rf_lock_open("bench", 5);
  if (bench_lock <= 0) return bench_lock;
  int32_t done = 0;
  for (int32_t i = 0; i < rounds; ++i) {
    int32_t acquired = rf_lock_acquire(bench_lock);
    if (acquired == RF_OWNER_DIED) rf_lock_mark_consistent(bench_lock);
    else if (acquired != RF_OK) break;
    if (rf_lock_release(bench_lock) == RF_OK) ++done;
  }
  return done;
}

/* Opens `count` more handles to the lock "bench" and keeps them; returns
 * how many opened. They are released when the instance dies. */
RF_EXPORT(open_handles) int32_t open_handles(int32_t count) {
  int32_t opened = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (rf_lock_open("bench", 5) > 0) ++opened;
  }
  return opened;
}
