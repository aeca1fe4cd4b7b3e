// The process backend's own guarantees: the sandbox denies and reports,
// a worker killed from outside (mid-call, mid-service, holding a lock) is a
// trap like any other, output reaches the log, workers die with their host,
// and restarts leak neither file descriptors nor processes.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>
#include <mutex>
#include <thread>

#include "ringfence/compartment.h"
#include "ringfence/lock.h"
#include "ringfence/log.h"
#include "ringfence/module.h"
#include "ringfence/worker_pool.h"
#include "src/process/output_pump.h"
#include "src/process/worker/sandbox.h"
#include "src/process/worker_cpu_watch.h"
#include "src/process/worker_path.h"
#include "tests/process_census.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;

std::unique_ptr<Compartment> OpenNative(const std::string& path, CompartmentOptions options = {}) {
  options.isolation = Isolation::kProcess;
  StatusOr<std::unique_ptr<Compartment>> compartment =
      Compartment::Create(testing::LoadOrDie(path), options);
  EXPECT_TRUE(IsOk(compartment.status()));
  return compartment.ok() ? std::move(compartment).value() : nullptr;
}

std::unique_ptr<Compartment> OpenSandbox() {
  return OpenNative(testing::TestModulePath("lib_sandbox_native"));
}

int32_t WorkerPid(Compartment& sandbox) {
  Result<int32_t> pid = sandbox.Call<int32_t()>("pid");
  EXPECT_TRUE(pid.ok()) << testing::Describe(pid);
  return pid.ok() ? pid.value() : 0;
}

// Whether `pid` is gone (or a zombie nobody has reaped yet).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t end = line.rfind(')');
  return end == std::string::npos || line.substr(end + 2, 1) == "Z";
}

// How long a worker's exit and its output take to settle, at most.
constexpr auto kSettleLimit = std::chrono::seconds(5);

using testing::ChildCount;
using testing::Eventually;
using testing::OpenFdCount;

// Whether, within the settle limit, the pool holds its idle workers and
// this host has exactly `children` child processes (live and idle workers).
bool PoolSettlesWithChildren(size_t children) {
  return Eventually(
      [children] {
        return WaitForIdleWorkers(std::chrono::milliseconds(100)) &&
               ChildCount() == static_cast<int>(children);
      },
      kSettleLimit);
}

TEST(ProcessBackendTest, TheSandboxDeniesEachOperationAndNamesTheSystemCall) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  struct Case {
    const char* export_name;
    const char* syscall;
  } cases[] = {
      {"do_open", "openat"},   {"do_socket", "socket"}, {"do_fork", "fork"},
      {"do_execve", "execve"}, {"do_ptrace", "ptrace"},
      // Allowed while the worker loads the module, taken back before any
      // module code runs (the second filter of the lockdown).
      {"do_mmap_exec", "mmap"}, {"do_mprotect_exec", "mprotect"}, {"do_prctl", "prctl"},
      {"do_setrlimit", "prlimit64"}, {"do_dup2", "dup2"}, {"do_fcntl", "fcntl"},
      {"do_recvmsg", "recvmsg"}, {"do_sigaction_segv", "rt_sigaction"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.export_name);
    Result<int32_t> denied = sandbox->Call<int32_t()>(test.export_name);
    ASSERT_TRUE(denied.trapped()) << testing::Describe(denied);
    EXPECT_EQ(denied.trap().kind, TrapKind::kSyscallDenied) << denied.trap().ToString();
    EXPECT_EQ(denied.trap().syscall, test.syscall);
    EXPECT_EQ(denied.trap().signal, SIGSYS);
    EXPECT_THAT(denied.trap().ToString(), HasSubstr(test.syscall));
    // The host is fine, and so is the module's next instance.
    EXPECT_GT(WorkerPid(*sandbox), 0);
  }
}

TEST(ProcessBackendTest, AWorkerKilledMidCallIsATrapAndARestart) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  pid_t first = WorkerPid(*sandbox);
  std::thread killer([&] {
    while (sandbox->idle()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(first, SIGKILL);
  });
  Result<int32_t> spun = sandbox->Call<int32_t()>("spin");
  killer.join();
  ASSERT_TRUE(spun.trapped()) << testing::Describe(spun);
  EXPECT_EQ(spun.trap().kind, TrapKind::kSignal) << spun.trap().ToString();
  EXPECT_EQ(spun.trap().signal, SIGKILL);
  pid_t second = WorkerPid(*sandbox);
  EXPECT_NE(second, first);
  EXPECT_TRUE(ProcessGone(first));
}

