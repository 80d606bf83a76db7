// The seccomp policy enforced for real: each case forks a child that installs the policy, makes
// one call and reports through its exit status (as Chromium's BPF_DEATH_TEST does). Allowed
// calls exit 0, errno-tier calls exit 0 after checking errno, forbidden calls die of SIGSYS.
#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace sealpkg::sandbox {
namespace {

// Runs `body` in a locked-down child; returns the raw wait status.
int RunLocked(const std::function<int()>& body, bool exec_memory = false) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    SeccompOptions opts;
    opts.self_pid = ::getpid();
    if (exec_memory) opts.AllowExecMemory(UnsafeAllowExecMemory{});
    if (!InstallSeccompPolicy(opts).ok()) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool KilledBySigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}
bool ExitedZero(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(SeccompPolicyTest, AllowedCallsWork) {
  EXPECT_TRUE(ExitedZero(RunLocked([] { return ::getpid() > 0 ? 0 : 1; })));
  EXPECT_TRUE(ExitedZero(RunLocked([] {
    void* p = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 1 : 0;
  })));
  EXPECT_TRUE(ExitedZero(RunLocked([] { return ::kill(::getpid(), 0) == 0 ? 0 : 1; })));
}

TEST(SeccompPolicyTest, ThreadsWorkAndClone3GivesEnosys) {
  EXPECT_TRUE(ExitedZero(RunLocked([] {
    pthread_t t;
    if (pthread_create(
            &t, nullptr, [](void*) -> void* { return nullptr; }, nullptr) != 0)
      return 1;
    return pthread_join(t, nullptr) == 0 ? 0 : 2;
  })));
  EXPECT_TRUE(ExitedZero(RunLocked(
      [] { return ::syscall(SYS_clone3, nullptr, 0) == -1 && errno == ENOSYS ? 0 : 1; })));
}

TEST(SeccompPolicyTest, ErrnoTierFailsCleanly) {
  EXPECT_TRUE(ExitedZero(
      RunLocked([] { return ::open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES ? 0 : 1; })));
  EXPECT_TRUE(ExitedZero(RunLocked([] {
    return ::open("/tmp/sealpkg-should-not-exist", O_WRONLY | O_CREAT, 0600) == -1 &&
                   errno == EACCES
               ? 0
               : 1;
  })));
  EXPECT_EQ(::access("/tmp/sealpkg-should-not-exist", F_OK), -1);
  EXPECT_TRUE(ExitedZero(RunLocked([] {
    char buf[64];
    return ::getcwd(buf, sizeof buf) == nullptr && errno == EACCES ? 0 : 1;
  })));
  EXPECT_TRUE(ExitedZero(
      RunLocked([] { return ::ioctl(0, 0x5412, "x") == -1 && errno == ENOTTY ? 0 : 1; })));
}

TEST(SeccompPolicyTest, ForbiddenCallsAreKilled) {
  const std::vector<std::pair<const char*, std::function<int()>>> cases = {
      {"socket(AF_INET)", [] { return ::socket(AF_INET, SOCK_STREAM, 0); }},
      {"socket(AF_UNIX)", [] { return ::socket(AF_UNIX, SOCK_STREAM, 0); }},
      {"socketpair",
       [] {
         int sv[2];
         return ::socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
       }},
      {"execve",
       [] {
         char* argv[] = {nullptr};
         return ::execve("/bin/true", argv, argv);
       }},
      {"fork", [] { return static_cast<int>(::syscall(SYS_fork)); }},
      {"vfork", [] { return static_cast<int>(::syscall(SYS_vfork)); }},
      {"clone(SIGCHLD)",
       [] { return static_cast<int>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0)); }},
      {"clone(thread|NEWUSER)",
       [] {
         return static_cast<int>(::syscall(SYS_clone,
                                           CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                               CLONE_THREAD | CLONE_SYSVSEM | CLONE_NEWUSER,
                                           0, 0, 0, 0));
       }},
      {"ptrace", [] { return static_cast<int>(::syscall(SYS_ptrace, 0 /*TRACEME*/, 0, 0, 0)); }},
      {"process_vm_readv",
       [] { return static_cast<int>(::syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0)); }},
      {"bpf", [] { return static_cast<int>(::syscall(SYS_bpf, 0, 0, 0)); }},
      {"perf_event_open",
       [] { return static_cast<int>(::syscall(SYS_perf_event_open, 0, 0, -1, -1, 0)); }},
      {"io_uring_setup", [] { return static_cast<int>(::syscall(SYS_io_uring_setup, 1, 0)); }},
      {"userfaultfd", [] { return static_cast<int>(::syscall(SYS_userfaultfd, 0)); }},
      {"keyctl", [] { return static_cast<int>(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)); }},
      {"unshare", [] { return static_cast<int>(::syscall(SYS_unshare, CLONE_NEWUSER)); }},
      {"setns", [] { return static_cast<int>(::syscall(SYS_setns, -1, 0)); }},
      {"mount", [] { return static_cast<int>(::syscall(SYS_mount, 0, 0, 0, 0, 0)); }},
      {"chroot", [] { return static_cast<int>(::syscall(SYS_chroot, "/")); }},
      {"pivot_root", [] { return static_cast<int>(::syscall(SYS_pivot_root, 0, 0)); }},
      {"kill(parent)", [] { return ::kill(::getppid(), 0); }},
      {"kill(1)", [] { return ::kill(1, 0); }},
      {"tgkill(other)", [] { return static_cast<int>(::syscall(SYS_tgkill, 1, 1, 0)); }},
      {"mmap(PROT_EXEC)",
       [] {
         return ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
                        MAP_FAILED
                    ? 1
                    : 0;
       }},
      {"mprotect(PROT_EXEC)",
       [] {
         void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
         return ::mprotect(p, 4096, PROT_READ | PROT_EXEC);
       }},
      {"prctl", [] { return ::prctl(PR_SET_NAME, "x"); }},
      {"seccomp", [] { return static_cast<int>(::syscall(SYS_seccomp, 0, 0, 0)); }},
      {"sendmsg(fd 5)", [] { return static_cast<int>(::sendmsg(5, nullptr, 0)); }},
      {"recvmsg(fd 0)", [] { return static_cast<int>(::recvmsg(0, nullptr, 0)); }},
      {"fcntl(F_DUPFD)", [] { return ::fcntl(0, F_DUPFD, 10); }},
      {"dup", [] { return ::dup(0); }},
      {"madvise(MADV_DONTFORK)", [] { return ::madvise(nullptr, 0, MADV_DONTFORK); }},
      {"memfd_create(no sealing)", [] { return ::memfd_create("x", 0); }},
      {"memfd_secret", [] { return static_cast<int>(::syscall(SYS_memfd_secret, 0)); }},
      {"pidfd_open", [] { return static_cast<int>(::syscall(SYS_pidfd_open, 1, 0)); }},
      {"x32 getpid", [] { return static_cast<int>(::syscall(SYS_getpid | 0x40000000)); }},
  };
  for (const auto& [name, body] : cases) {
    const int status = RunLocked(body);
    EXPECT_TRUE(KilledBySigsys(status)) << name << ": status " << status;
  }
}

