// The fork server with the real sealpkg-worker (stdlib only): sessions are distinct forked
// children of one server, answered and closed like exec'd workers, the server reaps each child
// only when asked (no zombies), recycles after N forks, and the pre-compiled seccomp program
// patched with the child's pid lets it signal itself but kills it for signalling anyone else.
// Worker cases are skipped when the worker was not built (SEALPKG_PYTHON=OFF).
#include "sandbox/fork_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <set>
#include <string>

#include "core/file_bytes.h"
#include "sandbox/seccomp_policy.h"

namespace sealpkg::sandbox {
namespace {

// ASan's runtime makes calls the production allow-list forbids (see scripts/test): the cases
// that lock down a child run in release builds only.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEALPKG_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SEALPKG_UNDER_ASAN 1
#endif

void SkipUnderAsan() {
#if defined(SEALPKG_UNDER_ASAN)
  GTEST_SKIP() << "seccomp death tests need a release build";
#endif
}

std::string BuildDir() {
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string path(exe, static_cast<size_t>(n));
  for (int i = 0; i < 2; ++i) path = path.substr(0, path.rfind('/'));
  return path;
}

TEST(CompiledSeccompPolicy, SelfPidPlaceholderIsPatchedExactly) {
  auto compiled = CompileSeccompPolicy(SeccompOptions{});
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  EXPECT_GE(compiled->self_pid_slots, 1u);  // kill and tgkill (libseccomp may share the block)
  EXPECT_EQ(compiled->program.size() % 8, 0u);
}

// Forks a child that installs the compiled program for its own pid and runs `body`.
int RunCompiled(CompiledSeccompPolicy policy, int (*body)()) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!InstallCompiledSeccompPolicy(&policy, ::getpid()).ok()) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(CompiledSeccompPolicy, ChildMaySignalOnlyItself) {
  SkipUnderAsan();
  if (::testing::Test::IsSkipped()) return;
  auto compiled = CompileSeccompPolicy(SeccompOptions{});
  ASSERT_TRUE(compiled.ok());
  const int self = RunCompiled(*compiled, [] { return ::kill(::getpid(), 0) == 0 ? 0 : 1; });
  EXPECT_TRUE(WIFEXITED(self) && WEXITSTATUS(self) == 0) << self;
  const int parent = RunCompiled(*compiled, [] { return ::kill(1, 0) == 0 ? 0 : 1; });
  EXPECT_TRUE(WIFSIGNALED(parent) && WTERMSIG(parent) == SIGSYS) << parent;
  const int fork_call = RunCompiled(*compiled, [] { return ::fork() >= 0 ? 0 : 1; });
  EXPECT_TRUE(WIFSIGNALED(fork_call) && WTERMSIG(fork_call) == SIGSYS) << fork_call;
}

TEST(CompiledSeccompPolicy, RefusesAProgramWhosePlaceholdersChanged) {
  SkipUnderAsan();
  if (::testing::Test::IsSkipped()) return;
  auto compiled = CompileSeccompPolicy(SeccompOptions{});
  ASSERT_TRUE(compiled.ok());
  const pid_t pid = ::fork();
  if (pid == 0) {
    CompiledSeccompPolicy p = *compiled;
    p.self_pid_slots += 1;  // one comparison would stay unpatched
    ::_exit(InstallCompiledSeccompPolicy(&p, ::getpid()).ok() ? 1 : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

class ForkServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string build = BuildDir();
    options_.worker_path = build + "/python/sealpkg/sealpkg-worker";
    options_.python_path = build + "/python";
    options_.no_torch = true;
    options_.limits.wall_time_ms = 30000;
    if (::access(options_.worker_path.c_str(), X_OK) != 0) GTEST_SKIP() << "no sealpkg-worker";
    auto bytes = FileBytes::SealedCopy(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("PK-not-really"), 13));
    ASSERT_TRUE(bytes.ok());
    archive_ = std::make_unique<FileBytes>(std::move(bytes).value());
  }

  LaunchOptions options_;
  std::unique_ptr<FileBytes> archive_;
};

TEST_F(ForkServerTest, SessionsAreDistinctChildrenOfOneServer) {
  {
    ForkServer server(options_);
    auto up = server.Start();
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    ASSERT_EQ(up->kind, OutcomeKind::kOk) << up->message << up->output;
    const pid_t server_pid = server.pid();
    std::set<pid_t> pids;
    for (int i = 0; i < 5; ++i) {
      Session session(options_);
      auto ready = server.StartSession(&session, archive_->sealed_fd());
      ASSERT_TRUE(ready.ok()) << ready.status().ToString();
      ASSERT_EQ(ready->kind, OutcomeKind::kOk) << ready->message << ready->output;
      EXPECT_EQ(ready->isolation.Find("seccomp")->kind, Kind::kTrue);
      pids.insert(session.pid());
      auto out = session.Request(Value::Dict({{"op", Value::Str("no-such-op")}}));
      ASSERT_TRUE(out.ok());
      EXPECT_EQ(out->kind, OutcomeKind::kWorkerError);
      EXPECT_EQ(session.Close().kind, OutcomeKind::kOk);
    }
    EXPECT_EQ(pids.size(), 5u);
    EXPECT_EQ(pids.count(server_pid), 0u);
    EXPECT_EQ(server.pid(), server_pid);
    EXPECT_EQ(server.forks(), 5u);
  }
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // the server was closed and reaped
}

TEST_F(ForkServerTest, KilledChildIsClassifiedAndTheServerLives) {
  ForkServer server(options_);
  ASSERT_EQ(server.Start()->kind, OutcomeKind::kOk);
  Session session(options_);
  ASSERT_EQ(server.StartSession(&session, archive_->sealed_fd())->kind, OutcomeKind::kOk);
  ASSERT_EQ(::kill(session.pid(), SIGSEGV), 0);
  auto out = session.Request(Value::Dict({{"op", Value::Str("no-such-op")}}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, OutcomeKind::kCrash) << out->message;
  EXPECT_EQ(out->signal, SIGSEGV);
  EXPECT_TRUE(server.alive());
  Session next(options_);
  EXPECT_EQ(server.StartSession(&next, archive_->sealed_fd())->kind, OutcomeKind::kOk);
}

TEST_F(ForkServerTest, RecyclesAfterNForks) {
  ForkServer server(options_, /*recycle_after=*/2);
  ASSERT_EQ(server.Start()->kind, OutcomeKind::kOk);
  const pid_t first = server.pid();
  for (int i = 0; i < 3; ++i) {
    Session session(options_);
    ASSERT_EQ(server.StartSession(&session, archive_->sealed_fd())->kind, OutcomeKind::kOk);
    EXPECT_EQ(session.Close().kind, OutcomeKind::kOk);
  }
  EXPECT_EQ(server.restarts(), 1u);
  EXPECT_NE(server.pid(), first);
  EXPECT_NE(::kill(first, 0), 0);  // the old server exited and was reaped
}

}  // namespace
}  // namespace sealpkg::sandbox