TEST(ProcessBackendTest, AWorkerKilledWhileTheHostServesItIsATrap) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  pid_t worker = WorkerPid(*sandbox);
  std::thread killer([&] {
    while (sandbox->idle()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(worker, SIGKILL);  // the host is inside rf_sleep_ns for it
  });
  Result<int32_t> slept = sandbox->Call<int32_t(int32_t)>("sleep_ms", 300);
  killer.join();
  ASSERT_TRUE(slept.trapped()) << testing::Describe(slept);
  EXPECT_EQ(slept.trap().kind, TrapKind::kSignal);
  EXPECT_GT(WorkerPid(*sandbox), 0);
}

// S4 across backends: a worker killed holding a host lock hands it on
// marked owner died - here to a wasm compartment.
TEST(ProcessBackendTest, AWorkerKilledHoldingALockHandsItOnMarkedOwnerDied) {
  std::shared_ptr<Lock> lock = Lock::Create("shared");
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(IsOk(sandbox->Provide("shared", lock)));
  pid_t worker = WorkerPid(*sandbox);
  std::thread killer([&] {
    while (!lock->held()) std::this_thread::yield();
    kill(worker, SIGKILL);
  });
  Result<int32_t> held = sandbox->Call<int32_t()>("hold_lock_and_spin");
  killer.join();
  ASSERT_TRUE(held.trapped()) << testing::Describe(held);

  auto locks = Compartment::Create(testing::LoadOrDie(testing::TestModulePath("lib_locks"))).value();
  ASSERT_TRUE(IsOk(locks->Provide("shared", lock)));
  int32_t handle = locks->Call<int32_t()>("open_shared").value();
  Result<int32_t> acquired = locks->Call<int32_t(int32_t)>("acquire", handle);
  ASSERT_TRUE(acquired.ok());
  EXPECT_EQ(acquired.value(), RF_OWNER_DIED);
}

TEST(ProcessBackendTest, WorkerOutputReachesTheLogTaggedWithTheModule) {
  std::mutex mutex;
  std::vector<std::string> lines;
  SetLogSink([&](const LogRecord& record) {
    std::lock_guard lock(mutex);
    if (record.source == LogSource::kStdout) {
      lines.push_back(std::string(record.module) + ": " + std::string(record.message));
    }
  });
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(sandbox->Call<int32_t(int32_t)>("print_line", 7).value(), 7);
  bool seen = Eventually([&] {
    std::lock_guard lock(mutex);
    return std::find(lines.begin(), lines.end(), "lib_sandbox: sandboxed value 7") != lines.end();
  }, kSettleLimit);
  SetLogSink(nullptr);
  EXPECT_TRUE(seen);
}

TEST(ProcessBackendTest, ANativeCrashNamesTheFunctionItHappenedIn) {
  auto misbehave = OpenNative(testing::ExampleModulePath("misbehave_native"));
  ASSERT_NE(misbehave, nullptr);
  Result<void> died = misbehave->Call<void()>("unreachable");
  ASSERT_TRUE(died.trapped());
  EXPECT_EQ(died.trap().kind, TrapKind::kUnreachable);
  EXPECT_EQ(died.trap().function, "unreachable") << died.trap().ToString();
  ASSERT_FALSE(died.trap().backtrace.empty());
  EXPECT_EQ(died.trap().backtrace.front(), "unreachable");
}

// minifs exports `mount`, as libc names a function the worker has loaded:
// the call must reach the module's own function (the native link binds a
// module's references to itself), not the mount system call.
TEST(ProcessBackendTest, AnExportNamedLikeALibcFunctionIsTheModulesOwn) {
  auto minifs = OpenNative(testing::ExampleModulePath("minifs_native"));
  ASSERT_NE(minifs, nullptr);
  Result<int32_t> mounted = minifs->Call<int32_t(int32_t)>("mount", 0);
  ASSERT_TRUE(mounted.ok()) << testing::Describe(mounted);
  EXPECT_EQ(mounted.value(), -2);  // E_NOENT: zero files is refused by minifs itself
}

