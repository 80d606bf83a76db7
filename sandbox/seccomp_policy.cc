#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace sealpkg::sandbox {
namespace {

// The flags glibc 2.36's pthread_create passes to clone (after clone3 returns ENOSYS). Only
// exactly these are allowed: no fork, no vfork, no namespace flags, no CLONE_UNTRACED.
constexpr uint64_t kThreadCloneFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                       CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
                                       CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

class Ctx {
 public:
  explicit Ctx(uint32_t def) : ctx_(seccomp_init(def)) {}
  ~Ctx() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

Status Fail(const std::string& what, int rc) {
  return InternalError("sandbox.seccomp", what + ": " + std::strerror(-rc));
}

Status Compile(const SeccompOptions& options, Ctx& ctx) {
  if (ctx.get() == nullptr) return InternalError("sandbox.seccomp", "seccomp_init failed");
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return Fail("badarch action", rc);
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc != 0) return Fail("TSYNC", rc);
  for (const SyscallRule& rule : BuildSeccompPolicy(options)) {
    const int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) {
      return InternalError("sandbox.seccomp", "unknown syscall " + rule.syscall);
    }
    std::vector<scmp_arg_cmp> cmps;
    for (const ArgCheck& c : rule.checks) {
      // Spelled out (not SCMP_CMP): clang's -Wmissing-field-initializers rejects the macro's
      // partial initializer for the EQ form.
      cmps.push_back(c.mask == 0 ? scmp_arg_cmp{c.arg, SCMP_CMP_EQ, c.value, 0}
                                 : scmp_arg_cmp{c.arg, SCMP_CMP_MASKED_EQ, c.mask, c.value});
    }
    const uint32_t action =
        rule.action == RuleAction::kAllow ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(rule.errno_value);
    rc = seccomp_rule_add_exact_array(ctx.get(), action, nr, static_cast<unsigned>(cmps.size()),
                                      cmps.data());
    if (rc != 0) return Fail("rule for " + rule.syscall, rc);
  }
  return OkStatus();
}

uint32_t DefaultAction(const SeccompOptions& options) {
  return options.diagnose ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
}

}  // namespace

