// The worker's isolation layers before lockdown, in the order of shared/reference/sandboxing.md:
// fd sanitising, setsid + PDEATHSIG, dropping root, namespaces, rlimits, Landlock. Each layer
// that the machine cannot provide is recorded in the IsolationReport (degraded mode) instead of
// failing; the caller decides whether a degraded sandbox may run (require_full).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "sandbox/ipc.h"

namespace sealpkg::sandbox {

struct IsolationReport {
  bool uid_dropped = false;  // started as root, now uid/gid 65534 (or not root to begin with)
  bool user_ns = false;
  bool net_ns = false;
  bool ipc_ns = false;
  bool uts_ns = false;
  bool mount_ns = false;
  int landlock_abi = 0;  // 0: unavailable
  bool landlock = false;
  bool rlimits = false;
  bool seccomp = false;
  std::vector<std::string> notes;  // why a layer is missing

  // Every layer active.
  bool full() const;
  Value ToValue() const;
  std::string ToText() const;
};

// Closes every fd above `keep_max`.
Status SanitizeFds(int keep_max);
// setsid (no controlling tty: TIOCSTI) and PDEATHSIG SIGKILL; fails if the parent is already gone.
Status DetachFromParent(pid_t expected_parent);
// As root: no supplementary groups, gid/uid 65534, dumpable again (for uid_map), and the
// parent-death signal re-armed (the credential change cleared it).
Status DropRoot(IsolationReport* report);
// user/net/ipc/uts/mount namespaces; maps the current uid to itself; working directory "/".
void EnterNamespaces(IsolationReport* report);
Status ApplyRlimits(const SandboxLimits& limits, IsolationReport* report);
// Read-only (and executable) access to `read_paths`, nothing writable, no TCP, scoped signals
// and abstract sockets where the ABI has them.
void ApplyLandlock(const std::vector<std::string>& read_paths, IsolationReport* report);

}  // namespace sealpkg::sandbox
