// The worker's seccomp-bpf policy: one allow-list, kill by default, built in one function.
//
// BuildSeccompPolicy() returns every rule as data (syscall, action, argument conditions, why);
// InstallSeccompPolicy() compiles exactly that list with libseccomp (NO_NEW_PRIVS, TSYNC so
// threads torch/OpenMP already started are covered too, SCMP_ACT_KILL_PROCESS as the default and
// for other architectures) and SeccompPolicyTable() prints it for review (`sealpkg-worker
// policy`, `sealpkg.sandbox.policy_table()`). Three tiers, following Chromium's baseline policy
// and shared/reference/sandboxing.md: allow (some with argument checks), an errno tier for
// harmless file calls so Python raises clean exceptions, and kill for everything else.
//
//   sandbox::SeccompOptions opts;
//   opts.self_pid = getpid();
//   SEALPKG_RETURN_IF_ERROR(sandbox::InstallSeccompPolicy(opts));  // irreversible
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sealpkg::sandbox {

// Turning the PROT_EXEC ban off (some oneDNN kernels JIT) needs this token, so every use is
// greppable.
struct UnsafeAllowExecMemory {};

struct SeccompOptions {
  int ipc_fd = 3;      // the only fd sendmsg/recvmsg may use
  pid_t self_pid = 0;  // kill/tgkill may only target this process (abort, raise)
  bool allow_exec_memory = false;
  // Default action TRAP instead of KILL_PROCESS: a SIGSYS handler in the worker reports the
  // syscall number before exiting. For diagnosing a policy that is too tight; never default.
  bool diagnose = false;

  void AllowExecMemory(UnsafeAllowExecMemory) { allow_exec_memory = true; }
};

enum class RuleAction : uint8_t { kAllow, kErrno };

// One comparison on a syscall argument: (arg & mask) == value, or arg == value when mask is 0.
struct ArgCheck {
  unsigned arg = 0;
  uint64_t mask = 0;
  uint64_t value = 0;
};

struct SyscallRule {
  std::string syscall;
  RuleAction action = RuleAction::kAllow;
  int errno_value = 0;           // for kErrno
  std::vector<ArgCheck> checks;  // all must hold; several rules for one syscall are OR-ed
  std::string condition;         // the checks in words, for the table
  std::string why;
};

// The policy, as data. Anything not listed is killed (SCMP_ACT_KILL_PROCESS).
std::vector<SyscallRule> BuildSeccompPolicy(const SeccompOptions& options);

// NO_NEW_PRIVS + the filter with TSYNC. Irreversible: call it in the worker only.
Status InstallSeccompPolicy(const SeccompOptions& options);

// The fork server compiles the policy once, before any fork, and each child installs that BPF
// program with the raw seccomp(2) call: no libseccomp allocation after fork. kill/tgkill may
// only target the worker itself, whose pid is known only after fork, so the program is compiled
// for this placeholder (above PID_MAX_LIMIT, never a real pid) and the child patches exactly the
// comparisons that carry it.
inline constexpr pid_t kSelfPidPlaceholder = 0x3ffffff0;

struct CompiledSeccompPolicy {
  std::vector<uint8_t> program;  // struct sock_filter[], as seccomp_export_bpf wrote it
  size_t self_pid_slots = 0;     // JEQ instructions comparing with kSelfPidPlaceholder (>= 1)
};

// Compiles BuildSeccompPolicy(options) with self_pid = kSelfPidPlaceholder to a BPF program.
Result<CompiledSeccompPolicy> CompileSeccompPolicy(SeccompOptions options);

// Patches the placeholder to `self_pid` (exactly self_pid_slots instructions, else refuses),
// then NO_NEW_PRIVS + seccomp(SECCOMP_SET_MODE_FILTER, TSYNC). Irreversible; in the child only.
Status InstallCompiledSeccompPolicy(CompiledSeccompPolicy* policy, pid_t self_pid);

// A readable table of BuildSeccompPolicy (one row per rule, plus the default).
std::string SeccompPolicyTable(const SeccompOptions& options);

// libseccomp's own pseudo-filter-code rendering of the compiled filter (seccomp_export_pfc).
Result<std::string> SeccompPolicyPfc(const SeccompOptions& options);

// Name of a syscall number on this architecture ("socket"), or "syscall N".
std::string SyscallName(int number);

}  // namespace sealpkg::sandbox