std::vector<SyscallRule> BuildSeccompPolicy(const SeccompOptions& o) {
  std::vector<SyscallRule> p;
  auto allow = [&](const char* name, const char* why) {
    p.push_back({name, RuleAction::kAllow, 0, {}, "", why});
  };
  auto allow_if = [&](const char* name, std::vector<ArgCheck> checks, std::string cond,
                      const char* why) {
    p.push_back({name, RuleAction::kAllow, 0, std::move(checks), std::move(cond), why});
  };
  auto deny = [&](const char* name, int err, const char* why) {
    p.push_back({name, RuleAction::kErrno, err, {}, "", why});
  };
  const uint64_t ipc = static_cast<uint64_t>(o.ipc_fd);
  const uint64_t self = static_cast<uint64_t>(o.self_pid);

  // Memory. PROT_EXEC on new mappings is refused unless explicitly allowed: after pre-import
  // and warm-up nothing needs new executable memory (measured), and injected code would.
  const char* why_map = "allocator, tensors, archive mapping";
  if (o.allow_exec_memory) {
    allow("mmap", why_map);
    allow("mprotect", "allocator, thread stacks guard pages");
  } else {
    allow_if("mmap", {{2, PROT_EXEC, 0}}, "prot has no PROT_EXEC", why_map);
    allow_if("mprotect", {{2, PROT_EXEC, 0}}, "prot has no PROT_EXEC",
             "allocator, thread stack guard pages");
  }
  allow("munmap", "allocator");
  allow("mremap", "allocator (realloc of large blocks)");
  allow("brk", "allocator");
  for (auto [advice, name] : {std::pair{MADV_DONTNEED, "MADV_DONTNEED"},
                              {MADV_FREE, "MADV_FREE"},
                              {MADV_NORMAL, "MADV_NORMAL"},
                              {MADV_RANDOM, "MADV_RANDOM"},
                              {MADV_WILLNEED, "MADV_WILLNEED"},
                              {MADV_HUGEPAGE, "MADV_HUGEPAGE"},
                              {MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
                              {22 /* MADV_POPULATE_READ */, "MADV_POPULATE_READ"}}) {
    allow_if("madvise", {{2, 0, static_cast<uint64_t>(advice)}}, std::string("advice == ") + name,
             "allocator trimming, large-page and prefault hints");
  }

  // I/O on what we already hold. No syscall can open anything new.
  allow("read", "reading already-open fds");
  allow("pread64", "reading already-open fds");
  allow("write",
        "stdout/stderr and filling memfds (the archive copy); no fd can be opened to write to");
  allow("lseek", "memfd rewind");
  allow("close", "closing fds");
  allow("fstat", "size of held fds");
  allow_if("newfstatat", {{3, AT_EMPTY_PATH, AT_EMPTY_PATH}}, "flags has AT_EMPTY_PATH",
           "glibc's fstat(fd); metadata only, never file contents");
  allow("ftruncate", "sizing the tensor arena memfd");
  allow_if("memfd_create",
           {{1, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB, MFD_CLOEXEC | MFD_ALLOW_SEALING}},
           "flags: CLOEXEC and ALLOW_SEALING, no HUGETLB", "archive copy and tensor arena");
  for (auto [cmd, name] : {std::pair{F_GETFD, "F_GETFD"},
                           {F_SETFD, "F_SETFD"},
                           {F_GETFL, "F_GETFL"},
                           {F_SETFL, "F_SETFL"},
                           {F_ADD_SEALS, "F_ADD_SEALS"},
                           {F_GET_SEALS, "F_GET_SEALS"}}) {
    allow_if("fcntl", {{1, 0, static_cast<uint64_t>(cmd)}}, std::string("cmd == ") + name,
             "fd flags and memfd seals");
  }
  allow_if("sendmsg", {{0, 0, ipc}}, "fd == " + std::to_string(o.ipc_fd),
           "the result (and its memfd) to the parent");
  allow_if("recvmsg", {{0, 0, ipc}}, "fd == " + std::to_string(o.ipc_fd),
           "the request from the parent");
  allow_if("recvfrom", {{0, 0, ipc}}, "fd == " + std::to_string(o.ipc_fd),
           "peeking at the request's size (recv MSG_PEEK)");

  // Threads (torch/OpenMP), signals, time, randomness.
  allow_if("clone", {{0, 0, kThreadCloneFlags}}, "flags == glibc thread flags",
           "threads only: no fork, no namespaces");
  deny("clone3", ENOSYS, "flags sit behind a pointer; glibc falls back to clone");
  allow("futex", "locks, thread joins");
  allow("set_robust_list", "thread start");
  allow("rseq", "thread start (glibc 2.35+)");
  allow("gettid", "thread ids");
  allow("getpid", "own pid");
  allow("sched_getaffinity", "OpenMP thread count");
  allow("sched_yield", "spin locks");
  deny("sched_setaffinity", EPERM, "OpenMP may try to pin threads");
  allow("rt_sigreturn", "signal return");
  allow("rt_sigaction", "signal handlers");
  allow("rt_sigprocmask", "signal masks (threads)");
  allow_if("kill", {{0, 0, self}}, "pid == worker", "raise() on itself");
  allow_if("tgkill", {{0, 0, self}}, "tgid == worker", "abort()/raise() on itself");
  allow("exit", "thread exit");
  allow("exit_group", "process exit");
  allow("getrandom", "os.urandom, hash seeds");
  allow("clock_gettime", "time (usually the vDSO)");
  allow("clock_getres", "time");
  allow("gettimeofday", "time");
  allow("clock_nanosleep", "time.sleep");
  allow("nanosleep", "time.sleep");
  allow("getuid", "harmless identity queries");
  allow("geteuid", "harmless identity queries");
  allow("getgid", "harmless identity queries");
  allow("getegid", "harmless identity queries");

  // errno tier: harmless-but-unneeded calls fail cleanly (PermissionError, ModuleNotFoundError).
  for (const char* fs :
       {"open",       "openat",    "openat2",    "stat",     "lstat",      "statx",
        "access",     "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd",
        "getdents64", "unlink",    "unlinkat",   "mkdir",    "mkdirat",    "rmdir",
        "rename",     "renameat",  "renameat2",  "symlink",  "symlinkat",  "link",
        "linkat",     "chmod",     "fchmodat",   "truncate", "chdir"}) {
    deny(fs, EACCES, "filesystem: nothing to open or change (EACCES gives clean errors)");
  }
  p.push_back({"newfstatat",
               RuleAction::kErrno,
               EACCES,
               {{3, AT_EMPTY_PATH, 0}},
               "flags lacks AT_EMPTY_PATH",
               "stat of a path"});
  deny("ioctl", ENOTTY, "no terminal or device (TIOCSTI lesson)");
  return p;
}

Status InstallSeccompPolicy(const SeccompOptions& options) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return IoError("sandbox.no-new-privs",
                   std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno));
  }
  Ctx ctx(DefaultAction(options));
  SEALPKG_RETURN_IF_ERROR(Compile(options, ctx));
  const int rc = seccomp_load(ctx.get());
  if (rc != 0) return Fail("seccomp_load", rc);
  return OkStatus();
}

