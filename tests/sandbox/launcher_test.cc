// The launcher against stand-in workers (small shell scripts written at test time): each way a
// worker can end is classified distinctly (exit(31) is not a seccomp kill), the parent kills at
// the deadline and on protocol errors, output is capped, and no fd or child is leaked.
#include "sandbox/launcher.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
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

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bytes = FileBytes::SealedCopy(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("PK-not-really"), 13));
    ASSERT_TRUE(bytes.ok());
    archive_ = std::make_unique<FileBytes>(std::move(bytes).value());
  }

  LoadOutcome Run(const std::string& script, uint64_t wall_ms = 10000) {
    char path[] = "/tmp/sealpkg-fake-worker-XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    const std::string text = "#!/bin/sh\n" + script + "\n";
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::fchmod(fd, 0700);
    ::close(fd);
    LaunchOptions opts;
    opts.worker_path = path;
    opts.limits.wall_time_ms = wall_ms;
    opts.limits.max_output_bytes = 1000;
    const Value request = Value::Dict({{"op", Value::Str("load_pickle")}});
    auto out = RunSandboxedLoad(opts, archive_->sealed_fd(), request);
    ::unlink(path);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    // No zombie or child left behind.
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
    return std::move(out).value();
  }

  std::unique_ptr<FileBytes> archive_;
};

TEST_F(LauncherTest, ExitCodesAndSignalsAreDistinct) {
  auto exited31 = Run("exit 31");
  EXPECT_EQ(exited31.kind, OutcomeKind::kExited);
  EXPECT_EQ(exited31.exit_code, 31);
  EXPECT_EQ(exited31.message.find("seccomp"), std::string::npos);

  auto sigsys = Run("kill -SYS $$");
  EXPECT_EQ(sigsys.kind, OutcomeKind::kSeccompKill);
  EXPECT_EQ(sigsys.signal, SIGSYS);
  EXPECT_NE(sigsys.message.find("seccomp"), std::string::npos);

  EXPECT_EQ(Run("kill -SEGV $$").kind, OutcomeKind::kCrash);
  EXPECT_EQ(Run("kill -ABRT $$").kind, OutcomeKind::kAbort);
  EXPECT_EQ(Run("kill -XCPU $$").kind, OutcomeKind::kCpuLimit);
  EXPECT_EQ(Run("kill -KILL $$").kind, OutcomeKind::kKilled);
}

TEST_F(LauncherTest, DeadlineKillsAndReaps) {
  const auto t0 = std::chrono::steady_clock::now();
  auto out = Run("exec sleep 100", 300);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_EQ(out.kind, OutcomeKind::kTimeout);
  EXPECT_LT(ms, 5000);
}

TEST_F(LauncherTest, GarbageOnTheSocketIsAProtocolError) {
  auto out = Run("printf 'garbage garbage garbage' >&3; exec sleep 100");
  EXPECT_EQ(out.kind, OutcomeKind::kProtocolError);
  EXPECT_NE(out.message.find("ipc.bad-magic"), std::string::npos) << out.message;
}

TEST_F(LauncherTest, OutputIsCappedAndNeverBlocks) {
  auto out = Run("head -c 5000000 /dev/zero | tr '\\0' x >&2; exit 3");
  EXPECT_EQ(out.kind, OutcomeKind::kExited);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.output.size(), 1000u);
}

TEST_F(LauncherTest, WorkerSeesOnlyItsFds) {
  // fds 0-4 are bound; nothing of the parent's leaks (everything is CLOEXEC). dash keeps its own
  // script fds (10, 251) open across exec, so fds above 4 are judged by what they point to.
  auto out =
      Run("test -S /proc/self/fd/3 || exit 7; "
          "exec /usr/bin/find /proc/self/fd -mindepth 1 -printf '%f %l\\n' >&2");
  EXPECT_EQ(out.exit_code, 0) << out.output;
  std::istringstream lines(out.output);
  std::string line;
  int low = 0;
  while (std::getline(lines, line)) {
    const int fd = std::atoi(line.c_str());
    const std::string target = line.substr(line.find(' ') + 1);
    if (fd <= 4) {
      ++low;
      continue;
    }
    EXPECT_EQ(target.find("socket:"), std::string::npos) << line;
    EXPECT_EQ(target.find("pipe:"), std::string::npos) << line;
    EXPECT_EQ(target.find("memfd:"), std::string::npos) << line;
  }
  EXPECT_EQ(low, 5) << out.output;
}

TEST_F(LauncherTest, NoFdGrowthOverManyRuns) {
  (void)Run("exit 0");
  const int before = CountFds();
  for (int i = 0; i < 50; ++i) (void)Run("exit 1");
  EXPECT_EQ(CountFds(), before);
}

TEST_F(LauncherTest, MissingWorkerIsAStatusError) {
  LaunchOptions opts;
  opts.worker_path = "/nonexistent/sealpkg-worker";
  auto out = RunSandboxedLoad(opts, archive_->sealed_fd(), Value::None());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().reason(), "sandbox.spawn");
}

}  // namespace
}  // namespace sealpkg::sandbox
