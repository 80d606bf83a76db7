// A sandbox session: one locked-down worker that serves several requests on the same socket
// until Close() or EOF, e.g. load a model once and call its forward() many times.
//
// Start() execs sealpkg-worker (or ForkServer::StartSession forks one) and waits for READY;
// Request() sends one request, optionally with fds (a sealed memfd arena of tensor arguments,
// see tensor_transport.h), and waits for its reply under its own wall-clock deadline
// (limits.wall_time_ms, or an explicit one). A request that raised in the worker comes back as
// kWorkerError and the session stays usable; any death (seccomp kill, crash, limit, timeout,
// protocol error) is classified from the raw wait status exactly as in a one-shot load, the
// session is then dead and every later Request() returns that same classification.
//
// Requests (dict values, see worker_main.cc):
//   {"op": "load_pickle"|"state_dict", "package", "resource"}   plain data / tensors back
//   {"op": "load", "package", "resource"}        -> {"handle", "type", "methods": [...]}
//   {"op": "call", "handle", "method", "args": [...], "kwargs": {...}, "no_grad": true}
//   {"op": "release", "handle"}                  {"op": "close"}
//
//   sandbox::Session session(options);
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::LoadOutcome ready, session.Start(archive.sealed_fd()));
//   if (ready.kind != sandbox::OutcomeKind::kOk) return Report(ready.message);
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::LoadOutcome loaded, session.Request(Value::Dict({
//       {"op", Value::Str("load")}, {"package", Value::Str("model")},
//       {"resource", Value::Str("model.pkl")}})));
//   const int64_t handle = loaded.value.Find("handle")->i;
//   // Tensor arguments: sandbox::BuildSealedArena(chunks, &offsets) -> one sealed memfd; each
//   // TensorRef in "args" names fd_index 0 and its storage_byte_offset.
//   SEALPKG_ASSIGN_OR_RETURN(sandbox::LoadOutcome out, session.Request(Value::Dict({
//       {"op", Value::Str("call")}, {"handle", Value::Int(handle)},
//       {"method", Value::Str("forward")}, {"args", Value::List({input_tensor_ref})},
//       {"kwargs", Value::Dict({})}}), {arena_fd.get()}));
//   // out.value holds the result; its tensors live in out.fds (checked sealed memfds).
//   sandbox::LoadOutcome closed = session.Close();  // kOk when the worker exited 0
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/status.h"
#include "sandbox/channel.h"
#include "sandbox/ipc.h"
#include "sandbox/launcher.h"
#include "sandbox/tensor_transport.h"

namespace sealpkg::sandbox {

using Deadline = std::chrono::steady_clock::time_point;

// Deadline `ms` from now.
Deadline DeadlineIn(uint64_t ms);

// How the raw wait status of a dead worker is obtained: waitpid for an exec'd worker, the fork
// server's report for a forked one. Returns the status, or an error when it cannot be known.
using Reaper = std::function<Result<int>(pid_t pid)>;

class ForkServer;

class Session {
 public:
  explicit Session(LaunchOptions options);
  ~Session();  // kills and reaps a worker still running
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Exec mode: spawns the worker on `archive_fd` (a sealed memfd) and waits for READY under
  // limits.wall_time_ms. kOk: ready (isolation filled); otherwise how it ended.
  Result<LoadOutcome> Start(int archive_fd);
  Result<LoadOutcome> Start(int archive_fd, Deadline deadline);

  // One request and its reply. kOk / kWorkerError / kMemoryLimit (MemoryError inside) leave
  // the session alive; every other kind means the worker is gone.
  Result<LoadOutcome> Request(const Value& request, std::span<const int> fds = {});
  Result<LoadOutcome> Request(const Value& request, std::span<const int> fds, Deadline deadline);

  // Sends "close" and waits (limits.wall_time_ms) for the exit; kills at the deadline. kOk when
  // the worker exited 0; else its classification. Idempotent; Request() afterwards is a Status
  // error "sandbox.session-closed".
  LoadOutcome Close();
  LoadOutcome Close(Deadline deadline);

  bool alive() const { return started_ && !dead_; }
  pid_t pid() const { return pid_; }
  const Value& isolation() const { return isolation_; }
  const LaunchOptions& options() const { return options_; }

 private:
  friend class ForkServer;
  // Execs sealpkg-worker in `mode` ("serve", "forkserver") with `fd4` on fd 4; waits for READY.
  Result<LoadOutcome> Spawn(const std::string& mode, int fd4, Deadline deadline);
  // Adopts a running worker (fork-server child) and waits for its READY.
  Result<LoadOutcome> Attach(pid_t pid, UniqueFd sock, UniqueFd output, Reaper reaper,
                             Deadline deadline, UniqueFd pidfd);
  Result<LoadOutcome> WaitReady(Deadline deadline);

 public:
  enum class Wait { kMessage, kDied, kTimeout, kProtocolError };

 private:
  Result<Wait> WaitMessage(Deadline deadline, Received* got, Message* msg, std::string* error);
  // Kills if asked, reaps, classifies into *out and marks the session dead.
  void Finish(bool kill, LoadOutcome* out);
  LoadOutcome Dead() const;  // the stored death outcome, for requests after death
  void DrainOutput();

  LaunchOptions options_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd sock_;
  UniqueFd output_;
  Reaper reaper_;
  bool started_ = false;
  bool dead_ = false;
  bool closed_ = false;  // by Close(): later requests are a caller error
  bool sock_open_ = false;
  bool output_open_ = false;
  std::string output_text_;
  Value isolation_;
  LoadOutcome death_;
};

}  // namespace sealpkg::sandbox
