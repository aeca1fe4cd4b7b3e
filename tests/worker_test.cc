// The worker program (src/process/worker) run for real, without the host runtime:
// a small fake host in this file makes the channel, spawns the worker with
// the hand-written native module tests/modules/worker_probe.c and speaks the
// channel protocol directly.
#include <elf.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "src/process/channel.h"
#include "src/process/worker_assignment.h"
#include "src/process/worker_exit.h"
#include "src/process/worker_path.h"
#include "tests/native_code_samples.h"
#include "tests/test_support.h"

extern char** environ;

namespace ringfence {
namespace {

using internal::ChannelLayout;
using internal::Message;

// tests/modules/worker_probe.c's export table, in order.
enum ProbeExport : uint32_t {
  kAdd, kLogHello, kPrintHello, kCrashSegv, kCrashAbort, kDoOpen, kDoSocket, kDoFork,
  kDoExecve, kDoKillInit, kSpinForever, kRunThread, kTryMalloc, kReadWord, kWasStarted,
};

// Inherited descriptor numbers in the worker.
constexpr int kChannelFd = 50;
constexpr int kCodeFd = 51;
constexpr int kRegionFd = 52;
constexpr int kStrayFd = 60;  // an fd the worker must close
// Generous: only reached if the mechanism under test is broken.
constexpr auto kGiveUp = std::chrono::seconds(60);

// The wait status of child `pid`, reaping it on the first call.
int WaitOnce(pid_t pid, std::optional<int>* status) {
  if (!*status) {
    int reaped = 0;
    EXPECT_EQ(waitpid(pid, &reaped, 0), pid);
    *status = reaped;
  }
  return **status;
}

int MemfdWithBytes(const std::string& name, const std::string& bytes, size_t size) {
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(std::max(size, bytes.size()))), 0);
  EXPECT_EQ(pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  return fd;
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return text;
    text.append(buffer, static_cast<size_t>(n));
  }
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct SpawnOptions {
  std::vector<std::string> extra_args;
  std::optional<pid_t> parent_pid;  // default: the spawning process
  std::string region_bytes;         // non-empty: one region of 1 MiB with these bytes
  std::string code;                 // the module's shared object; empty: worker_probe
};

constexpr uint64_t kRegionAddress = 0x10000000;
constexpr uint64_t kRegionSize = 1 << 20;

// The host's side of one worker, reduced to what the tests need.
class FakeHost {
 public:
  explicit FakeHost(SpawnOptions options = {}) : options_(std::move(options)) {
    channel_fd_ = MemfdWithBytes("test-channel", "", internal::kChannelBytes);
    void* memory = mmap(nullptr, internal::kChannelBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                        channel_fd_, 0);
    EXPECT_NE(memory, MAP_FAILED);
    layout_ = static_cast<ChannelLayout*>(memory);
    layout_->magic = internal::kChannelMagic;
    layout_->version = internal::kChannelVersion;
    std::string code = options_.code;
    if (code.empty()) {
      std::ifstream probe(RF_WORKER_PROBE_PATH, std::ios::binary);
      code.assign(std::istreambuf_iterator<char>(probe), {});
    }
    EXPECT_FALSE(code.empty());
    code_fd_ = MemfdWithBytes("test-code", code, 0);
    if (!options_.region_bytes.empty()) {
      region_fd_ = MemfdWithBytes("test-region", options_.region_bytes, kRegionSize);
    }
    EXPECT_EQ(pipe2(out_, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err_, O_CLOEXEC), 0);
  }

  ~FakeHost() {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    munmap(layout_, internal::kChannelBytes);
    for (int fd : {channel_fd_, code_fd_, region_fd_, out_[0], out_[1], err_[0], err_[1]}) {
      if (fd >= 0) close(fd);
    }
  }

