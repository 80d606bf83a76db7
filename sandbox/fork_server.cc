#include "sandbox/fork_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <string>

#include "sandbox/session_internal.h"

namespace sealpkg::sandbox {

struct ForkServer::Core {
  explicit Core(const LaunchOptions& options) : server(options) {}
  ~Core() { (void)server.Close(); }

  // One control exchange at a time: the server handles requests in order.
  Result<LoadOutcome> Control(const Value& request, std::span<const int> fds) {
    std::lock_guard<std::mutex> lock(mu);
    return server.Request(request, fds);
  }

  std::mutex mu;
  Session server;
};

namespace {

// The fork server's answer for `pid`: its raw wait status.
Result<int> AskStatus(const std::shared_ptr<ForkServer::Core>& core, pid_t pid) {
  SEALPKG_ASSIGN_OR_RETURN(
      LoadOutcome out,
      core->Control(Value::Dict({{"op", Value::Str("wait")}, {"pid", Value::Int(pid)}}), {}));
  const Value* status = out.value.Find("status");
  const Value* who = out.value.Find("pid");
  if (out.kind != OutcomeKind::kOk || status == nullptr || status->kind != Kind::kInt ||
      who == nullptr || who->kind != Kind::kInt || who->i != pid) {
    return IoError("sandbox.fork-server", "the fork server could not report the child's status: " +
                                              out.message + " " + out.error_message);
  }
  return static_cast<int>(status->i);
}

}  // namespace

ForkServer::ForkServer(LaunchOptions options, uint64_t recycle_after)
    : options_(std::move(options)), recycle_after_(recycle_after) {}

ForkServer::~ForkServer() {
  Close();
}

Result<LoadOutcome> ForkServer::Start() {
  auto core = std::make_shared<Core>(options_);
  SEALPKG_ASSIGN_OR_RETURN(
      LoadOutcome up,
      core->server.Spawn("forkserver", -1, DeadlineIn(options_.limits.wall_time_ms)));
  if (up.kind == OutcomeKind::kOk) {
    core_ = std::move(core);
    forks_since_start_ = 0;
  }
  return up;
}

bool ForkServer::alive() const {
  return core_ != nullptr && core_->server.alive();
}

pid_t ForkServer::pid() const {
  return core_ != nullptr ? core_->server.pid() : -1;
}

void ForkServer::Close() {
  core_.reset();  // the server exits once no session holds it any more
}

Result<LoadOutcome> ForkServer::StartSession(Session* session, int archive_fd) {
  const Deadline deadline = DeadlineIn(session->options().limits.wall_time_ms);
  if (recycle_after_ > 0 && forks_since_start_ >= recycle_after_ && core_ != nullptr) {
    // Re-exec for a fresh address-space layout; open sessions keep the old server.
    core_.reset();
    ++restarts_;
  }
  if (!alive()) {
    SEALPKG_ASSIGN_OR_RETURN(LoadOutcome up, Start());
    if (up.kind != OutcomeKind::kOk) return up;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return IoError("io.socketpair", std::string("socketpair: ") + std::strerror(errno));
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return IoError("io.pipe", std::string("pipe: ") + std::strerror(errno));
  }
  UniqueFd out_r(pipe_fds[0]), out_w(pipe_fds[1]);
  const int fds[] = {theirs.get(), archive_fd, out_w.get()};
  SEALPKG_ASSIGN_OR_RETURN(LoadOutcome forked,
                           core_->Control(Value::Dict({{"op", Value::Str("fork")}}), fds));
  theirs.reset();
  out_w.reset();
  if (forked.kind != OutcomeKind::kOk) return forked;  // refused (threads) or the server died
  const Value* pid = forked.value.Find("pid");
  if (pid == nullptr || pid->kind != Kind::kInt || pid->i <= 0) {
    return IoError("sandbox.fork-server", "the fork server sent no child pid");
  }
  ++forks_;
  ++forks_since_start_;
  // The server has not reaped this child (it waits for our "wait"), so the pid still names it.
  SEALPKG_ASSIGN_OR_RETURN(UniqueFd pidfd, OpenPidfd(static_cast<pid_t>(pid->i)));
  std::shared_ptr<Core> core = core_;
  return session->Attach(
      static_cast<pid_t>(pid->i), std::move(ours), std::move(out_r),
      [core](pid_t child) { return AskStatus(core, child); }, deadline, std::move(pidfd));
}

}  // namespace sealpkg::sandbox