TEST(SeccompPolicyTest, ExecMemorySwitch) {
  EXPECT_TRUE(ExitedZero(RunLocked(
      [] {
        return ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
                       MAP_FAILED
                   ? 1
                   : 0;
      },
      /*exec_memory=*/true)));
}

long Int80Getpid() {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
  return ret;
}

// A 32-bit syscall is killed as a foreign architecture. Kernels built without IA32 emulation
// fault on int 0x80 (SIGSEGV) even unfiltered; the filtered child must then die the same way
// and never run the call.
TEST(SeccompPolicyTest, Int80IsKilled) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(Int80Getpid() > 0 ? 0 : 1);
  int unfiltered = 0;
  ::waitpid(pid, &unfiltered, 0);
  const int status = RunLocked([] { return static_cast<int>(Int80Getpid()); });
  if (ExitedZero(unfiltered)) {
    EXPECT_TRUE(KilledBySigsys(status)) << status;
  } else {
    EXPECT_TRUE(WIFSIGNALED(unfiltered) && WTERMSIG(unfiltered) == SIGSEGV) << unfiltered;
    EXPECT_TRUE(WIFSIGNALED(status)) << status;
    std::printf("note: this kernel has no IA32 emulation (int 0x80 faults unfiltered)\n");
  }
}

// TSYNC: a thread started before lockdown is filtered too.
TEST(SeccompPolicyTest, TsyncCoversEarlierThreads) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    static int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) ::_exit(91);
    pthread_t t;
    pthread_create(
        &t, nullptr,
        [](void*) -> void* {
          char c;
          if (::read(pipe_fds[0], &c, 1) != 1) ::_exit(92);
          ::socket(AF_INET, SOCK_STREAM, 0);  // must kill the whole process
          ::_exit(93);
        },
        nullptr);
    SeccompOptions opts;
    opts.self_pid = ::getpid();
    if (!InstallSeccompPolicy(opts).ok()) ::_exit(90);
    if (::write(pipe_fds[1], "g", 1) != 1) ::_exit(94);
    pthread_join(t, nullptr);
    ::_exit(95);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(KilledBySigsys(status)) << status;
}

TEST(SeccompPolicyTest, TableListsEveryRuleAndTheDefault) {
  SeccompOptions opts;
  opts.self_pid = 1234;
  const std::string table = SeccompPolicyTable(opts);
  for (const auto& rule : BuildSeccompPolicy(opts)) {
    EXPECT_NE(table.find(rule.syscall), std::string::npos) << rule.syscall;
  }
  EXPECT_NE(table.find("kill-process"), std::string::npos);
  EXPECT_NE(table.find("pid == worker"), std::string::npos);
  EXPECT_NE(table.find("prot has no PROT_EXEC"), std::string::npos);
  EXPECT_EQ(table.find("socket"), std::string::npos);  // never allowed, so never listed
  auto pfc = SeccompPolicyPfc(opts);
  ASSERT_TRUE(pfc.ok()) << pfc.status().ToString();
  EXPECT_NE(pfc->find("KILL_PROCESS"), std::string::npos);
  EXPECT_EQ(SyscallName(41), "socket");
}

}  // namespace
}  // namespace sealpkg::sandbox