TEST(ProcessBackendTest, AskingForTheOtherBackendIsAClearError) {
  CompartmentOptions as_wasm;
  as_wasm.isolation = Isolation::kWasm;
  StatusOr<std::unique_ptr<Compartment>> wrong = Compartment::Create(
      testing::LoadOrDie(testing::ExampleModulePath("calc_native")), as_wasm);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("built for the process backend"));
  CompartmentOptions as_process;
  as_process.isolation = Isolation::kProcess;
  wrong = Compartment::Create(testing::LoadOrDie(testing::ExampleModulePath("calc")), as_process);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("--native"));
}

// The worker dies with its host, however the host ends (parent-death signal).
TEST(ProcessBackendTest, NoWorkerOutlivesItsHost) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t host = fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    auto sandbox = OpenSandbox();
    int32_t worker = sandbox != nullptr ? WorkerPid(*sandbox) : 0;
    if (write(pipe_fds[1], &worker, sizeof worker) != sizeof worker) _exit(1);
    raise(SIGKILL);  // no clean-up of any kind
  }
  close(pipe_fds[1]);
  int32_t worker = 0;
  ASSERT_EQ(read(pipe_fds[0], &worker, sizeof worker), static_cast<ssize_t>(sizeof worker));
  close(pipe_fds[0]);
  ASSERT_GT(worker, 0);
  int status = 0;
  waitpid(host, &status, 0);
  EXPECT_TRUE(Eventually([&] { return ProcessGone(worker); }, kSettleLimit));
}

// Every worker is spawned by the pool's thread, which lives as long as the
// process: a worker's parent-death signal follows the thread that spawned
// it, so one started from a thread that has since ended must live on.
TEST(ProcessBackendTest, AWorkerOutlivesTheThreadThatStartedIt) {
  std::unique_ptr<Compartment> sandbox;
  std::thread([&] { sandbox = OpenSandbox(); }).join();
  ASSERT_NE(sandbox, nullptr);
  int32_t before = WorkerPid(*sandbox);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a signal would have landed
  EXPECT_EQ(WorkerPid(*sandbox), before);
  EXPECT_EQ(sandbox->restart_count(), 0u);
}

// An idle worker killed from outside is replaced; starts go on working.
TEST(ProcessBackendTest, AnIdleWorkerKilledFromOutsideIsReplaced) {
  auto first = OpenSandbox();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(WaitForIdleWorkers());
  int32_t live = WorkerPid(*first);
  std::vector<pid_t> idle;
  for (pid_t child : testing::ChildPids()) {
    if (child != live) idle.push_back(child);
  }
  ASSERT_EQ(idle.size(), kDefaultIdleWorkers);
  for (pid_t child : idle) kill(child, SIGKILL);
  auto second = OpenSandbox();
  ASSERT_NE(second, nullptr);
  EXPECT_GT(WorkerPid(*second), 0);
  EXPECT_TRUE(PoolSettlesWithChildren(2 + kDefaultIdleWorkers));
}

// The host's idle worker count follows SetIdleWorkers, up and down.
TEST(ProcessBackendTest, SetIdleWorkersSizesThePool) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  SetIdleWorkers(3);
  EXPECT_TRUE(PoolSettlesWithChildren(1 + 3));
  SetIdleWorkers(0);
  EXPECT_TRUE(PoolSettlesWithChildren(1 + 0));
  // With none idle, a start spawns its worker and still works.
  ASSERT_TRUE(sandbox->Restart().ok());
  EXPECT_GT(WorkerPid(*sandbox), 0);
  SetIdleWorkers(kDefaultIdleWorkers);
  EXPECT_TRUE(PoolSettlesWithChildren(1 + kDefaultIdleWorkers));
}

