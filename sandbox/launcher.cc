#include "sandbox/launcher.h"

#include <string>

#include "sandbox/session.h"

namespace sealpkg::sandbox {

std::string_view OutcomeName(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kOk:
      return "ok";
    case OutcomeKind::kWorkerError:
      return "worker-error";
    case OutcomeKind::kSeccompKill:
      return "seccomp-kill";
    case OutcomeKind::kCpuLimit:
      return "cpu-limit";
    case OutcomeKind::kMemoryLimit:
      return "memory-limit";
    case OutcomeKind::kTimeout:
      return "timeout";
    case OutcomeKind::kCrash:
      return "crash";
    case OutcomeKind::kAbort:
      return "abort";
    case OutcomeKind::kKilled:
      return "killed";
    case OutcomeKind::kExited:
      return "exited";
    case OutcomeKind::kProtocolError:
      return "protocol-error";
    case OutcomeKind::kDegraded:
      return "degraded";
  }
  return "unknown";
}

Result<LoadOutcome> RunSandboxedLoad(const LaunchOptions& options, int archive_fd,
                                     const Value& request) {
  const Deadline deadline = DeadlineIn(options.limits.wall_time_ms);
  Session session(options);
  SEALPKG_ASSIGN_OR_RETURN(LoadOutcome ready, session.Start(archive_fd, deadline));
  if (ready.kind != OutcomeKind::kOk) return ready;
  SEALPKG_ASSIGN_OR_RETURN(LoadOutcome out, session.Request(request, {}, deadline));
  if (!session.alive()) return out;
  LoadOutcome closed = session.Close(deadline);
  if (closed.kind != OutcomeKind::kOk) return closed;  // a result, then a bad exit: the exit wins
  out.output = std::move(closed.output);
  return out;
}

}  // namespace sealpkg::sandbox
