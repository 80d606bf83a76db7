#include "sandbox/isolation.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sealpkg::sandbox {
namespace {

std::string Errno() {
  return std::strerror(errno);
}

// Debian 12's linux-libc-dev (6.1) knows Landlock ABI 2; later rights are defined here.
constexpr uint64_t kFsTruncate = 1ull << 14;  // ABI 3
constexpr uint64_t kFsIoctlDev = 1ull << 15;  // ABI 5
constexpr uint64_t kNetBindTcp = 1ull << 0;   // ABI 4
constexpr uint64_t kNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeAbstractUnix = 1ull << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ull << 1;

struct RulesetAttr {  // landlock_ruleset_attr as of ABI 6
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

bool WriteFile(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

bool IsolationReport::full() const {
  return uid_dropped && user_ns && net_ns && ipc_ns && uts_ns && mount_ns && landlock && rlimits &&
         seccomp;
}

Value IsolationReport::ToValue() const {
  std::vector<Value> n;
  for (const auto& s : notes) n.push_back(Value::Str(s));
  return Value::Dict({{"uid_dropped", Value::Bool(uid_dropped)},
                      {"user_ns", Value::Bool(user_ns)},
                      {"net_ns", Value::Bool(net_ns)},
                      {"ipc_ns", Value::Bool(ipc_ns)},
                      {"uts_ns", Value::Bool(uts_ns)},
                      {"mount_ns", Value::Bool(mount_ns)},
                      {"landlock", Value::Bool(landlock)},
                      {"landlock_abi", Value::Int(landlock_abi)},
                      {"rlimits", Value::Bool(rlimits)},
                      {"seccomp", Value::Bool(seccomp)},
                      {"notes", Value::List(std::move(n))}});
}

std::string IsolationReport::ToText() const {
  auto on = [](bool b) { return b ? "active" : "MISSING"; };
  std::string out;
  out += std::string("uid dropped:      ") + on(uid_dropped) + "\n";
  out += std::string("user namespace:   ") + on(user_ns) + "\n";
  out += std::string("net namespace:    ") + on(net_ns) + "\n";
  out += std::string("ipc namespace:    ") + on(ipc_ns) + "\n";
  out += std::string("uts namespace:    ") + on(uts_ns) + "\n";
  out += std::string("mount namespace:  ") + on(mount_ns) + "\n";
  out += std::string("landlock:         ") + on(landlock) + " (ABI " +
         std::to_string(landlock_abi) + ")\n";
  out += std::string("rlimits:          ") + on(rlimits) + "\n";
  out += std::string("seccomp:          ") + on(seccomp) + "\n";
  for (const auto& n : notes) out += "note: " + n + "\n";
  out += full() ? "mode: full\n" : "mode: DEGRADED\n";
  return out;
}

Status SanitizeFds(int keep_max) {
  if (::syscall(SYS_close_range, keep_max + 1, ~0U, 0) != 0) {
    return IoError("sandbox.close-range", "close_range: " + Errno());
  }
  return OkStatus();
}

Status DetachFromParent(pid_t expected_parent) {
  if (::setsid() < 0) return IoError("sandbox.setsid", "setsid: " + Errno());
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    return IoError("sandbox.pdeathsig", "PR_SET_PDEATHSIG: " + Errno());
  }
  // The parent may have died between fork and prctl: then nobody would kill us.
  if (expected_parent != 0 && ::getppid() != expected_parent) {
    return IoError("sandbox.parent-gone", "the parent exited during start-up");
  }
  return OkStatus();
}

Status DropRoot(IsolationReport* report) {
  if (::geteuid() != 0) {
    report->uid_dropped = true;
    return OkStatus();
  }
  constexpr uid_t kNobody = 65534;
  const pid_t parent = ::getppid();
  if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
      ::setresuid(kNobody, kNobody, kNobody) != 0) {
    return IoError("sandbox.drop-root", "cannot switch to uid 65534: " + Errno());
  }
  // security: changing the euid/egid clears the parent-death signal (prctl(2)); without
  // re-arming it, a worker started by a root parent outlives that parent. If the parent died
  // in between, nobody would kill us.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    return IoError("sandbox.pdeathsig", "PR_SET_PDEATHSIG after dropping root: " + Errno());
  }
  if (::getppid() != parent) {
    return IoError("sandbox.parent-gone", "the parent exited while the worker dropped root");
  }
  // setuid cleared "dumpable", which locks /proc/self/uid_map; the user namespace needs it.
  ::prctl(PR_SET_DUMPABLE, 1);
  report->uid_dropped = ::getuid() == kNobody && ::geteuid() == kNobody;
  return OkStatus();
}

