// Internals shared by the launcher, sessions and the fork server (not a public header): spawning
// sealpkg-worker with the fixed fd layout, pidfds, and classifying a raw wait status.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "sandbox/launcher.h"
#include "sandbox/tensor_transport.h"

namespace sealpkg::sandbox {

struct Spawned {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd sock;    // our end of the SEQPACKET socketpair (the worker's fd 3)
  UniqueFd output;  // read end of the worker's stdout+stderr pipe
};

// Execs options.worker_path with `args`: /dev/null on fd 0, one pipe on fds 1-2, the socket on
// fd 3, `fd4` (or /dev/null when -1) on fd 4, an empty environment, nothing else.
Result<Spawned> SpawnWorker(const LaunchOptions& options, const std::vector<std::string>& args,
                            int fd4);
// The worker's command line for `mode` ("serve", "forkserver") from the options.
std::vector<std::string> WorkerArgs(const LaunchOptions& options, const std::string& mode);
// A CLOEXEC duplicate of `fd` numbered 10 or above.
Result<UniqueFd> HighFd(int fd);
Result<UniqueFd> OpenPidfd(pid_t pid);
// Fills kind/message/signal/exit_code from a raw wait status (out->output may hold the
// diagnose-mode hint naming the syscall).
void Classify(int wait_status, LoadOutcome* out);
// Reads once from `fd` into *output up to `cap` bytes (the rest is dropped); *open = false at EOF.
void AppendOutput(int fd, std::string* output, uint64_t cap, bool* open);

}  // namespace sealpkg::sandbox