// A worker program that cannot start fails the start with a clear error,
// and the pool stops trying (until the next start) instead of spawning in a
// loop.
TEST(ProcessBackendTest, AWorkerProgramThatCannotStartIsReportedAndNotRetriedForever) {
  testing::ScopedEnvironmentVariable worker("RINGFENCE_WORKER", "/bin/false");
  CompartmentOptions options;
  options.isolation = Isolation::kProcess;
  StatusOr<std::unique_ptr<Compartment>> broken = Compartment::Create(
      testing::LoadOrDie(testing::TestModulePath("lib_sandbox_native")), options);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kInstantiateFailed);
  auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(WaitForIdleWorkers(std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(4))
      << "the pool kept trying to start idle workers";
  worker.Restore();
  auto sandbox = OpenSandbox();  // the next start tries again
  ASSERT_NE(sandbox, nullptr);
  EXPECT_GT(WorkerPid(*sandbox), 0);
}

// Module code sees none of the host's environment (secrets, paths).
TEST(ProcessBackendTest, WorkersStartWithAnEmptyEnvironment) {
  ASSERT_EQ(setenv("RINGFENCE_TEST_SECRET", "hunter2", 1), 0);
  auto sandbox = OpenSandbox();
  unsetenv("RINGFENCE_TEST_SECRET");
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(WaitForIdleWorkers());
  std::vector<pid_t> workers = testing::ChildPids();
  ASSERT_FALSE(workers.empty());
  for (pid_t worker : workers) {
    std::ifstream environ("/proc/" + std::to_string(worker) + "/environ");
    std::string text((std::istreambuf_iterator<char>(environ)), {});
    EXPECT_EQ(text, "") << "worker " << worker;
  }
}

// Nothing leaks over many worker lifetimes: file descriptors (channels,
// pidfds, output pipes) and processes (every worker reaped).
TEST(ProcessBackendTest, AThousandRestartsLeakNoFdsAndNoProcesses) {
  auto misbehave = OpenNative(testing::ExampleModulePath("misbehave_native"));
  ASSERT_NE(misbehave, nullptr);
  ASSERT_TRUE(misbehave->Call<int32_t()>("alive").ok());
  // Settled: one live worker's output is pumped, the pool holds its idle
  // worker and has reaped every retired one.
  auto settled = [] {
    return internal::PumpedOutputCount() <= 2 &&
           WaitForIdleWorkers(std::chrono::milliseconds(100));
  };
  ASSERT_TRUE(Eventually(settled, kSettleLimit));
  int fds_before = OpenFdCount();
  int children_before = ChildCount();
  for (int i = 0; i < 1000; ++i) {
    Result<void> crashed = misbehave->Call<void()>("unreachable");
    ASSERT_TRUE(crashed.trapped()) << "restart " << i << ": " << testing::Describe(crashed);
    Result<int32_t> alive = misbehave->Call<int32_t()>("alive");
    ASSERT_TRUE(alive.ok()) << "restart " << i << ": " << testing::Describe(alive);
  }
  EXPECT_EQ(misbehave->restart_count(), 1000u);
  // At most as many as before: the count before may include a descriptor
  // that was only passing through (a pool refill, the CPU watch's pidfd).
  ASSERT_TRUE(Eventually([&] { return settled() && OpenFdCount() <= fds_before; }, kSettleLimit))
      << OpenFdCount() << " descriptors open, " << fds_before << " before";
  EXPECT_EQ(ChildCount(), children_before);
  EXPECT_EQ(children_before, 2);  // the live worker and the pool's idle one
}

}  // namespace
}  // namespace ringfence

