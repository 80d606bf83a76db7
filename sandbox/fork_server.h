// Fork-server mode: one pre-warmed sealpkg-worker ("forkserver") forks a fresh locked-down child
// per session, instead of exec + interpreter start-up + torch import each time.
//
// The server is exec'd once with every isolation layer except seccomp (uid, namespaces, rlimits,
// Landlock), imports and warms torch with one thread, and compiles the seccomp policy once to a
// BPF program. For each session the parent sends it a fresh SEQPACKET socket end, the sealed
// archive memfd and an output pipe; the server checks it is single-threaded, forks, and the
// child installs the pre-compiled filter (raw seccomp(2), TSYNC) and serves the session exactly
// as an exec'd worker does (session.h). The server replies with the child's pid; the parent
// opens a pidfd on it at once. The server reaps a child only when the parent asks for its raw
// wait status, so until then the pid cannot be recycled: the parent's timeout kill (through the
// pidfd) can only hit that child, and the exit is classified from the raw status exactly as in
// exec mode (the server never interprets what a child says). The server dies with the parent
// (PDEATHSIG) and its children with it. `recycle_after` > 0 re-execs the server after that many
// forks (fresh ASLR layout); the old server lives until its last session is closed.
//
//   sandbox::ForkServer server(options, /*recycle_after=*/64);
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::LoadOutcome up, server.Start());
//   sandbox::Session session(options);
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::LoadOutcome ready,
//                            server.StartSession(&session, archive.sealed_fd()));
//   ... session.Request(...) as in exec mode ...; session.Close();
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "core/status.h"
#include "sandbox/launcher.h"
#include "sandbox/session.h"

namespace sealpkg::sandbox {

class ForkServer {
 public:
  explicit ForkServer(LaunchOptions options, uint64_t recycle_after = 0);
  ~ForkServer();
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;

  // Execs the server and waits for READY (isolation = the server's layers; seccomp is applied in
  // each child). kOk when it is up.
  Result<LoadOutcome> Start();

  // Forks a child for `archive_fd` (a sealed memfd) and attaches it to `session` (not started),
  // waiting for the child's READY under options.limits.wall_time_ms. The session may outlive
  // this object: it keeps the server that forked it.
  Result<LoadOutcome> StartSession(Session* session, int archive_fd);

  // Shuts the server down (sessions still open keep their server until they close).
  void Close();

  bool alive() const;
  pid_t pid() const;
  uint64_t forks() const { return forks_; }
  uint64_t restarts() const { return restarts_; }

  struct Core;  // the server process and its control channel (shared with session reapers)

 private:
  LaunchOptions options_;
  uint64_t recycle_after_;
  uint64_t forks_ = 0;
  uint64_t restarts_ = 0;
  uint64_t forks_since_start_ = 0;
  std::shared_ptr<Core> core_;
};

}  // namespace sealpkg::sandbox