void EnterNamespaces(IsolationReport* report) {
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER) == 0) {
    report->user_ns = true;
    const bool mapped =
        WriteFile("/proc/self/setgroups", "deny") &&
        WriteFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n") &&
        WriteFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n");
    if (!mapped) report->notes.push_back("user namespace: uid/gid map not written: " + Errno());
  } else {
    report->notes.push_back("user namespace unavailable: " + Errno());
  }
  struct {
    int flag;
    bool* active;
    const char* name;
  } const spaces[] = {{CLONE_NEWNET, &report->net_ns, "net"},
                      {CLONE_NEWIPC, &report->ipc_ns, "ipc"},
                      {CLONE_NEWUTS, &report->uts_ns, "uts"},
                      {CLONE_NEWNS, &report->mount_ns, "mount"}};
  for (const auto& s : spaces) {
    if (::unshare(s.flag) == 0) {
      *s.active = true;
    } else {
      report->notes.push_back(std::string(s.name) + " namespace unavailable: " + Errno());
    }
  }
  if (report->uts_ns) {
    static const char kHost[] = "sealpkg-sandbox";
    if (::sethostname(kHost, sizeof kHost - 1) != 0) {
      report->notes.push_back("sethostname: " + Errno());
    }
  }
  if (report->mount_ns) {
    // Nothing we do to mounts may propagate back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      report->notes.push_back("mount: cannot make / private: " + Errno());
    }
  }
  // security: the inherited working directory is the caller's (possibly the untrusted
  // download's folder), and an embedded interpreter may search it for modules ('' on
  // sys.path) before lockdown. "/" is not readable under Landlock.
  if (::chdir("/") != 0) report->notes.push_back("chdir /: " + Errno());
}

Status ApplyRlimits(const SandboxLimits& limits, IsolationReport* report) {
  struct {
    int resource;
    rlim_t soft;
    rlim_t hard;
    const char* name;
  } const table[] = {
      {RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1, "CPU"},
      {RLIMIT_AS, limits.address_space_bytes, limits.address_space_bytes, "AS"},
      {RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes, "FSIZE"},
      {RLIMIT_NOFILE, limits.open_files, limits.open_files, "NOFILE"},
      {RLIMIT_CORE, 0, 0, "CORE"},
      {RLIMIT_MEMLOCK, 0, 0, "MEMLOCK"},
      // Not enforced for root, and process creation is stopped by seccomp anyway.
      {RLIMIT_NPROC, 256, 256, "NPROC"},
  };
  for (const auto& t : table) {
    const rlimit r{t.soft, t.hard};
    if (::setrlimit(t.resource, &r) != 0) {
      return IoError("sandbox.rlimit", std::string("setrlimit ") + t.name + ": " + Errno());
    }
  }
  report->rlimits = true;
  return OkStatus();
}

void ApplyLandlock(const std::vector<std::string>& read_paths, IsolationReport* report) {
  const long abi =
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi <= 0) {
    report->notes.push_back("landlock unavailable: " + Errno());
    return;
  }
  report->landlock_abi = static_cast<int>(abi);
  RulesetAttr attr{};
  attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // every ABI 1 right
  if (abi >= 2) attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) attr.handled_access_fs |= kFsTruncate;
  if (abi >= 5) attr.handled_access_fs |= kFsIoctlDev;
  size_t attr_size = sizeof(uint64_t);
  if (abi >= 4) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;  // no rule: no TCP at all
    attr_size = 2 * sizeof(uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnix | kScopeSignal;
    attr_size = sizeof(RulesetAttr);
  }
  const int ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0));
  if (ruleset < 0) {
    report->notes.push_back("landlock_create_ruleset: " + Errno());
    return;
  }
  const uint64_t read_exec =
      LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  for (const std::string& path : read_paths) {
    const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // e.g. /lib64 on a merged-/usr system without it
    struct stat st {};
    ::fstat(fd, &st);
    landlock_path_beneath_attr rule{};
    rule.allowed_access =
        S_ISDIR(st.st_mode) ? read_exec : (read_exec & ~LANDLOCK_ACCESS_FS_READ_DIR);
    rule.parent_fd = fd;
    if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
      report->notes.push_back("landlock rule for " + path + ": " + Errno());
    }
    ::close(fd);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    report->notes.push_back("landlock_restrict_self: " + Errno());
  } else {
    report->landlock = true;
  }
  ::close(ruleset);
}

}  // namespace sealpkg::sandbox
