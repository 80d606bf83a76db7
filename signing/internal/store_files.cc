#include "signing/internal/store_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sealpkg::signing::internal {
namespace {

std::string ErrnoText(int err) {
  return std::strerror(err);
}

}  // namespace

Result<std::vector<uint8_t>> ReadFileBounded(const std::string& path, uint64_t max_bytes,
                                             const std::string& limit_reason) {
  // O_NOFOLLOW: a store file replaced by a symlink is refused rather than followed elsewhere.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return IoError("io.missing", "'" + path + "' does not exist");
    return IoError("io.read", "cannot open '" + path + "': " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return IoError("io.read", "'" + path + "' is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return LimitExceeded(limit_reason,
                         "'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::vector<uint8_t> out;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return IoError("io.read", "cannot read '" + path + "': " + ErrnoText(err));
    }
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > max_bytes) {
      ::close(fd);
      return LimitExceeded(limit_reason,
                           "'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> data, mode_t perms) {
  const size_t sep = path.find_last_of('/');
  const std::string dir = sep == std::string::npos ? "" : path.substr(0, sep + 1);
  const std::string base = sep == std::string::npos ? path : path.substr(sep + 1);
  std::string temp = dir + "." + base.substr(0, 200) + ".sealpkg-tmp-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // created 0600
  if (fd < 0) {
    return IoError("io.create", "cannot create a file next to '" + path + "': " + ErrnoText(errno));
  }
  const auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return IoError("io.write", what + " '" + path + "': " + ErrnoText(err));
  };
  if (::fchmod(fd, perms) != 0) return fail("cannot set permissions of");
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("io.write", "cannot close '" + path + "': " + ErrnoText(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("io.rename", "cannot replace '" + path + "': " + ErrnoText(err));
  }
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    // Best effort: the file itself was fsynced; this makes the new name durable too.
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Result<DirectoryLock> DirectoryLock::Acquire(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("io.read", "cannot open '" + dir + "': " + ErrnoText(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    return IoError("io.lock", "cannot lock '" + dir + "': " + ErrnoText(err));
  }
  return DirectoryLock(fd);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace sealpkg::signing::internal