namespace {

// Visits every `k == kSelfPidPlaceholder` compare-and-jump of a BPF program.
template <typename F>
size_t ForEachSelfPidSlot(std::vector<uint8_t>* program, F&& f) {
  size_t n = 0;
  for (size_t at = 0; at + sizeof(sock_filter) <= program->size(); at += sizeof(sock_filter)) {
    sock_filter ins;
    std::memcpy(&ins, program->data() + at, sizeof ins);
    if (ins.code == (BPF_JMP | BPF_JEQ | BPF_K) &&
        ins.k == static_cast<uint32_t>(kSelfPidPlaceholder)) {
      f(&ins);
      std::memcpy(program->data() + at, &ins, sizeof ins);
      ++n;
    }
  }
  return n;
}

}  // namespace

Result<CompiledSeccompPolicy> CompileSeccompPolicy(SeccompOptions options) {
  options.self_pid = kSelfPidPlaceholder;
  Ctx ctx(DefaultAction(options));
  SEALPKG_RETURN_IF_ERROR(Compile(options, ctx));
  const int fd = ::memfd_create("bpf", MFD_CLOEXEC);
  if (fd < 0) return IoError("io.memfd", std::strerror(errno));
  const int rc = seccomp_export_bpf(ctx.get(), fd);
  CompiledSeccompPolicy out;
  if (rc == 0) {
    ::lseek(fd, 0, SEEK_SET);
    uint8_t buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
      out.program.insert(out.program.end(), buf, buf + n);
  }
  ::close(fd);
  if (rc != 0) return Fail("seccomp_export_bpf", rc);
  if (out.program.empty() || out.program.size() % sizeof(sock_filter) != 0 ||
      out.program.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return InternalError("sandbox.seccomp", "exported BPF program has a bad size");
  }
  out.self_pid_slots = ForEachSelfPidSlot(&out.program, [](sock_filter*) {});
  // security: kill and tgkill compare with the worker's pid (libseccomp may share one block of
  // instructions between them). None found would mean the rules are emitted differently and
  // the placeholder would stay: then kill would be refused even on itself, so fail loudly.
  if (out.self_pid_slots == 0) {
    return InternalError("sandbox.seccomp", "self-pid comparisons not found in the BPF program");
  }
  return out;
}

Status InstallCompiledSeccompPolicy(CompiledSeccompPolicy* policy, pid_t self_pid) {
  if (self_pid <= 0) return InternalError("sandbox.seccomp", "bad self pid");
  const size_t patched = ForEachSelfPidSlot(
      &policy->program, [self_pid](sock_filter* ins) { ins->k = static_cast<uint32_t>(self_pid); });
  if (patched != policy->self_pid_slots) {
    return InternalError("sandbox.seccomp", "self-pid comparisons changed since compilation");
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return IoError("sandbox.no-new-privs",
                   std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno));
  }
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(policy->program.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(policy->program.data());
  const long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (rc != 0) {
    return IoError("sandbox.seccomp",
                   rc > 0 ? "TSYNC failed: thread " + std::to_string(rc) + " cannot be synchronised"
                          : std::string("seccomp: ") + std::strerror(errno));
  }
  return OkStatus();
}

std::string SeccompPolicyTable(const SeccompOptions& options) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-18s %-14s %-46s %s\n", "SYSCALL", "ACTION", "CONDITION",
                "WHY");
  out += line;
  for (const SyscallRule& r : BuildSeccompPolicy(options)) {
    std::string action = "allow";
    if (r.action == RuleAction::kErrno)
      action = std::string("errno ") + strerrorname_np(r.errno_value);
    std::snprintf(line, sizeof line, "%-18s %-14s %-46s %s\n", r.syscall.c_str(), action.c_str(),
                  r.condition.empty() ? "-" : r.condition.c_str(), r.why.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "%-18s %-14s %-46s %s\n", "(any other)",
                options.diagnose ? "trap" : "kill-process", "-", "default: fail closed");
  out += line;
  std::snprintf(line, sizeof line, "%-18s %-14s %-46s %s\n", "(other arch)", "kill-process", "-",
                "i386 int 0x80 and x32 calls");
  out += line;
  out += "flags: NO_NEW_PRIVS, TSYNC (every thread)\n";
  return out;
}

Result<std::string> SeccompPolicyPfc(const SeccompOptions& options) {
  Ctx ctx(DefaultAction(options));
  SEALPKG_RETURN_IF_ERROR(Compile(options, ctx));
  int fd = ::memfd_create("pfc", MFD_CLOEXEC);
  if (fd < 0) return IoError("io.memfd", std::strerror(errno));
  const int rc = seccomp_export_pfc(ctx.get(), fd);
  std::string out;
  if (rc == 0) {
    ::lseek(fd, 0, SEEK_SET);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (rc != 0) return Fail("seccomp_export_pfc", rc);
  return out;
}

std::string SyscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  if (name == nullptr) return "syscall " + std::to_string(number);
  std::string out(name);
  std::free(name);
  return out;
}

}  // namespace sealpkg::sandbox
