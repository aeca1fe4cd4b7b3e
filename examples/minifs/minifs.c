/* minifs: the filesystem-like module of the driver-stack example (`ringfence
 * demo`). Files are blocks of the blockdev driver: it writes through the
 * driver (a linked import) and reads straight from the shared "disk" region
 * under the same "disk_lock" lock the driver uses.
 *
 * - mount(files) sets how many files exist (state-setting: replayed).
 * - write_file(file, value, request): neither idempotent nor state-setting.
 *   If the driver dies under it, it returns E_IO: the request may have
 *   reached the disk at most once, and the caller knows it failed.
 * - read_file(file): idempotent.
 * A fault point in the lookup path lets an injector kill the filesystem
 * itself. */
#include <ringfence/module.h>

#include "../blockdev/disk_layout.h"

enum { E_IO = -5, E_NOENT = -2, E_NOTMOUNTED = -19 };

RF_IMPORT(blockdev, write_block) int32_t blockdev_write_block(int32_t block, int32_t value,
                                                              int32_t request);

static uint32_t g_files; /* 0 until mount */
static volatile disk* g_disk;
static int32_t g_lock = -1;

static int32_t lookup(int32_t file) {
  RF_FAULT_POINT("minifs.lookup");
  if (g_files == 0) return E_NOTMOUNTED;
  if ((uint32_t)file >= g_files) return E_NOENT;
  return file; /* file n lives in block n */
}

RF_EXPORT(mount) int32_t mount(int32_t files) {
  if (files <= 0 || files > DISK_BLOCKS) return E_NOENT;
  int32_t region = rf_region_open("disk", 4);
  g_lock = rf_lock_open("disk_lock", 9);
  if (region < 0 || g_lock < 0) return E_NOTMOUNTED;
  g_disk = (volatile disk*)(uintptr_t)(uint32_t)rf_region_offset(region);
  g_files = (uint32_t)files;
  return 0;
}
RF_STATE_SETTING(mount)

RF_EXPORT(write_file) int32_t write_file(int32_t file, int32_t value, int32_t request) {
  int32_t block = lookup(file);
  if (block < 0) return block;
  int32_t written = blockdev_write_block(block, value, request);
  if (rf_call_status() != RF_CALL_OK) return E_IO;
  return written;
}

RF_EXPORT(read_file) int32_t read_file(int32_t file) {
  int32_t block = lookup(file);
  if (block < 0) return block;
  int32_t acquired = rf_lock_acquire(g_lock);
  if (acquired < 0) return E_IO;
  if (acquired == RF_OWNER_DIED) {
    disk_repair(g_disk);
    rf_lock_mark_consistent(g_lock);
  }
  int32_t value = (int32_t)g_disk->block[block];
  rf_lock_release(g_lock);
  return value;
}
RF_IDEMPOTENT(read_file)