namespace ringfence {
namespace {

bool HasThreads(pid_t pid) {
  DIR* tasks = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (tasks == nullptr) return false;
  bool any = false;
  while (dirent* entry = readdir(tasks)) any |= entry->d_name[0] != '.';
  closedir(tasks);
  return any && !ProcessGone(pid);
}

// A module that starts threads in a loop gets pthread_create's EAGAIN at
// the worker's bound (RLIMIT_NPROC, enforced even though this host runs as
// root: the worker runs as a user of its own); the host and the worker go on.
TEST(ProcessBackendTest, ThreadsPastTheWorkersBoundAreRefused) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  pid_t worker = WorkerPid(*sandbox);
  Result<int32_t> started = sandbox->Call<int32_t(int32_t)>("spawn_threads", 1000);
  ASSERT_TRUE(started.ok()) << testing::Describe(started);
  // The serving thread counts too.
  EXPECT_EQ(started.value(), static_cast<int32_t>(worker::kWorkerThreadLimit) - 1);
  Result<int32_t> more = sandbox->Call<int32_t(int32_t)>("spawn_threads", 10);
  ASSERT_TRUE(more.ok()) << testing::Describe(more);
  EXPECT_EQ(more.value(), 0);
  EXPECT_EQ(WorkerPid(*sandbox), worker);
  EXPECT_EQ(sandbox->restart_count(), 0u);
}

// The same bound for a host that is not root: the worker cannot change its
// user, so it counts its threads in a user namespace of its own (or, where
// those are not allowed, refuses to start). The host here is a child of
// this test that became an unprivileged user first.
TEST(ProcessBackendTest, ThreadsAreBoundedForAnUnprivilegedHostToo) {
  if (geteuid() != 0) GTEST_SKIP() << "this host is unprivileged: the test above is this one";
  constexpr uid_t kNobody = 65534;
  // The unprivileged host must be able to start the worker program, which
  // the build tree may not let it reach (a checkout in a private
  // directory): a copy of it in a directory anyone may enter.
  StatusOr<std::string> worker_program = internal::WorkerProgramPath();
  ASSERT_TRUE(worker_program.ok()) << worker_program.status().ToString();
  std::string shared_dir = (std::filesystem::temp_directory_path() / "ringfence-worker-XXXXXX").string();
  ASSERT_NE(mkdtemp(shared_dir.data()), nullptr);
  ASSERT_EQ(chmod(shared_dir.c_str(), 0755), 0);
  std::string worker_copy = shared_dir + "/ringfence-worker";
  std::filesystem::copy_file(*worker_program, worker_copy);
  // Read while still privileged, for the same reason.
  StatusOr<std::shared_ptr<const Module>> module =
      Module::Load(testing::TestModulePath("lib_sandbox_native"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  int fds[2];
  // Close-on-exec: a worker this process's pool starts meanwhile must not
  // keep the write end open, or the read below never ends.
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t host = fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    close(fds[0]);
    // What the child says: threads started, or -1 and why it could not.
    auto say = [&](int32_t started, const std::string& why) {
      std::string text = std::to_string(started) + " " + why;
      (void)!write(fds[1], text.data(), text.size());
      _exit(0);
    };
    if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
        setresuid(kNobody, kNobody, kNobody) != 0) {
      say(-1, "cannot become an unprivileged user");
    }
    setenv("RINGFENCE_WORKER", worker_copy.c_str(), 1);
    CompartmentOptions options;
    options.isolation = Isolation::kProcess;
    StatusOr<std::unique_ptr<Compartment>> sandbox = Compartment::Create(*module, options);
    if (!sandbox.ok()) say(-1, sandbox.status().ToString());
    Result<int32_t> started = (*sandbox)->Call<int32_t(int32_t)>("spawn_threads", 1000);
    say(started.ok() ? started.value() : -1, started.ok() ? "" : testing::Describe(started));
  }
  close(fds[1]);
  std::string said;
  char buffer[512];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) said.append(buffer, n);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(host, &status, 0), host);
  std::error_code error;
  std::filesystem::remove_all(shared_dir, error);
  int32_t started = std::stoi(said);
  if (started < 0) {
    // Only a worker that cannot have the bound may fail, saying so.
    EXPECT_THAT(said, HasSubstr("user namespaces unavailable"));
  } else {
    EXPECT_EQ(started, static_cast<int32_t>(worker::kWorkerThreadLimit) - 1) << said;
  }
}