  // posix_spawns the worker (from the calling process: the fork-based test
  // calls it in a child).
  pid_t Spawn() {
    StatusOr<std::string> worker = internal::WorkerProgramPath();
    EXPECT_TRUE(worker.ok()) << worker.status().ToString();
    std::vector<std::string> args = {
        *worker, "--module", "worker_probe", "--parent-pid",
        std::to_string(options_.parent_pid.value_or(getpid())), "--channel-fd",
        std::to_string(kChannelFd), "--code-fd", std::to_string(kCodeFd)};
    if (region_fd_ >= 0) {
      args.push_back("--region");
      args.push_back(fmt(kRegionFd, kRegionAddress, kRegionSize));
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_[1], 2);
    posix_spawn_file_actions_adddup2(&actions, channel_fd_, kChannelFd);
    posix_spawn_file_actions_adddup2(&actions, code_fd_, kCodeFd);
    if (region_fd_ >= 0) posix_spawn_file_actions_adddup2(&actions, region_fd_, kRegionFd);
    posix_spawn_file_actions_addopen(&actions, kStrayFd, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(error, 0);
    // Our copies of the write ends go, so reading the pipes ends at the
    // worker's exit.
    close(out_[1]);
    close(err_[1]);
    out_[1] = err_[1] = -1;
    pid_ = pid;
    return pid;
  }

  // Spawns and waits for kMessageReady.
  void Start() {
    Spawn();
    std::optional<Message> ready = Receive();
    ASSERT_TRUE(ready.has_value()) << "worker ended before ready: " << Describe();
    ASSERT_EQ(ready->kind, internal::kMessageReady);
    code_begin_ = ready->slots[0];
    code_end_ = ready->slots[1];
    ASSERT_LT(code_begin_, code_end_);
  }

  // The next message to the host, or nothing if the worker ended first.
  std::optional<Message> Receive() {
    auto give_up = std::chrono::steady_clock::now() + kGiveUp;
    while (std::chrono::steady_clock::now() < give_up) {
      uint32_t bell = layout_->host_doorbell.load(std::memory_order_acquire);
      Message message;
      internal::PopOutcome outcome = internal::RingPop(layout_->to_host, &message);
      EXPECT_NE(outcome, internal::PopOutcome::kCorrupt);
      if (outcome == internal::PopOutcome::kMessage) return message;
      if (Exited()) return std::nullopt;
      internal::SharedFutexWait(layout_->host_doorbell, bell, 10'000'000);
    }
    ADD_FAILURE() << "no message from the worker";
    return std::nullopt;
  }

  void Send(const Message& message) {
    ASSERT_TRUE(internal::SendMessage(layout_->to_worker, layout_->worker_doorbell, message));
  }

  void SendCall(uint32_t export_index, std::vector<uint64_t> args = {}, uint32_t seq = 0) {
    Message call{};
    call.kind = internal::kMessageCall;
    call.seq = seq != 0 ? seq : ++call_seq_;
    call.a = export_index;
    for (size_t i = 0; i < args.size(); ++i) call.slots[i] = args[i];
    Send(call);
  }

  // A call that must return (no service requests on the way).
  std::optional<uint64_t> Call(uint32_t export_index, std::vector<uint64_t> args = {}) {
    SendCall(export_index, std::move(args));
    std::optional<Message> reply = Receive();
    if (!reply) return std::nullopt;
    EXPECT_EQ(reply->kind, internal::kMessageReturn);
    EXPECT_EQ(reply->seq, call_seq_);
    return reply->slots[0];
  }

  // The worker's wait status (reaps it).
  int Wait() { return WaitOnce(pid_, &status_); }

  bool Exited() {
    if (status_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    status_ = status;
    return true;
  }

  std::string Describe() {
    std::string text;
    if (status_) {
      text += WIFEXITED(*status_) ? "exit " + std::to_string(WEXITSTATUS(*status_))
                                  : "signal " + std::to_string(WTERMSIG(*status_));
    }
    const internal::CrashRecord& crash = layout_->crash;
    if (crash.written.load(std::memory_order_acquire) != 0) {
      text += "; crash: signal " + std::to_string(crash.signal) + " syscall " +
              std::to_string(crash.syscall);
    }
    return text + "; stderr: " + ReadAll(err_[0]);
  }

  // Expects the worker to die of `signal`, recorded by its crash handler.
  void ExpectCrash(int signal) {
    EXPECT_FALSE(Receive().has_value()) << "the worker answered instead of crashing";
    int status = Wait();
    ASSERT_TRUE(WIFEXITED(status)) << Describe();
    EXPECT_EQ(WEXITSTATUS(status), internal::kWorkerExitSignalBase + signal) << Describe();
    EXPECT_EQ(layout_->crash.written.load(std::memory_order_acquire), 1u);
    EXPECT_EQ(layout_->crash.signal, signal);
  }

  ChannelLayout* layout() { return layout_; }
  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_[0]; }
  uintptr_t code_begin() const { return code_begin_; }
  uintptr_t code_end() const { return code_end_; }

 private:
  static std::string fmt(int fd, uint64_t address, uint64_t size) {
    std::ostringstream text;
    text << fd << ":0x" << std::hex << address << ":0x" << size;
    return text.str();
  }

  SpawnOptions options_;
  ChannelLayout* layout_ = nullptr;
  int channel_fd_ = -1;
  int code_fd_ = -1;
  int region_fd_ = -1;
  int out_[2] = {-1, -1};
  int err_[2] = {-1, -1};
  pid_t pid_ = -1;
  std::optional<int> status_;
  uint32_t call_seq_ = 0;
  uintptr_t code_begin_ = 0;
  uintptr_t code_end_ = 0;
};

TEST(WorkerTest, ServesCallsAfterStartingTheModule) {
  FakeHost host;
  host.Start();
  EXPECT_EQ(host.Call(kWasStarted), 1u);
  EXPECT_EQ(host.Call(kAdd, {2, 3}), 5u);
  EXPECT_EQ(host.Call(kAdd, {static_cast<uint32_t>(-7), 3}), static_cast<uint32_t>(-4));
}

TEST(WorkerTest, ForwardsALogServiceWithItsTextAndServesANestedCall) {
  FakeHost host;
  host.Start();
  host.SendCall(kLogHello);
  std::optional<Message> request = host.Receive();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->kind, internal::kMessageService);
  EXPECT_EQ(request->a, internal::kServiceLog);
  EXPECT_EQ(request->seq, 1u);
  EXPECT_EQ(request->slots[0], 1u);  // level
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(host.layout()->payload), request->b),
            "hello from worker_probe");
  // The host calls back into the module before answering.
  host.SendCall(kAdd, {20, 22}, 100);
  std::optional<Message> nested = host.Receive();
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(nested->kind, internal::kMessageReturn);
  EXPECT_EQ(nested->seq, 100u);
  EXPECT_EQ(nested->slots[0], 42u);
  Message reply{};
  reply.kind = internal::kMessageServiceReply;
  reply.seq = request->seq;
  host.Send(reply);
  std::optional<Message> done = host.Receive();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->kind, internal::kMessageReturn);
  EXPECT_EQ(done->seq, 1u);
  // The next request counts on.
  host.SendCall(kLogHello);
  request = host.Receive();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->seq, 2u);
}

