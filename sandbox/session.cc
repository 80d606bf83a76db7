#include "sandbox/session.h"

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
#include <cstring>
#include <string>
#include <vector>

#include "sandbox/channel.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/session_internal.h"

namespace sealpkg::sandbox {
namespace {

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

constexpr unsigned kCloseRangeCloexec = 1u << 2;  // CLOSE_RANGE_CLOEXEC (Linux 5.11)

std::string Errno() {
  return std::strerror(errno);
}

int MillisLeft(Deadline deadline) {
  const auto now = Clock::now();
  if (now >= deadline) return 0;
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
}

Result<int> WaitPid(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return IoError("io.waitpid", "waitpid: " + Errno());
  }
  return status;
}

}  // namespace

Deadline DeadlineIn(uint64_t ms) {
  return Clock::now() + std::chrono::milliseconds(ms);
}

Result<UniqueFd> HighFd(int fd) {
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0) return IoError("io.fcntl", "F_DUPFD_CLOEXEC: " + Errno());
  return UniqueFd(high);
}

Result<UniqueFd> OpenPidfd(pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return IoError("io.pidfd", "pidfd_open: " + Errno());
  return UniqueFd(fd);
}

void Classify(int st, LoadOutcome* out) {
  if (WIFSIGNALED(st)) {
    out->signal = WTERMSIG(st);
    switch (out->signal) {
      case SIGSYS: {
        out->kind = OutcomeKind::kSeccompKill;
        out->message = "seccomp: the worker made a syscall outside the policy (SIGSYS)";
        // Diagnose mode: the worker's SIGSYS handler wrote the number before dying by SIGSYS.
        // Only a hint for the message: the verdict is the wait status above.
        const size_t at = out->output.rfind("seccomp: blocked syscall ");
        if (at != std::string::npos) {
          const int nr = std::atoi(out->output.c_str() + at + 25);
          out->message = "seccomp: blocked syscall " + SyscallName(nr) + " (" + std::to_string(nr) +
                         ", diagnose mode)";
        }
        return;
      }
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

Result<Spawned> SpawnWorker(const LaunchOptions& options, const std::vector<std::string>& args,
                            int fd4) {
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
  UniqueFd devnull_low(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull_low.valid()) return IoError("io.open", "/dev/null: " + Errno());
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd devnull, HighFd(devnull_low.get()));
  devnull_low.reset();
  // Without an archive (fork server), fd 4 is /dev/null: the worker's fd layout stays fixed.
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd four, HighFd(fd4 >= 0 ? fd4 : devnull.get()));

  Spawned s;
  try {
    bp::environment env;  // empty: nothing of the parent's environment crosses
    bp::child c(options.worker_path, bp::args(args), env, bp::posix::fd.bind(0, devnull.get()),
                bp::posix::fd.bind(1, out_w.get()), bp::posix::fd.bind(2, out_w.get()),
                bp::posix::fd.bind(3, child_sock.get()), bp::posix::fd.bind(4, four.get()),
                // security: fds the embedding process opened without CLOEXEC (Python, a test
                // harness) must not reach the worker. Marked, not closed: Boost's exec-error
                // pipe must live until execve. Async-signal-safe: one syscall.
                bp::extend::on_exec_setup(
                    [](auto&) { ::syscall(SYS_close_range, 5, ~0U, kCloseRangeCloexec); }));
    s.pid = c.id();
    c.detach();  // we reap it ourselves (Boost's terminate() can leave a zombie)
  } catch (const std::exception& e) {
    return IoError("sandbox.spawn", std::string("cannot start the worker: ") + e.what());
  }
  // Our own child: it stays a zombie until we reap it, so this pidfd names it for sure.
  auto pidfd = OpenPidfd(s.pid);
  if (!pidfd.ok()) {
    ::kill(s.pid, SIGKILL);
    (void)WaitPid(s.pid);
    return pidfd.status();
  }
  s.pidfd = std::move(pidfd).value();
  s.sock = std::move(parent_sock);
  s.output = std::move(out_r);
  return s;
}

std::vector<std::string> WorkerArgs(const LaunchOptions& options, const std::string& mode) {
  const SandboxLimits& limits = options.limits;
  std::vector<std::string> args = {mode,
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
  if (options.pretend_no_seccomp) args.push_back("--unsafe-test-pretend-no-seccomp");
  return args;
}

Session::Session(LaunchOptions options) : options_(std::move(options)) {}

Session::~Session() {
  if (started_ && !dead_) {
    LoadOutcome ignored;
    Finish(/*kill=*/true, &ignored);
  }
}

Result<LoadOutcome> Session::Start(int archive_fd) {
  return Start(archive_fd, DeadlineIn(options_.limits.wall_time_ms));
}

Result<LoadOutcome> Session::Start(int archive_fd, Deadline deadline) {
  return Spawn("serve", archive_fd, deadline);
}

Result<LoadOutcome> Session::Spawn(const std::string& mode, int fd4, Deadline deadline) {
  if (started_) return InternalError("sandbox.session", "session already started");
  SEALPKG_ASSIGN_OR_RETURN(Spawned s, SpawnWorker(options_, WorkerArgs(options_, mode), fd4));
  return Attach(
      s.pid, std::move(s.sock), std::move(s.output), [](pid_t pid) { return WaitPid(pid); },
      deadline, std::move(s.pidfd));
}

Result<LoadOutcome> Session::Attach(pid_t pid, UniqueFd sock, UniqueFd output, Reaper reaper,
                                    Deadline deadline, UniqueFd pidfd) {
  pid_ = pid;
  pidfd_ = std::move(pidfd);
  sock_ = std::move(sock);
  output_ = std::move(output);
  reaper_ = std::move(reaper);
  started_ = true;
  sock_open_ = true;
  output_open_ = output_.valid();
  return WaitReady(deadline);
}

void Session::DrainOutput() {
  for (int i = 0; output_open_ && i < 1024; ++i) {
    pollfd p{output_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) break;
    AppendOutput(output_.get(), &output_text_, options_.limits.max_output_bytes, &output_open_);
  }
}

Result<Session::Wait> Session::WaitMessage(Deadline deadline, Received* got, Message* msg,
                                           std::string* error) {
  const SandboxLimits& limits = options_.limits;
  for (;;) {
    const int wait_ms = MillisLeft(deadline);
    if (wait_ms == 0) return Wait::kTimeout;
    pollfd pfds[3] = {{pidfd_.get(), POLLIN, 0},
                      {sock_open_ ? sock_.get() : -1, POLLIN, 0},
                      {output_open_ ? output_.get() : -1, POLLIN, 0}};
    const int n = ::poll(pfds, 3, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("io.poll", "poll: " + Errno());
    if (pfds[2].revents != 0)
      AppendOutput(output_.get(), &output_text_, limits.max_output_bytes, &output_open_);
    if (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      // A worker that sends a header and stalls must not block us past the deadline.
      const auto left =
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      timeval tv{static_cast<time_t>(std::max<int64_t>(left.count(), 0) / 1000000),
                 static_cast<suseconds_t>(std::max<int64_t>(left.count() % 1000000, 1000))};
      ::setsockopt(sock_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      auto r = ReceiveMessage(sock_.get(), limits);
      if (!r.ok()) {
        if (r.status().reason() == "io.peer-closed") {
          sock_open_ = false;
          continue;
        }
        *error = r.status().ToString();
        return Wait::kProtocolError;
      }
      auto m = DecodeMessage(r->bytes, static_cast<uint32_t>(r->fds.size()), limits);
      if (!m.ok()) {
        *error = m.status().ToString();
        return Wait::kProtocolError;
      }
      *got = std::move(r).value();
      *msg = std::move(m).value();
      return Wait::kMessage;
    }
    if (pfds[0].revents & POLLIN) {
      // Read what the worker sent before it died first.
      pollfd s{sock_open_ ? sock_.get() : -1, POLLIN, 0};
      if (sock_open_ && ::poll(&s, 1, 0) == 1 && (s.revents & POLLIN)) continue;
      return Wait::kDied;
    }
  }
}

void Session::Finish(bool kill, LoadOutcome* out) {
  if (kill && pidfd_.valid()) {
    // pidfd: the pid cannot have been recycled (our zombie, or not yet reaped by the server).
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  }
  // Wait for the exit itself (the pidfd turns readable), then collect the status.
  pollfd p{pidfd_.get(), POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  Result<int> status = reaper_ ? reaper_(pid_) : IoError("sandbox.reap", "no reaper");
  DrainOutput();
  out->output = output_text_;
  if (status.ok()) {
    if (out->kind == OutcomeKind::kExited && out->message.empty()) Classify(*status, out);
    if (out->kind == OutcomeKind::kTimeout || out->kind == OutcomeKind::kProtocolError) {
      // The verdict was ours (we killed it); keep the raw status for the record.
      if (WIFSIGNALED(*status)) out->signal = WTERMSIG(*status);
    }
  } else if (out->message.empty()) {
    out->kind = OutcomeKind::kKilled;
    out->message = "the worker's exit status is unknown: " + status.status().ToString();
  }
  out->isolation = isolation_;
  out->value = Value::None();
  out->fds.clear();
  out->fd_sizes.clear();
  dead_ = true;
  sock_.reset();
  pidfd_.reset();
  output_.reset();
  death_.kind = out->kind;
  death_.message = out->message;
  death_.exit_code = out->exit_code;
  death_.signal = out->signal;
  death_.output = out->output;
  death_.error_type = out->error_type;
  death_.error_message = out->error_message;
}

LoadOutcome Session::Dead() const {
  LoadOutcome out;
  out.kind = death_.kind;
  out.message = death_.message;
  out.exit_code = death_.exit_code;
  out.signal = death_.signal;
  out.output = death_.output;
  out.isolation = isolation_;
  out.error_type = death_.error_type;
  out.error_message = death_.error_message;
  return out;
}

Result<LoadOutcome> Session::WaitReady(Deadline deadline) {
  LoadOutcome out;
  Received got;
  Message msg;
  std::string error;
  SEALPKG_ASSIGN_OR_RETURN(Wait w, WaitMessage(deadline, &got, &msg, &error));
  switch (w) {
    case Wait::kTimeout:
      out.kind = OutcomeKind::kTimeout;
      out.message = "timeout after " + std::to_string(options_.limits.wall_time_ms) +
                    " ms wall time (waiting for READY)";
      Finish(true, &out);
      return out;
    case Wait::kProtocolError:
      out.kind = OutcomeKind::kProtocolError;
      out.message = "protocol error: " + error;
      Finish(true, &out);
      return out;
    case Wait::kDied:
      Finish(false, &out);
      return out;
    case Wait::kMessage:
      break;
  }
  if (msg.type == MessageType::kReady && got.fds.empty()) {
    isolation_ = msg.value;
    out.kind = OutcomeKind::kOk;
    out.message = "ready";
    out.isolation = isolation_;
    return out;
  }
  if (msg.type == MessageType::kError && got.fds.empty()) {
    // Refused before READY (degraded sandbox with require_full_isolation): it exits next.
    const Value* t = msg.value.Find("type");
    const Value* m = msg.value.Find("message");
    out.error_type = t != nullptr && t->kind == Kind::kStr ? t->s : "";
    out.error_message = m != nullptr && m->kind == Kind::kStr ? m->s : "";
    if (out.error_type == "SandboxDegraded") {
      out.kind = OutcomeKind::kDegraded;
      out.message = "sandbox degraded and full isolation required:\n" + out.error_message;
      auto next = WaitMessage(deadline, &got, &msg, &error);
      const bool exited = next.ok() && *next == Wait::kDied;
      LoadOutcome status;
      Finish(!exited, &status);
      out.exit_code = status.exit_code;
      out.output = status.output;
      return out;
    }
  }
  out.kind = OutcomeKind::kProtocolError;
  out.message = "protocol error: ipc: expected READY first";
  Finish(true, &out);
  return out;
}

Result<LoadOutcome> Session::Request(const Value& request, std::span<const int> fds) {
  return Request(request, fds, DeadlineIn(options_.limits.wall_time_ms));
}

Result<LoadOutcome> Session::Request(const Value& request, std::span<const int> fds,
                                     Deadline deadline) {
  if (!started_) return InternalError("sandbox.session", "session not started");
  if (closed_) return IoError("sandbox.session-closed", "the session was closed");
  if (dead_) return Dead();
  const SandboxLimits& limits = options_.limits;
  LoadOutcome out;
  const Status sent = SendMessage(sock_.get(), MessageType::kRequest, request, fds, limits);
  if (!sent.ok()) {
    // EPIPE/ECONNRESET: the worker is gone; classify its death. A request we cannot encode is
    // our caller's error (the worker is fine).
    if (sent.code() == ErrorCode::kLimitExceeded || sent.code() == ErrorCode::kMalformed) {
      return sent;
    }
  } else {
    Received got;
    Message msg;
    std::string error;
    SEALPKG_ASSIGN_OR_RETURN(Wait w, WaitMessage(deadline, &got, &msg, &error));
    if (w == Wait::kTimeout) {
      out.kind = OutcomeKind::kTimeout;
      out.message = "timeout after " + std::to_string(limits.wall_time_ms) + " ms wall time";
      Finish(true, &out);
      return out;
    }
    if (w == Wait::kProtocolError) {
      out.kind = OutcomeKind::kProtocolError;
      out.message = "protocol error: " + error;
      Finish(true, &out);
      return out;
    }
    if (w == Wait::kMessage) {
      out.isolation = isolation_;
      if (msg.type == MessageType::kResult) {
        std::vector<uint64_t> sizes;
        for (const UniqueFd& fd : got.fds) {
          auto size = CheckReceivedFd(fd.get());
          if (!size.ok()) {
            error = size.status().ToString();
            break;
          }
          sizes.push_back(*size);
        }
        if (error.empty()) {
          const Status fit = CheckTensorsFit(msg.value, sizes, limits);
          if (!fit.ok()) error = fit.ToString();
        }
        if (error.empty()) {
          out.kind = OutcomeKind::kOk;
          out.message = "ok";
          out.exit_code = 0;
          out.value = std::move(msg.value);
          out.fds = std::move(got.fds);
          out.fd_sizes = std::move(sizes);
          return out;
        }
      } else if (msg.type == MessageType::kError && got.fds.empty()) {
        const Value* t = msg.value.Find("type");
        const Value* m = msg.value.Find("message");
        if (t != nullptr && m != nullptr && t->kind == Kind::kStr && m->kind == Kind::kStr) {
          const Value* op = request.Find("op");
          const bool call = op != nullptr && op->kind == Kind::kStr && op->s == "call";
          out.error_type = t->s;
          out.error_message = m->s;
          out.kind = t->s == "MemoryError" ? OutcomeKind::kMemoryLimit : OutcomeKind::kWorkerError;
          out.message = out.kind == OutcomeKind::kMemoryLimit
                            ? "memory limit: " + t->s
                            : std::string(call ? "the call raised " : "the load raised ") + t->s;
          out.exit_code = 0;
          return out;
        }
        error = "ipc: malformed error message";
      } else {
        error = "ipc: unexpected message type or fds";
      }
      out.kind = OutcomeKind::kProtocolError;
      out.message = "protocol error: " + error;
      Finish(true, &out);
      return out;
    }
  }
  // The worker died (before or while handling the request).
  const Wait w = sent.ok() ? Wait::kDied : [&] {
    Received got;
    Message msg;
    std::string error;
    for (;;) {
      auto r = WaitMessage(deadline, &got, &msg, &error);
      if (!r.ok() || *r != Wait::kMessage) return r.ok() ? *r : Wait::kDied;
    }
  }();
  if (w == Wait::kTimeout) {
    out.kind = OutcomeKind::kTimeout;
    out.message = "timeout after " + std::to_string(limits.wall_time_ms) + " ms wall time";
    Finish(true, &out);
    return out;
  }
  Finish(w != Wait::kDied, &out);
  return out;
}

LoadOutcome Session::Close() {
  return Close(DeadlineIn(options_.limits.wall_time_ms));
}

LoadOutcome Session::Close(Deadline deadline) {
  if (!started_) {
    LoadOutcome out;
    out.kind = OutcomeKind::kOk;
    out.message = "never started";
    return out;
  }
  if (dead_) return Dead();
  const Value close = Value::Dict({{"op", Value::Str("close")}});
  (void)SendMessage(sock_.get(), MessageType::kRequest, close, {}, options_.limits);
  ::shutdown(sock_.get(), SHUT_WR);
  LoadOutcome out;
  Received got;
  Message msg;
  std::string error;
  for (;;) {
    auto w = WaitMessage(deadline, &got, &msg, &error);
    if (!w.ok() || *w == Wait::kDied) break;
    if (*w == Wait::kTimeout) {
      out.kind = OutcomeKind::kTimeout;
      out.message = "timeout after " + std::to_string(options_.limits.wall_time_ms) +
                    " ms wall time (closing)";
      break;
    }
    if (*w == Wait::kProtocolError || *w == Wait::kMessage) {
      out.kind = OutcomeKind::kProtocolError;
      out.message = "protocol error: " + (error.empty() ? "ipc: message after close" : error);
      break;
    }
  }
  const bool kill = !out.message.empty();
  Finish(kill, &out);
  closed_ = true;
  if (!kill && out.kind == OutcomeKind::kExited && out.exit_code == 0) {
    out.kind = OutcomeKind::kOk;
    out.message = "ok";
    death_.kind = out.kind;
    death_.message = out.message;
  }
  return out;
}

}  // namespace sealpkg::sandbox
