// The parent side of a sandboxed load: spawn sealpkg-worker, hand it the sealed archive, collect
// a strictly checked result, and classify how the worker ended.
//
// The worker gets the SEQPACKET socket on fd 3, the archive memfd on fd 4, /dev/null on fd 0 and
// one capped pipe on fds 1-2; nothing else crosses exec (every parent fd is CLOEXEC). The parent
// polls {socket, pidfd, output} against a wall-clock deadline, SIGKILLs through the pidfd on
// timeout or protocol error, and always reaps. The exit is classified from the raw wait status
// (never Boost's exit_code(), which reports a SIGSYS kill as exit code 31).
//
//   sandbox::LaunchOptions opts;
//   opts.worker_path = ".../sealpkg-worker";
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::LoadOutcome out,
//                            sandbox::RunSandboxedLoad(opts, archive.sealed_fd(), request));
//   if (out.kind != sandbox::OutcomeKind::kOk) Report(out.message);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"
#include "sandbox/tensor_transport.h"

namespace sealpkg::sandbox {

// Test hook only: the worker skips seccomp and reports it missing, as on a kernel without it
// (degraded mode, reference test 38). Needs this token so every use is greppable.
struct UnsafeTestPretendNoSeccomp {};

struct LaunchOptions {
  std::string worker_path;
  std::string python_path;           // where the worker imports sealpkg from
  std::vector<std::string> preload;  // modules imported before lockdown besides torch/numpy
  int threads = 1;
  bool require_full_isolation = false;  // refuse to load in a degraded sandbox
  bool allow_exec_memory = false;       // set only through AllowExecMemory(UnsafeAllowExecMemory)
  bool diagnose = false;                // TRAP instead of KILL: the worker names the syscall
  bool no_torch = false;                // stdlib-only worker (tests)
  bool pretend_no_seccomp = false;      // set only through PretendNoSeccomp(...)
  SandboxLimits limits;

  void PretendNoSeccomp(UnsafeTestPretendNoSeccomp) { pretend_no_seccomp = true; }
};

enum class OutcomeKind : uint8_t {
  kOk,             // a checked result arrived and the worker exited 0
  kWorkerError,    // the load raised inside the sandbox (error_type/error_message)
  kSeccompKill,    // SIGSYS: a syscall outside the policy
  kCpuLimit,       // SIGXCPU (RLIMIT_CPU)
  kMemoryLimit,    // MemoryError inside, or RLIMIT_FSIZE (SIGXFSZ)
  kTimeout,        // wall-clock deadline; killed by the parent
  kCrash,          // SIGSEGV, SIGBUS, SIGILL, SIGFPE, other signals
  kAbort,          // SIGABRT
  kKilled,         // SIGKILL not sent by us (CPU hard limit, OOM killer)
  kExited,         // exited without a result (status in exit_code)
  kProtocolError,  // the worker broke the protocol; killed by the parent
  kDegraded,       // require_full_isolation and a layer is missing
};
std::string_view OutcomeName(OutcomeKind kind);

struct LoadOutcome {
  OutcomeKind kind = OutcomeKind::kExited;
  std::string message;        // one line, names the layer ("seccomp: ...", "timeout after ...")
  int exit_code = -1;         // when the worker exited
  int signal = 0;             // when a signal ended it
  std::string output;         // the worker's stdout+stderr, capped at limits.max_output_bytes
  Value isolation;            // the READY report (dict of active layers), None if never ready
  Value value;                // kOk: the result; tensors refer to fds
  std::vector<UniqueFd> fds;  // kOk: checked sealed memfds
  std::vector<uint64_t> fd_sizes;  // their sizes
  std::string error_type;          // kWorkerError / kMemoryLimit / kDegraded
  std::string error_message;
};

// Runs one load ({"op", "package", "resource"}) of the archive in `archive_fd` (a sealed memfd)
// in a fresh worker: a Session (session.h) started, given one request and closed, all within
// one limits.wall_time_ms deadline; kOk only if the worker then exited 0. A Status error means
// the parent itself failed (spawn, socketpair); every way the worker can end is a LoadOutcome.
// For several requests on one worker (RPC: load once, call forward many times) use
// sandbox::Session; for fast repeated loads sandbox::ForkServer (fork_server.h).
Result<LoadOutcome> RunSandboxedLoad(const LaunchOptions& options, int archive_fd,
                                     const Value& request);

}  // namespace sealpkg::sandbox
