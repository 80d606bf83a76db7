// Sessions with the real sealpkg-worker (stdlib only, no torch): one worker serves several
// requests, an error reply keeps it usable, a kill is classified from the wait status and stays
// the answer for every later request, close ends it with exit 0, and nothing leaks. Skipped when
// the worker was not built (SEALPKG_PYTHON=OFF).
#include "sandbox/session.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <string>

#include "core/file_bytes.h"

namespace sealpkg::sandbox {
namespace {

int CountFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

// <build>/tests/<test binary> -> <build>.
std::string BuildDir() {
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string path(exe, static_cast<size_t>(n));
  for (int i = 0; i < 2; ++i) path = path.substr(0, path.rfind('/'));
  return path;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string build = BuildDir();
    options_.worker_path = build + "/python/sealpkg/sealpkg-worker";
    options_.python_path = build + "/python";
    options_.no_torch = true;
    options_.limits.wall_time_ms = 30000;
    if (::access(options_.worker_path.c_str(), X_OK) != 0) GTEST_SKIP() << "no sealpkg-worker";
    // Not a package: the worker only opens it on the first load request.
    auto bytes = FileBytes::SealedCopy(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("PK-not-really"), 13));
    ASSERT_TRUE(bytes.ok());
    archive_ = std::make_unique<FileBytes>(std::move(bytes).value());
  }

  static Value Op(const std::string& op) { return Value::Dict({{"op", Value::Str(op)}}); }

  LaunchOptions options_;
  std::unique_ptr<FileBytes> archive_;
};

TEST_F(SessionTest, ErrorsKeepTheSessionAndCloseExitsZero) {
  const int fds_before = CountFds();
  {
    Session session(options_);
    auto ready = session.Start(archive_->sealed_fd());
    ASSERT_TRUE(ready.ok()) << ready.status().ToString();
    ASSERT_EQ(ready->kind, OutcomeKind::kOk) << ready->message << ready->output;
    const Value* seccomp = ready->isolation.Find("seccomp");
    ASSERT_NE(seccomp, nullptr);
    EXPECT_EQ(seccomp->kind, Kind::kTrue);
    const pid_t pid = session.pid();
    for (int i = 0; i < 3; ++i) {
      auto out = session.Request(Op("no-such-op"));
      ASSERT_TRUE(out.ok());
      EXPECT_EQ(out->kind, OutcomeKind::kWorkerError);
      EXPECT_EQ(out->error_type, "ValueError");
      EXPECT_TRUE(session.alive());
      EXPECT_EQ(session.pid(), pid);
    }
    // A load of bytes that are not a package raises inside; still alive.
    auto bad = session.Request(Value::Dict({{"op", Value::Str("load_pickle")},
                                            {"package", Value::Str("p")},
                                            {"resource", Value::Str("r.pkl")}}));
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(bad->kind, OutcomeKind::kWorkerError) << bad->message;
    EXPECT_TRUE(session.alive());
    const LoadOutcome closed = session.Close();
    EXPECT_EQ(closed.kind, OutcomeKind::kOk) << closed.message << closed.output;
    EXPECT_FALSE(session.alive());
  }
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // reaped
  EXPECT_EQ(CountFds(), fds_before);
}

TEST_F(SessionTest, AKilledWorkerIsClassifiedForEveryLaterRequest) {
  Session session(options_);
  auto ready = session.Start(archive_->sealed_fd());
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->kind, OutcomeKind::kOk) << ready->message;
  ASSERT_EQ(::kill(session.pid(), SIGKILL), 0);
  for (int i = 0; i < 2; ++i) {
    auto out = session.Request(Op("no-such-op"));
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->kind, OutcomeKind::kKilled) << out->message;
    EXPECT_EQ(out->signal, SIGKILL);
    EXPECT_FALSE(session.alive());
  }
  EXPECT_EQ(session.Close().kind, OutcomeKind::kKilled);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
}

TEST_F(SessionTest, DroppingALiveSessionKillsAndReapsTheWorker) {
  pid_t pid = -1;
  {
    Session session(options_);
    auto ready = session.Start(archive_->sealed_fd());
    ASSERT_TRUE(ready.ok());
    ASSERT_EQ(ready->kind, OutcomeKind::kOk);
    pid = session.pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone and reaped (no zombie left to signal)
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
}

TEST_F(SessionTest, RequestsAfterCloseReportTheClose) {
  Session session(options_);
  auto ready = session.Start(archive_->sealed_fd());
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(session.Close().kind, OutcomeKind::kOk);
  auto out = session.Request(Op("no-such-op"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().reason(), "sandbox.session-closed");
}

}  // namespace
}  // namespace sealpkg::sandbox
