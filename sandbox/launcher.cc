#include "sandbox/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <chrono>
#include <cstring>
#include <string>

#include "sandbox/channel.h"
#include "sandbox/seccomp_policy.h"

namespace sealpkg::sandbox {
namespace {

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

constexpr unsigned kCloseRangeCloexec = 1u << 2;  // CLOSE_RANGE_CLOEXEC (Linux 5.11)

std::string Errno() {
  return std::strerror(errno);
}

// Moves an fd above the range the worker's fd.bind targets use, keeping CLOEXEC: dup2(x, x)
// would be a no-op that leaves CLOEXEC set.
Result<UniqueFd> HighFd(int fd) {
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0) return IoError("io.fcntl", "F_DUPFD_CLOEXEC: " + Errno());
  return UniqueFd(high);
}

struct Worker {
  pid_t pid = -1;
  UniqueFd pidfd;
  bool reaped = false;
  int status = 0;
  bool killed_by_us = false;

  void Kill() {
    if (reaped || pid <= 0) return;
    killed_by_us = true;
    if (pidfd.valid()) {
      ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    } else {
      ::kill(pid, SIGKILL);
    }
  }
  void Reap() {
    if (reaped || pid <= 0) return;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
  ~Worker() {
    Kill();
    Reap();
  }
};

void Classify(const Worker& w, LoadOutcome* out) {
  const int st = w.status;
  if (WIFSIGNALED(st)) {
    out->signal = WTERMSIG(st);
    switch (out->signal) {
      case SIGSYS:
        out->kind = OutcomeKind::kSeccompKill;
        out->message = "seccomp: the worker made a syscall outside the policy (SIGSYS)";
        return;
      case SIGXCPU:
        out->kind = OutcomeKind::kCpuLimit;
        out->message = "CPU time limit (RLIMIT_CPU, SIGXCPU)";
        return;
      case SIGXFSZ:
        out->kind = OutcomeKind::kMemoryLimit;
        out->message = "file size limit (RLIMIT_FSIZE, SIGXFSZ)";
        return;
      case SIGABRT:
        out->kind = OutcomeKind::kAbort;
        out->message = "the worker aborted (SIGABRT)";
        return;
      case SIGKILL:
        out->kind = OutcomeKind::kKilled;
        out->message = "the worker was killed (SIGKILL: CPU hard limit or out of memory)";
        return;
      default:
        out->kind = OutcomeKind::kCrash;
        out->message = std::string("the worker crashed (") + sigabbrev_np(out->signal) + ")";
        return;
    }
  }
  out->exit_code = WEXITSTATUS(st);
  // Diagnose mode: the worker's SIGSYS handler reports the syscall and exits 159.
  const size_t at = out->output.find("seccomp: blocked syscall ");
  if (out->exit_code == 159 && at != std::string::npos) {
    out->kind = OutcomeKind::kSeccompKill;
    const int nr = std::atoi(out->output.c_str() + at + 25);
    out->message = "seccomp: blocked syscall " + SyscallName(nr) + " (diagnose mode)";
    return;
  }
  out->kind = OutcomeKind::kExited;
  out->message =
      "the worker exited with status " + std::to_string(out->exit_code) + " without a result";
}

void AppendOutput(int fd, std::string* output, uint64_t cap, bool* open) {
  char buf[16384];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) {
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) *open = false;
    return;
  }
  const uint64_t room = cap > output->size() ? cap - output->size() : 0;
  output->append(buf, std::min<uint64_t>(room, static_cast<uint64_t>(n)));
}

}  // namespace

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
  const SandboxLimits& limits = options.limits;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return IoError("io.socketpair", "socketpair: " + Errno());
  }
  UniqueFd parent_sock(sv[0]), child_sock_low(sv[1]);
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd child_sock, HighFd(child_sock_low.get()));
  child_sock_low.reset();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return IoError("io.pipe", "pipe: " + Errno());
  UniqueFd out_r(pipe_fds[0]), out_w_low(pipe_fds[1]);
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd out_w, HighFd(out_w_low.get()));
  out_w_low.reset();
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd archive, HighFd(archive_fd));
  UniqueFd devnull_low(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull_low.valid()) return IoError("io.open", "/dev/null: " + Errno());
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd devnull, HighFd(devnull_low.get()));
  devnull_low.reset();

  std::vector<std::string> args = {"serve",
                                   "--parent",
                                   std::to_string(::getpid()),
                                   "--threads",
                                   std::to_string(options.threads),
                                   "--cpu-seconds",
                                   std::to_string(limits.cpu_seconds),
                                   "--address-space",
                                   std::to_string(limits.address_space_bytes),
                                   "--file-size",
                                   std::to_string(limits.file_size_bytes),
                                   "--open-files",
                                   std::to_string(limits.open_files)};
  if (!options.python_path.empty()) args.insert(args.end(), {"--python-path", options.python_path});
  if (!options.preload.empty()) {
    std::string joined;
    for (const auto& m : options.preload) joined += (joined.empty() ? "" : ",") + m;
    args.insert(args.end(), {"--preload", joined});
  }
  if (options.allow_exec_memory) args.push_back("--unsafe-allow-exec-memory");
  if (options.require_full_isolation) args.push_back("--require-full-isolation");
  if (options.diagnose) args.push_back("--diagnose");
  if (options.no_torch) args.push_back("--no-torch");

  Worker w;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(limits.wall_time_ms);
  try {
    bp::environment env;  // empty: nothing of the parent's environment crosses
    bp::child c(options.worker_path, bp::args(args), env, bp::posix::fd.bind(0, devnull.get()),
                bp::posix::fd.bind(1, out_w.get()), bp::posix::fd.bind(2, out_w.get()),
                bp::posix::fd.bind(3, child_sock.get()), bp::posix::fd.bind(4, archive.get()),
                // security: fds the embedding process opened without CLOEXEC (Python, a test
                // harness) must not reach the worker. Marked, not closed: Boost's exec-error
                // pipe must live until execve. Async-signal-safe: one syscall.
                bp::extend::on_exec_setup(
                    [](auto&) { ::syscall(SYS_close_range, 5, ~0U, kCloseRangeCloexec); }));
    w.pid = c.id();
    c.detach();  // we reap it ourselves (Boost's terminate() can leave a zombie)
  } catch (const std::exception& e) {
    return IoError("sandbox.spawn", std::string("cannot start the worker: ") + e.what());
  }
  w.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, w.pid, 0)));
  child_sock.reset();
  out_w.reset();
  archive.reset();
  devnull.reset();

  LoadOutcome out;
  enum class Phase { kWaitReady, kWaitResult, kWaitExit } phase = Phase::kWaitReady;
  bool output_open = true, sock_open = true, exited = false, timed_out = false;
  bool have_result = false;
  std::string protocol_error;

  while (!exited && protocol_error.empty()) {
    const auto now = Clock::now();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    const int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
    pollfd pfds[3] = {{w.pidfd.get(), POLLIN, 0},
                      {sock_open ? parent_sock.get() : -1, POLLIN, 0},
                      {output_open ? out_r.get() : -1, POLLIN, 0}};
    const int n = ::poll(pfds, 3, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("io.poll", "poll: " + Errno());
    if (pfds[2].revents != 0)
      AppendOutput(out_r.get(), &out.output, limits.max_output_bytes, &output_open);
    if (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      // A worker that sends a header and stalls must not block us past the deadline.
      const auto left =
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      timeval tv{static_cast<time_t>(left.count() / 1000000),
                 static_cast<suseconds_t>(std::max<int64_t>(left.count() % 1000000, 1000))};
      ::setsockopt(parent_sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      auto got = ReceiveMessage(parent_sock.get(), limits);
      if (!got.ok()) {
        if (got.status().reason() == "io.peer-closed") {
          sock_open = false;
        } else {
          protocol_error = got.status().ToString();
        }
      } else {
        auto msg = DecodeMessage(got->bytes, static_cast<uint32_t>(got->fds.size()), limits);
        if (!msg.ok()) {
          protocol_error = msg.status().ToString();
        } else if (phase == Phase::kWaitReady) {
          if (msg->type == MessageType::kReady && got->fds.empty()) {
            out.isolation = std::move(msg->value);
            phase = Phase::kWaitResult;
            Status s = SendMessage(parent_sock.get(), MessageType::kRequest, request, {}, limits);
            if (!s.ok()) protocol_error = s.ToString();
          } else if (msg->type == MessageType::kError && got->fds.empty()) {
            const Value* t = msg->value.Find("type");
            const Value* m = msg->value.Find("message");
            out.error_type = t != nullptr ? t->s : "";
            out.error_message = m != nullptr ? m->s : "";
            phase = Phase::kWaitExit;
            if (out.error_type == "SandboxDegraded") out.kind = OutcomeKind::kDegraded;
            have_result = true;
          } else {
            protocol_error = "ipc: expected READY first";
          }
        } else if (phase == Phase::kWaitResult) {
          if (msg->type == MessageType::kResult) {
            std::vector<uint64_t> sizes;
            for (const UniqueFd& fd : got->fds) {
              auto size = CheckReceivedFd(fd.get());
              if (!size.ok()) {
                protocol_error = size.status().ToString();
                break;
              }
              sizes.push_back(*size);
            }
            if (protocol_error.empty()) {
              Status fit = CheckTensorsFit(msg->value, sizes, limits);
              if (!fit.ok()) protocol_error = fit.ToString();
            }
            if (protocol_error.empty()) {
              out.value = std::move(msg->value);
              out.fds = std::move(got->fds);
              out.fd_sizes = std::move(sizes);
              have_result = true;
              phase = Phase::kWaitExit;
            }
          } else if (msg->type == MessageType::kError && got->fds.empty()) {
            const Value* t = msg->value.Find("type");
            const Value* m = msg->value.Find("message");
            if (t == nullptr || m == nullptr || t->kind != Kind::kStr || m->kind != Kind::kStr) {
              protocol_error = "ipc: malformed error message";
            } else {
              out.error_type = t->s;
              out.error_message = m->s;
              have_result = true;
              phase = Phase::kWaitExit;
            }
          } else {
            protocol_error = "ipc: unexpected message type or fds";
          }
        } else {
          protocol_error = "ipc: message after the result";
        }
      }
    }
    if (pfds[0].revents & POLLIN) {
      // Drain what the worker sent before exiting, then reap.
      pollfd s{sock_open ? parent_sock.get() : -1, POLLIN, 0};
      if (sock_open && ::poll(&s, 1, 0) == 1 && (s.revents & POLLIN)) continue;
      exited = true;
    }
  }
  if (timed_out || !protocol_error.empty()) w.Kill();
  w.Reap();
  // The pipe's write ends are closed now; read what is left, up to the cap.
  for (int i = 0; output_open && i < 1024; ++i) {
    AppendOutput(out_r.get(), &out.output, limits.max_output_bytes, &output_open);
  }

  if (timed_out) {
    out.kind = OutcomeKind::kTimeout;
    out.message = "timeout after " + std::to_string(limits.wall_time_ms) + " ms wall time";
    out.value = Value::None();
    out.fds.clear();
    return out;
  }
  if (!protocol_error.empty()) {
    out.kind = OutcomeKind::kProtocolError;
    out.message = "protocol error: " + protocol_error;
    out.value = Value::None();
    out.fds.clear();
    return out;
  }
  const bool clean_exit = WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0;
  if (have_result && (clean_exit || out.kind == OutcomeKind::kDegraded)) {
    if (out.kind == OutcomeKind::kDegraded) {
      out.message = "sandbox degraded and full isolation required:\n" + out.error_message;
      out.exit_code = WIFEXITED(w.status) ? WEXITSTATUS(w.status) : -1;
    } else if (!out.error_type.empty()) {
      out.kind =
          out.error_type == "MemoryError" ? OutcomeKind::kMemoryLimit : OutcomeKind::kWorkerError;
      out.message =
          (out.kind == OutcomeKind::kMemoryLimit ? "memory limit: " : "the load raised ") +
          out.error_type;
      out.exit_code = 0;
    } else {
      out.kind = OutcomeKind::kOk;
      out.message = "ok";
      out.exit_code = 0;
    }
    return out;
  }
  Classify(w, &out);
  out.value = Value::None();
  out.fds.clear();
  return out;
}

}  // namespace sealpkg::sandbox