// A thread left spinning after its call returned is stopped by the host's
// CPU watch (worker_cpu_watch.h) within its bound, with no call to end;
// the next call reports why, and the one after runs in a new worker.
TEST(ProcessBackendTest, AThreadLeftSpinningAfterACallIsStopped) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  pid_t worker = WorkerPid(*sandbox);
  Result<int32_t> left = sandbox->Call<int32_t()>("spin_in_background");
  ASSERT_TRUE(left.ok()) << testing::Describe(left);
  ASSERT_EQ(left.value(), 0);
  EXPECT_TRUE(Eventually([&] { return ProcessGone(worker); }, kSettleLimit))
      << "the worker still runs a spinning thread";
  Result<int32_t> next = sandbox->Call<int32_t()>("pid");
  ASSERT_TRUE(next.trapped()) << testing::Describe(next);
  EXPECT_EQ(next.trap().kind, TrapKind::kSignal) << next.trap().ToString();
  EXPECT_EQ(next.trap().signal, SIGKILL);
  EXPECT_THAT(next.trap().detail, HasSubstr("CPU outside calls"));
  EXPECT_FALSE(next.trap().worker_reported);
  pid_t replacement = WorkerPid(*sandbox);
  EXPECT_GT(replacement, 0);
  EXPECT_NE(replacement, worker);
}

// CPU inside calls is not charged: a worker kept busy by calls (short
// and long ones, back to back and with pauses) for longer than the watch's
// bound lives on.
TEST(ProcessBackendTest, CpuUsedInsideCallsIsNotCharged) {
  auto compute = OpenNative(testing::ExampleModulePath("compute_native"));
  ASSERT_NE(compute, nullptr);
  auto until = std::chrono::steady_clock::now() +
               std::chrono::nanoseconds(4 * internal::kIdleCpuBurstNs);
  int calls = 0;
  for (int32_t rounds = 1; std::chrono::steady_clock::now() < until; rounds = rounds * 2 % 4099) {
    Result<int64_t> done = compute->Call<int64_t(int32_t)>("compute_workload", rounds);
    ASSERT_TRUE(done.ok()) << testing::Describe(done);
    if (++calls % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(compute->restart_count(), 0u);
}

// A call past its deadline ends with the whole worker gone: every one of
// its threads (here five spinning), and no process left behind.
TEST(ProcessBackendTest, ACallPastItsDeadlineTakesTheWholeWorker) {
  CompartmentOptions options;
  options.call_timeout = std::chrono::milliseconds(300);
  auto sandbox = OpenNative(testing::TestModulePath("lib_sandbox_native"), options);
  ASSERT_NE(sandbox, nullptr);
  pid_t worker = WorkerPid(*sandbox);
  ASSERT_TRUE(HasThreads(worker));
  Result<int32_t> spun = sandbox->Call<int32_t(int32_t)>("spin_with_threads", 4);
  ASSERT_TRUE(spun.trapped()) << testing::Describe(spun);
  EXPECT_EQ(spun.trap().kind, TrapKind::kTimeout) << spun.trap().ToString();
  // Reaped before the call returned: no thread of it is left.
  EXPECT_TRUE(ProcessGone(worker));
  EXPECT_FALSE(HasThreads(worker));
  sandbox.reset();
  EXPECT_TRUE(PoolSettlesWithChildren(kDefaultIdleWorkers));
}

// The crash record is written inside the module's process: a module that
// sends itself SIGSYS does not get a "denied system call" (only seccomp's
// SIGSYS is one), and every detail from the record is marked as the
// worker's word, in the trap and in the line people read.
TEST(ProcessBackendTest, AForgedCrashRecordIsNotPresentedAsVerified) {
  auto sandbox = OpenSandbox();
  ASSERT_NE(sandbox, nullptr);
  Result<int32_t> forged = sandbox->Call<int32_t()>("fake_denial");
  ASSERT_TRUE(forged.trapped()) << testing::Describe(forged);
  EXPECT_EQ(forged.trap().kind, TrapKind::kSignal) << forged.trap().ToString();
  EXPECT_EQ(forged.trap().signal, SIGSYS);
  EXPECT_EQ(forged.trap().syscall, "");
  EXPECT_TRUE(forged.trap().worker_reported);
  EXPECT_THAT(forged.trap().ToString(), HasSubstr("as reported by the worker: unverified"));
  // A real denial comes through the same record: named, and marked too.
  Result<int32_t> denied = sandbox->Call<int32_t()>("do_open");
  ASSERT_TRUE(denied.trapped()) << testing::Describe(denied);
  EXPECT_EQ(denied.trap().kind, TrapKind::kSyscallDenied);
  EXPECT_EQ(denied.trap().syscall, "openat");
  EXPECT_TRUE(denied.trap().worker_reported);
}

}  // namespace
}  // namespace ringfence
