#include "core/file_bytes.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

namespace sealpkg {
namespace {

namespace fs = std::filesystem;

constexpr int kAllSeals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

class FileBytesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/file_bytes_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    f.close();
    EXPECT_TRUE(f.good());
    return path;
  }

  static std::vector<uint8_t> Pattern(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + 7);
    return v;
  }

  // The fd carries every seal: nobody can write, shrink, grow or unseal the bytes.
  static void ExpectSealed(int fd, uint64_t size) {
    ASSERT_GE(fd, 0);
    const int seals = ::fcntl(fd, F_GET_SEALS);
    ASSERT_GE(seals, 0) << std::strerror(errno);
    EXPECT_EQ(seals & kAllSeals, kAllSeals);
    const uint8_t byte = 'x';
    errno = 0;
    EXPECT_EQ(::pwrite(fd, &byte, 1, 0), -1);
    EXPECT_EQ(errno, EPERM);
    errno = 0;
    EXPECT_EQ(::write(fd, &byte, 1), -1);
    EXPECT_EQ(errno, EPERM);
    if (size > 0) {
      errno = 0;
      EXPECT_NE(::ftruncate(fd, static_cast<off_t>(size - 1)), 0);
      EXPECT_EQ(errno, EPERM);
    }
    errno = 0;
    EXPECT_NE(::ftruncate(fd, static_cast<off_t>(size + 4096)), 0);
    EXPECT_EQ(errno, EPERM);
    errno = 0;
    EXPECT_NE(::fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
    EXPECT_EQ(errno, EPERM);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);
  }

  std::string dir_;
};

TEST_F(FileBytesTest, SnapshotCopiesBytesIntoSealedMemory) {
  const auto content = Pattern(10000);
  const std::string path = Write("a.bin", content);
  auto fb = FileBytes::Snapshot(path, ArchiveLimits{});
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  EXPECT_EQ(fb->size(), content.size());
  ASSERT_EQ(fb->span().size(), content.size());
  EXPECT_TRUE(std::equal(content.begin(), content.end(), fb->span().begin()));
  ExpectSealed(fb->sealed_fd(), fb->size());
  // The fd holds the same bytes (what a sandboxed worker would map).
  std::vector<uint8_t> via_fd(content.size());
  ASSERT_EQ(::pread(fb->sealed_fd(), via_fd.data(), via_fd.size(), 0),
            static_cast<ssize_t>(via_fd.size()));
  EXPECT_EQ(via_fd, content);
}

// "The sealed fd can be handed to a sandboxed worker as-is" (file_bytes.h): a worker that
// read()s it must get the bytes from the start, not EOF.
TEST_F(FileBytesTest, SealedFdIsPositionedAtTheStart) {
  const auto content = Pattern(5000);
  const std::string path = Write("a.bin", content);
  auto snap = FileBytes::Snapshot(path, ArchiveLimits{});
  auto copy = FileBytes::SealedCopy(content);
  ASSERT_TRUE(snap.ok());
  ASSERT_TRUE(copy.ok());
  for (const FileBytes* fb : {&*snap, &*copy}) {
    EXPECT_EQ(::lseek(fb->sealed_fd(), 0, SEEK_CUR), 0);
    std::vector<uint8_t> got(content.size());
    size_t done = 0;
    while (done < got.size()) {
      const ssize_t n = ::read(fb->sealed_fd(), got.data() + done, got.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    EXPECT_EQ(done, content.size());
    EXPECT_EQ(got, content);
  }
}

TEST_F(FileBytesTest, SealedFdCannotBeMappedWritable) {
  const std::string path = Write("a.bin", Pattern(4096));
  auto fb = FileBytes::Snapshot(path, ArchiveLimits{});
  ASSERT_TRUE(fb.ok());
  void* m = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fb->sealed_fd(), 0);
  EXPECT_EQ(m, MAP_FAILED);
  if (m != MAP_FAILED) ::munmap(m, 4096);
}

TEST_F(FileBytesTest, LaterChangesToTheFileDoNotReachTheSnapshot) {
  const auto content = Pattern(5000);
  const std::string path = Write("a.bin", content);
  auto fb = FileBytes::Snapshot(path, ArchiveLimits{});
  ASSERT_TRUE(fb.ok());
  Write("a.bin", std::vector<uint8_t>(7000, 0xEE));  // rewrite in place (same inode)
  EXPECT_EQ(fb->size(), content.size());
  EXPECT_TRUE(std::equal(content.begin(), content.end(), fb->span().begin()));
  fs::remove(path);
  EXPECT_TRUE(std::equal(content.begin(), content.end(), fb->span().begin()));
}

TEST_F(FileBytesTest, DirectoryIsNotARegularFile) {
  auto fb = FileBytes::Snapshot(dir_, ArchiveLimits{});
  ASSERT_FALSE(fb.ok());
  EXPECT_EQ(fb.status().code(), ErrorCode::kIo);
  EXPECT_EQ(fb.status().reason(), "io.not-regular-file");
}

TEST_F(FileBytesTest, CharacterDeviceIsNotARegularFile) {
  auto fb = FileBytes::Snapshot("/dev/null", ArchiveLimits{});
  ASSERT_FALSE(fb.ok());
  EXPECT_EQ(fb.status().code(), ErrorCode::kIo);
  EXPECT_EQ(fb.status().reason(), "io.not-regular-file");
}

// A FIFO must be refused without blocking: open(O_RDONLY) on a FIFO waits for a writer, so a
// hostile path could hang sealpkg forever.
TEST_F(FileBytesTest, FifoIsRefusedWithoutBlocking) {
  const std::string path = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  auto pending =
      std::async(std::launch::async, [&] { return FileBytes::Snapshot(path, ArchiveLimits{}); });
  const bool finished = pending.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
  EXPECT_TRUE(finished) << "Snapshot blocked opening a FIFO";
  if (!finished) {
    // Unblock the reader so the test can end: a non-blocking writer succeeds once a reader
    // is waiting.
    const int w = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) ::close(w);
  }
  auto fb = pending.get();
  ASSERT_FALSE(fb.ok());
  EXPECT_EQ(fb.status().code(), ErrorCode::kIo);
  EXPECT_EQ(fb.status().reason(), "io.not-regular-file");
}

