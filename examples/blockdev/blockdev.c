/* blockdev: the device driver of the driver-stack example (`ringfence
 * demo`). It owns a block device kept in the shared region "disk" (layout in
 * disk_layout.h) and guarded by the lock "disk_lock".
 *
 * - attach(blocks) sets the device geometry. It is state-setting: the
 *   supervisor replays it into every fresh instance, so a restarted driver
 *   knows its device before it serves a request.
 * - write_block(block, value, request) writes a block and counts request
 *   `request` in the ledger. It is neither idempotent nor state-setting: if
 *   the driver dies during it, the caller gets an error and it is never run
 *   twice. A fault point sits inside the critical section, so an injected
 *   fault there kills the driver holding the lock.
 * - read_block(block) is idempotent.
 * A writer that finds the lock's owner died repairs the checksum first. */
#include <ringfence/module.h>

#include "disk_layout.h"

enum { E_NODEV = -19, E_RANGE = -34, E_LOCK = -35 };

static uint32_t g_blocks; /* 0 until attach: a fresh instance knows nothing */
static volatile disk* g_disk;
static int32_t g_lock = -1;

static int32_t open_device(void) {
  if (g_disk != 0) return 0;
  int32_t region = rf_region_open("disk", 4);
  g_lock = rf_lock_open("disk_lock", 9);
  if (region < 0 || g_lock < 0) return E_NODEV;
  g_disk = (volatile disk*)(uintptr_t)(uint32_t)rf_region_offset(region);
  return 0;
}

/* Takes the lock; after an owner's death, recomputes the checksum (the
 * dead owner may have died between a block write and its checksum update). */
static int32_t lock_disk(void) {
  int32_t acquired = rf_lock_acquire(g_lock);
  if (acquired == RF_OWNER_DIED) {
    disk_repair(g_disk);
    rf_lock_mark_consistent(g_lock);
  } else if (acquired < 0) {
    return E_LOCK;
  }
  return 0;
}

RF_EXPORT(attach) int32_t attach(int32_t blocks) {
  if (blocks <= 0 || blocks > DISK_BLOCKS) return E_RANGE;
  int32_t opened = open_device();
  if (opened < 0) return opened;
  g_blocks = (uint32_t)blocks;
  g_disk->blocks_in_use = g_blocks;
  return 0;
}
RF_STATE_SETTING(attach)

RF_EXPORT(write_block) int32_t write_block(int32_t block, int32_t value, int32_t request) {
  if (g_blocks == 0) return E_NODEV;
  if ((uint32_t)block >= g_blocks || (uint32_t)request >= DISK_LEDGER_ENTRIES) return E_RANGE;
  if (lock_disk() < 0) return E_LOCK;
  uint32_t old = g_disk->block[block];
  g_disk->block[block] = (uint32_t)value;
  RF_FAULT_POINT("blockdev.io"); /* dying here leaves the checksum stale */
  g_disk->checksum ^= old ^ (uint32_t)value;
  g_disk->ledger[request] += 1;
  rf_lock_release(g_lock);
  return 0;
}

RF_EXPORT(read_block) int32_t read_block(int32_t block) {
  if (g_blocks == 0) return E_NODEV;
  if ((uint32_t)block >= g_blocks) return E_RANGE;
  if (lock_disk() < 0) return E_LOCK;
  int32_t value = (int32_t)g_disk->block[block];
  rf_lock_release(g_lock);
  return value;
}
RF_IDEMPOTENT(read_block)
