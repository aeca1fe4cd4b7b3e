// The spare maker: one background thread, shared by the whole process, that
// prepares warm spare instances (CompartmentOptions::warm_spare) off the
// call path: it resets a dead instance's window and runs the module's
// start-up code into a standby instance.
//
// Thread-safe. Jobs are owned by their compartments and queued at most once
// at a time; the thread runs one job at a time, in queue order.
#ifndef RINGFENCE_SRC_COMPARTMENT_SPARE_MAKER_H_
#define RINGFENCE_SRC_COMPARTMENT_SPARE_MAKER_H_

namespace ringfence::internal {

struct SpareJob {
  // Runs on the spare maker thread; must not call CancelSpareJob.
  void (*run)(void* target) = nullptr;
  void* target = nullptr;
  // Owned by the spare maker.
  bool queued = false;
  SpareJob* next = nullptr;
};

// Queues `job` to run once; does nothing if it is queued already. A job that
// is running may be queued again (it then runs again afterwards). Never
// waits for the spare maker thread.
void QueueSpareJob(SpareJob* job);
// Takes `job` off the queue and waits until it is not running, so its
// target may be destroyed. Not from the spare maker thread.
void CancelSpareJob(SpareJob* job);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_COMPARTMENT_SPARE_MAKER_H_