TEST_F(FileBytesTest, MissingFile) {
  auto fb = FileBytes::Snapshot(dir_ + "/does-not-exist", ArchiveLimits{});
  ASSERT_FALSE(fb.ok());
  EXPECT_EQ(fb.status().code(), ErrorCode::kIo);
  EXPECT_EQ(fb.status().reason(), "io.open");
}

TEST_F(FileBytesTest, UnreadableFile) {
  const std::string path = Write("secret", Pattern(10));
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  // Root reads mode-000 files, so the check runs in a child that drops to an unprivileged uid.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 &&
        (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)) {
      ::_exit(10);
    }
    auto fb = FileBytes::Snapshot(path, ArchiveLimits{});
    if (fb.ok()) ::_exit(11);
    if (fb.status().code() != ErrorCode::kIo) ::_exit(12);
    ::_exit(fb.status().reason() == "io.open" ? 0 : 13);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: cannot drop privileges, 11: read succeeded, "
                                       "12: wrong code, 13: wrong reason";
}

TEST_F(FileBytesTest, MaxArchiveBytesAtNAndNPlusOne) {
  constexpr uint64_t kN = 1000;
  ArchiveLimits limits;
  limits.max_archive_bytes = kN;
  const std::string at = Write("at", Pattern(kN));
  auto ok = FileBytes::Snapshot(at, limits);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), kN);

  const std::string over = Write("over", Pattern(kN + 1));
  auto bad = FileBytes::Snapshot(over, limits);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(bad.status().reason(), "zip.archive-too-large");

  limits.max_archive_bytes = 0;
  auto zero = FileBytes::Snapshot(at, limits);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().reason(), "zip.archive-too-large");
}

TEST_F(FileBytesTest, EmptyFile) {
  const std::string path = Write("empty", {});
  auto fb = FileBytes::Snapshot(path, ArchiveLimits{});
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  EXPECT_EQ(fb->size(), 0u);
  EXPECT_TRUE(fb->span().empty());
  ExpectSealed(fb->sealed_fd(), fb->size());

  ArchiveLimits zero;
  zero.max_archive_bytes = 0;
  EXPECT_TRUE(FileBytes::Snapshot(path, zero).ok());
}

