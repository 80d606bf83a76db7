// The worker's isolation layers (sandbox/isolation.cc), each applied in a forked child that
// reports through its exit status: Landlock denies writes, other paths, TCP, abstract sockets
// and signals outside (reference test 42); the namespaces hide the host's network and hostname
// (39, 41); dropping root keeps the parent-death signal armed (35).
#include "sandbox/isolation.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

namespace sealpkg::sandbox {
namespace {

// Runs `body` in a forked child; returns its exit status (0 = every check held, else the number
// of the first failed check), or 1000 + signal if it died.
int InChild(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

int OpenErrno(const char* path, int flags) {
  const int fd = ::open(path, flags | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return 0;
  }
  return errno;
}

int ConnectErrno(int family, const sockaddr* addr, socklen_t len) {
  const int s = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  const int rc = ::connect(s, addr, len);
  const int err = rc == 0 ? 0 : errno;
  ::close(s);
  return err;
}

int LandlockAbi() {
  return static_cast<int>(::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u /*VERSION*/));
}

TEST(IsolationTest, LandlockAllowsOnlyReadingTheGivenPaths) {
  if (LandlockAbi() <= 0) GTEST_SKIP() << "Landlock is not available on this kernel";
  // Outside the sandbox: a TCP listener and an abstract unix socket the child must not reach.
  const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(tcp, reinterpret_cast<sockaddr*>(&in), sizeof in), 0);
  socklen_t in_len = sizeof in;
  ASSERT_EQ(::getsockname(tcp, reinterpret_cast<sockaddr*>(&in), &in_len), 0);
  ASSERT_EQ(::listen(tcp, 1), 0);
  const int unix_sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  const std::string name = "sealpkg-isolation-test-" + std::to_string(::getpid());
  std::memcpy(un.sun_path + 1, name.data(), name.size());
  const socklen_t un_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::bind(unix_sock, reinterpret_cast<sockaddr*>(&un), un_len), 0);
  ASSERT_EQ(::listen(unix_sock, 1), 0);
  char scratch[] = "/tmp/sealpkg-landlock-XXXXXX";
  ASSERT_NE(::mkdtemp(scratch), nullptr);
  const std::string created = std::string(scratch) + "/created";

  const int abi = LandlockAbi();
  const int rc = InChild([&]() {
    IsolationReport report;
    ApplyLandlock({"/usr"}, &report);
    if (!report.landlock || report.landlock_abi != abi) return 2;
    if (OpenErrno("/usr/bin/true", O_RDONLY) != 0) return 3;       // readable
    if (OpenErrno("/usr/bin/true", O_WRONLY) != EACCES) return 4;  // never writable
    if (OpenErrno("/etc/passwd", O_RDONLY) != EACCES) return 5;    // not listed
    if (OpenErrno(created.c_str(), O_WRONLY | O_CREAT) != EACCES) return 6;
    if (::mkdir((std::string(scratch) + "/d").c_str(), 0700) == 0 || errno != EACCES) return 7;
    if (::opendir("/") != nullptr || errno != EACCES) return 8;  // no listing of /
    if (abi >= 4 && ConnectErrno(AF_INET, reinterpret_cast<sockaddr*>(&in), sizeof in) != EACCES)
      return 9;  // no TCP
    if (abi >= 6 && ConnectErrno(AF_UNIX, reinterpret_cast<sockaddr*>(&un), un_len) != EPERM)
      return 10;  // abstract sockets outside are scoped out
    if (abi >= 6 && (::kill(::getppid(), 0) == 0 || errno != EPERM)) return 11;  // signals
    return 0;
  });
  EXPECT_EQ(rc, 0) << "failed check " << rc << " (ABI " << abi << ")";
  struct stat st {};
  EXPECT_NE(::stat(created.c_str(), &st), 0) << "the child created a file";
  ::rmdir(scratch);
  ::close(tcp);
  ::close(unix_sock);
}

TEST(IsolationTest, NamespacesHideTheHostNetworkAndHostname) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const int rc = InChild([&]() {
    IsolationReport report;
    if (::geteuid() == 0 && !DropRoot(&report).ok()) return 2;
    EnterNamespaces(&report);
    if (!report.user_ns || !report.net_ns || !report.uts_ns || !report.ipc_ns || !report.mount_ns) {
      return 3;
    }
    char cwd[16] = {};
    if (::getcwd(cwd, sizeof cwd) == nullptr || std::string(cwd) != "/") return 7;
    char inside[256] = {};
    if (::gethostname(inside, sizeof inside - 1) != 0) return 4;
    if (std::string(inside) != "sealpkg-sandbox" || std::string(inside) == host) return 5;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(9);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // lo is down in a fresh network namespace: nothing is reachable, not even 127.0.0.1.
    if (ConnectErrno(AF_INET, reinterpret_cast<sockaddr*>(&in), sizeof in) != ENETUNREACH) return 6;
    return 0;
  });
  if (rc == 3) GTEST_SKIP() << "namespaces unavailable here (degraded mode is reported)";
  EXPECT_EQ(rc, 0) << "failed check " << rc;
}

TEST(IsolationTest, DroppingRootKeepsTheParentDeathSignal) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: only a root worker drops its uid";
  const int rc = InChild([]() {
    if (!DetachFromParent(::getppid()).ok()) return 2;
    IsolationReport report;
    if (!DropRoot(&report).ok() || !report.uid_dropped) return 3;
    if (::getuid() != 65534 || ::getgid() != 65534) return 4;
    int sig = 0;
    if (::prctl(PR_GET_PDEATHSIG, &sig) != 0 || sig != SIGKILL) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "failed check " << rc;
}

}  // namespace
}  // namespace sealpkg::sandbox