TEST(WorkerTest, ModuleOutputReachesTheHostsPipe) {
  FakeHost host;
  host.Start();
  EXPECT_EQ(host.Call(kPrintHello), 0u);  // stdio passes the sandbox
  kill(host.pid(), SIGKILL);
  host.Wait();
  EXPECT_EQ(ReadAll(host.stdout_fd()), "worker_probe says hello on stdout\n");
}

TEST(WorkerTest, ThreadsWork) {
  FakeHost host;
  host.Start();
  EXPECT_EQ(host.Call(kRunThread, {21}), 42u) << host.Describe();
}

TEST(WorkerTest, RegionIsMappedAtItsAddress) {
  std::string bytes(8, '\0');
  int32_t value = 0x5eed;
  std::memcpy(bytes.data() + 4, &value, sizeof(value));
  FakeHost host(SpawnOptions{.region_bytes = bytes});
  host.Start();
  EXPECT_EQ(host.Call(kReadWord, {kRegionAddress + 4}), 0x5eedu);
}

TEST(WorkerTest, ProtocolViolationEndsTheWorker) {
  FakeHost host;
  host.Start();
  host.SendCall(999);  // no such export
  EXPECT_FALSE(host.Receive().has_value());
  int status = host.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), internal::kWorkerExitProtocolError);
}

