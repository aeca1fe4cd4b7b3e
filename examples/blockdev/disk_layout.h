/* The shared "disk" region of the driver-stack example: a header, the
 * blocks, and a ledger of write requests. The blockdev module (the driver)
 * writes it; the minifs module (the filesystem) reads blocks from it
 * directly; both hold the lock "disk_lock" while they touch it. The region
 * outlives both modules' restarts; the host reads it to check the run. */
#ifndef RINGFENCE_EXAMPLES_DISK_LAYOUT_H_
#define RINGFENCE_EXAMPLES_DISK_LAYOUT_H_

#include <stdint.h>

enum {
  DISK_BLOCKS = 256,
  DISK_LEDGER_ENTRIES = 1 << 22, /* write request ids the ledger can count */
};

typedef struct disk {
  uint32_t blocks_in_use;   /* the driver's geometry, checked on repair */
  uint32_t repairs;         /* owner-died recoveries done */
  uint32_t checksum;        /* xor of all blocks: repaired after a death */
  uint32_t block[DISK_BLOCKS];
  /* ledger[id]: how many times write request `id` reached the disk. */
  uint8_t ledger[DISK_LEDGER_ENTRIES];
} disk;

/* After the lock's owner died: the owner may have died between a block
 * write and its checksum update, so the checksum is recomputed. */
static inline void disk_repair(volatile disk* d) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < DISK_BLOCKS; ++i) sum ^= d->block[i];
  d->checksum = sum;
  d->repairs = d->repairs + 1;
}

#endif /* RINGFENCE_EXAMPLES_DISK_LAYOUT_H_ */