TEST_F(FileBytesTest, SealedCopy) {
  const auto content = Pattern(3000);
  auto fb = FileBytes::SealedCopy(content);
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  EXPECT_EQ(fb->size(), content.size());
  EXPECT_NE(fb->span().data(), content.data());
  EXPECT_TRUE(std::equal(content.begin(), content.end(), fb->span().begin()));
  ExpectSealed(fb->sealed_fd(), fb->size());

  auto empty = FileBytes::SealedCopy({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  ExpectSealed(empty->sealed_fd(), 0);
}

TEST_F(FileBytesTest, FromVectorTakesOwnershipWithoutCopy) {
  auto content = Pattern(100);
  const auto copy = content;
  const uint8_t* data = content.data();
  FileBytes fb = FileBytes::FromVector(std::move(content));
  EXPECT_EQ(fb.sealed_fd(), -1);
  EXPECT_EQ(fb.size(), 100u);
  EXPECT_EQ(fb.span().data(), data);
  EXPECT_TRUE(std::equal(copy.begin(), copy.end(), fb.span().begin()));

  FileBytes empty = FileBytes::FromVector({});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(empty.span().empty());
  EXPECT_EQ(empty.sealed_fd(), -1);
}

TEST_F(FileBytesTest, MoveConstructionTransfersEverything) {
  const auto content = Pattern(2000);
  auto r = FileBytes::SealedCopy(content);
  ASSERT_TRUE(r.ok());
  FileBytes a = std::move(r).value();
  const int fd = a.sealed_fd();
  const uint8_t* data = a.span().data();
  FileBytes b(std::move(a));
  EXPECT_EQ(b.sealed_fd(), fd);
  EXPECT_EQ(b.span().data(), data);
  EXPECT_EQ(b.size(), content.size());
  EXPECT_TRUE(std::equal(content.begin(), content.end(), b.span().begin()));
  // The moved-from object is empty and does not own the fd any more.
  EXPECT_EQ(a.sealed_fd(), -1);  // NOLINT: testing moved-from state
  EXPECT_EQ(a.size(), 0u);
  EXPECT_TRUE(a.span().empty());
  EXPECT_GE(::fcntl(fd, F_GET_SEALS), 0);
}

TEST_F(FileBytesTest, MoveAssignmentReleasesThePreviousBytes) {
  auto r1 = FileBytes::SealedCopy(Pattern(100));
  auto r2 = FileBytes::SealedCopy(Pattern(200));
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(r2.ok());
  FileBytes a = std::move(r1).value();
  FileBytes b = std::move(r2).value();
  const int old_fd = a.sealed_fd();
  const int new_fd = b.sealed_fd();
  a = std::move(b);
  EXPECT_EQ(a.sealed_fd(), new_fd);
  EXPECT_EQ(a.size(), 200u);
  EXPECT_EQ(b.sealed_fd(), -1);  // NOLINT: testing moved-from state
  errno = 0;
  EXPECT_EQ(::fcntl(old_fd, F_GETFD), -1);  // closed
  EXPECT_EQ(errno, EBADF);

  // Vector-backed into memfd-backed and back.
  FileBytes v = FileBytes::FromVector(Pattern(50));
  v = std::move(a);
  EXPECT_EQ(v.sealed_fd(), new_fd);
  EXPECT_EQ(v.size(), 200u);
  FileBytes w = FileBytes::FromVector(Pattern(7));
  v = std::move(w);
  EXPECT_EQ(v.sealed_fd(), -1);
  EXPECT_EQ(v.size(), 7u);
  errno = 0;
  EXPECT_EQ(::fcntl(new_fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(FileBytesTest, SelfMoveAssignmentKeepsTheBytes) {
  auto r = FileBytes::SealedCopy(Pattern(64));
  ASSERT_TRUE(r.ok());
  FileBytes a = std::move(r).value();
  FileBytes& alias = a;
  a = std::move(alias);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_GE(a.sealed_fd(), 0);
  EXPECT_EQ(a.span()[1], Pattern(64)[1]);
}

TEST_F(FileBytesTest, DestructorClosesTheFd) {
  int fd = -1;
  {
    auto r = FileBytes::SealedCopy(Pattern(10));
    ASSERT_TRUE(r.ok());
    fd = r->sealed_fd();
    ASSERT_GE(::fcntl(fd, F_GETFD), 0);
  }
  errno = 0;
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(FileBytesTest, SealedFdIsCloseOnExec) {
  auto r = FileBytes::SealedCopy(Pattern(10));
  ASSERT_TRUE(r.ok());
  const int flags = ::fcntl(r->sealed_fd(), F_GETFD);
  ASSERT_GE(flags, 0);
  EXPECT_NE(flags & FD_CLOEXEC, 0);
}

}  // namespace
}  // namespace sealpkg