std::string FileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// Shared objects whose loading would run module code before the lockdown,
// or write outside the object: the worker refuses them before dlopen, so
// the marker their code would create never appears.
TEST(WorkerTest, RefusesCodeWhoseLoadingWouldRunItOrWriteOutsideIt) {
  std::string dir = ::testing::TempDir();
  std::string marker = dir + "/rf-worker-marker-" + std::to_string(getpid());
  unlink(marker.c_str());
  testing::ScopedEnvironmentVariable marker_variable("RINGFENCE_TEST_MARKER", marker);
  std::vector<uint8_t> probe = testing::ReadBytes(RF_WORKER_PROBE_PATH);
  std::vector<uint8_t> patched = testing::WithFirstRelocationAt(probe, 0x7f0000000000);
  ASSERT_FALSE(patched.empty()) << "worker_probe has no DT_RELA";
  // A relocation rewriting DT_SYMTAB, which glibc reads again for the
  // DT_JMPREL pass.
  std::optional<testing::DynamicEntry> symtab = testing::FindDynamicEntry(probe, DT_SYMTAB);
  ASSERT_TRUE(symtab.has_value());
  std::vector<uint8_t> into_dynamic = testing::WithFirstRelocationAt(probe, symtab->value_vaddr);
  struct Case {
    std::string code;
    const char* reason;
    std::string marker;
  };
  for (const Case& c : {Case{FileBytes(RF_HOSTILE_INIT_PATH), "DT_INIT", marker},
                        Case{FileBytes(RF_HOSTILE_IFUNC_PATH), "IFUNC", RF_HOSTILE_IFUNC_MARKER},
                        Case{std::string(patched.begin(), patched.end()), "writes outside", ""},
                        Case{std::string(into_dynamic.begin(), into_dynamic.end()),
                             "writes into its dynamic section", ""}}) {
    SCOPED_TRACE(c.reason);
    if (!c.marker.empty()) unlink(c.marker.c_str());
    SpawnOptions options;
    options.code = c.code;
    FakeHost host(options);
    host.Spawn();
    EXPECT_FALSE(host.Receive().has_value());
    int status = host.Wait();
    std::string described = host.Describe();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == internal::kWorkerExitSetupFailed)
        << described;
    EXPECT_THAT(described, ::testing::HasSubstr(c.reason));
    if (!c.marker.empty()) {
      EXPECT_FALSE(std::filesystem::exists(c.marker)) << "module code ran while loading";
    }
  }
}

// The module's entry (which hands over its tables) is the first module code
// to run, after the lockdown: worker_probe's entry tries to create a file.
TEST(WorkerTest, TheModulesEntryRunsOnlyAfterTheLockdown) {
  std::string marker = ::testing::TempDir() + "/rf-entry-marker-" + std::to_string(getpid());
  unlink(marker.c_str());
  testing::ScopedEnvironmentVariable marker_variable("RINGFENCE_TEST_MARKER", marker);
  FakeHost host;
  host.Spawn();
  bool ready = host.Receive().has_value();
  EXPECT_FALSE(ready) << "the worker served: its entry could open a file";
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the entry ran before the lockdown";
  if (!ready) {
    int status = host.Wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == internal::kWorkerExitSignalBase + SIGSYS)
        << host.Describe();
    EXPECT_EQ(host.layout()->crash.syscall, SYS_openat);
  }
  unlink(marker.c_str());
}

TEST(WorkerTest, ParentAlreadyGoneEndsTheWorkerBeforeReady) {
  FakeHost host(SpawnOptions{.parent_pid = 1});
  host.Spawn();
  EXPECT_FALSE(host.Receive().has_value());
  int status = host.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), internal::kWorkerExitOrphaned);
}

struct DeniedCall {
  ProbeExport call;
  int syscall;
  const char* name;
};

class WorkerDeniedTest : public ::testing::TestWithParam<DeniedCall> {};

TEST_P(WorkerDeniedTest, DeniedSyscallIsRecordedAndEndsTheWorker) {
  FakeHost host;
  host.Start();
  host.SendCall(GetParam().call);
  host.ExpectCrash(SIGSYS);
  EXPECT_EQ(host.layout()->crash.syscall, GetParam().syscall);
  EXPECT_GE(host.layout()->crash.pc, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Sandbox, WorkerDeniedTest,
    ::testing::Values(DeniedCall{kDoOpen, SYS_openat, "open"},
                      DeniedCall{kDoSocket, SYS_socket, "socket"},
                      DeniedCall{kDoFork, SYS_clone, "fork"},
                      DeniedCall{kDoExecve, SYS_execve, "execve"},
                      DeniedCall{kDoKillInit, SYS_kill, "kill_other"}),
    [](const ::testing::TestParamInfo<DeniedCall>& info) { return std::string(info.param.name); });

TEST(WorkerTest, SegfaultIsRecordedWithABacktraceIntoTheModule) {
  FakeHost host;
  host.Start();
  host.SendCall(kCrashSegv);
  host.ExpectCrash(SIGSEGV);
  const internal::CrashRecord& crash = host.layout()->crash;
  EXPECT_EQ(crash.address, 16u);
  EXPECT_GE(crash.pc, host.code_begin());
  EXPECT_LT(crash.pc, host.code_end());
  ASSERT_GE(crash.depth, 2u);
  // WriteNull's caller (crash_segv) first, then the worker that called it.
  EXPECT_GE(crash.backtrace[0], host.code_begin());
  EXPECT_LT(crash.backtrace[0], host.code_end());
  EXPECT_TRUE(crash.backtrace[1] < host.code_begin() || crash.backtrace[1] >= host.code_end());
}

TEST(WorkerTest, AbortIsRecorded) {
  FakeHost host;
  host.Start();
  host.SendCall(kCrashAbort);
  host.ExpectCrash(SIGABRT);
}

TEST(WorkerTest, CpuLimitIsRecordedAsSigxcpu) {
  FakeHost host(SpawnOptions{.extra_args = {"--cpu-seconds", "1"}});
  host.Start();
  host.SendCall(kSpinForever);
  host.ExpectCrash(SIGXCPU);
}

TEST(WorkerTest, MemoryLimitRefusesLargeAllocations) {
  FakeHost host(SpawnOptions{.extra_args = {"--memory-limit", std::to_string(64 << 20)}});
  host.Start();
  EXPECT_EQ(host.Call(kTryMalloc, {16}), 1u);
  EXPECT_EQ(host.Call(kTryMalloc, {256}), 0u);
}

uint64_t StatusField(pid_t pid, const std::string& field) {
  std::istringstream status(ReadFileText("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  ADD_FAILURE() << "no " << field << " in /proc/" << pid << "/status";
  return 0;
}

TEST(WorkerTest, ServingWorkerIsLockedDown) {
  FakeHost host;
  host.Start();
  std::set<int> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(host.pid()) + "/fd")) {
    fds.insert(std::stoi(entry.path().filename().string()));
  }
  EXPECT_EQ(fds, (std::set<int>{0, 1, 2, kChannelFd}));
  EXPECT_EQ(StatusField(host.pid(), "NoNewPrivs"), 1u);
  EXPECT_EQ(StatusField(host.pid(), "Seccomp"), 2u);  // filter mode
  // The worker's own address space fits the allowance RLIMIT_AS adds for it.
  EXPECT_LT(StatusField(host.pid(), "VmSize") * 1024, 64u << 20);
  std::string limits = ReadFileText("/proc/" + std::to_string(host.pid()) + "/limits");
  EXPECT_NE(limits.find("Max file size             0"), std::string::npos) << limits;
  EXPECT_NE(limits.find("Max core file size        0"), std::string::npos) << limits;
}

TEST(WorkerTest, KilledWorkerMarksWorkerAliveOwnerDied) {
  FakeHost host;
  host.Start();
  uint32_t alive = host.layout()->worker_alive.load();
  EXPECT_EQ(alive, static_cast<uint32_t>(host.pid()) | FUTEX_WAITERS);
  kill(host.pid(), SIGKILL);
  host.Wait();
  alive = host.layout()->worker_alive.load();
  EXPECT_NE(alive & FUTEX_OWNER_DIED, 0u);
  EXPECT_EQ(alive & FUTEX_TID_MASK, 0u);
}

TEST(WorkerTest, WorkerDiesWithItsParent) {
  FakeHost host;
  // Orphans are re-parented to this process, so the worker can be reaped
  // and its cause of death seen here.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    host.Spawn();
    for (;;) pause();
  }
  std::optional<Message> ready = host.Receive();
  ASSERT_TRUE(ready.has_value());
  ASSERT_EQ(ready->kind, internal::kMessageReady);
  pid_t worker = static_cast<pid_t>(host.layout()->worker_alive.load() & FUTEX_TID_MASK);
  ASSERT_GT(worker, 0);
  kill(middle, SIGKILL);
  ASSERT_EQ(waitpid(middle, nullptr, 0), middle);
  // Wait for the kernel's owner-died mark (the worker's death), bounded in
  // case the parent-death signal is broken.
  auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  uint32_t alive;
  while (((alive = host.layout()->worker_alive.load()) & FUTEX_OWNER_DIED) == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    internal::SharedFutexWait(host.layout()->worker_alive, alive, 100'000'000);
  }
  bool died = (alive & FUTEX_OWNER_DIED) != 0;
  if (!died) kill(worker, SIGKILL);
  int status = 0;
  EXPECT_EQ(waitpid(worker, &status, 0), worker);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(died) << "the worker outlived its parent";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

// A worker started idle, as the host's pool starts one: its end of a socket
// pair at fd 3, its stderr into a pipe.
class IdleWorker {
 public:
  IdleWorker() {
    int link[2], err[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    StatusOr<std::string> worker = internal::WorkerProgramPath();
    EXPECT_TRUE(worker.ok()) << worker.status().ToString();
    std::vector<std::string> args = {*worker, "--parent-pid", std::to_string(getpid()),
                                     "--await-assignment", "3"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_adddup2(&actions, link[1], 3);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(link[1]);
    close(err[1]);
    socket_ = link[0];
    err_ = err[0];
  }
  ~IdleWorker() {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (socket_ >= 0) close(socket_);
    close(err_);
  }
  int socket() const { return socket_; }
  void CloseSocket() {
    close(socket_);
    socket_ = -1;
  }
  int Wait() { return WaitOnce(pid_, &status_); }
  std::string Stderr() {
    std::string text;
    char buffer[512];
    for (ssize_t n; (n = read(err_, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    return text;
  }

 private:
  pid_t pid_ = 0;
  int socket_ = -1;
  int err_ = -1;
  std::optional<int> status_;
};

TEST(WorkerAssignmentTest, AnIdleWorkerSaysPreparedAndExitsQuietlyWhenLetGo) {
  IdleWorker idle;
  char said = 0;
  ASSERT_EQ(recv(idle.socket(), &said, 1, 0), 1);
  EXPECT_EQ(said, internal::kWorkerPrepared);
  idle.CloseSocket();
  int status = idle.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), internal::kWorkerExitNotNeeded);
}

TEST(WorkerAssignmentTest, AMalformedAssignmentEndsTheWorkerWithAReason) {
  IdleWorker idle;
  const char unterminated[] = {'-', '-', 'm', 'o', 'd', 'u', 'l', 'e'};
  ASSERT_EQ(send(idle.socket(), unterminated, sizeof unterminated, MSG_NOSIGNAL),
            static_cast<ssize_t>(sizeof unterminated));
  int status = idle.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), internal::kWorkerExitSetupFailed);
  EXPECT_NE(idle.Stderr().find("bad assignment from the host"), std::string::npos);
}

TEST(WorkerAssignmentTest, AnAssignmentWithoutItsOptionsIsRefusedByTheCommandLine) {
  IdleWorker idle;
  const char words[] = "--module\0probe\0";  // no --channel-fd, no --code-fd
  ASSERT_EQ(send(idle.socket(), words, sizeof words - 1, MSG_NOSIGNAL),
            static_cast<ssize_t>(sizeof words - 1));
  int status = idle.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), internal::kWorkerExitSetupFailed);
  EXPECT_NE(idle.Stderr().find("channel-fd"), std::string::npos);
}

TEST(WorkerPathTest, EnvironmentOverrides) {
  testing::ScopedEnvironmentVariable worker("RINGFENCE_WORKER", "/bin/true");
  StatusOr<std::string> path = internal::WorkerProgramPath();
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "/bin/true");
  ASSERT_EQ(setenv("RINGFENCE_WORKER", "/nonexistent/ringfence-worker", 1), 0);
  path = internal::WorkerProgramPath();
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), StatusCode::kNotFound);
  EXPECT_NE(path.status().message().find("RINGFENCE_WORKER"), std::string::npos);
}

TEST(WorkerPathTest, FindsTheBuiltWorker) {
  if (std::getenv("RINGFENCE_WORKER") != nullptr) GTEST_SKIP() << "RINGFENCE_WORKER is set";
  StatusOr<std::string> path = internal::WorkerProgramPath();
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(std::filesystem::path(*path).filename(), "ringfence-worker");
}

}  // namespace
}  // namespace ringfence
